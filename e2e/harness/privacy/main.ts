/**
 * Browser harness for e2e/secure-aggregation.spec.ts: exposes a site's side of `@facmic/privacy` to the test page as
 * `window.facmicPrivacy`, on plain JSON (binary as base64), so the test can let browser sites and Node sites take
 * part in one session with a Node coordinator.
 */
import type { KeyRoster, MaskedInputRequest, UnmaskingRequest } from '@facmic/protocol';
import { base64ToBytes, bytesToBase64 } from '@facmic/protocol';
import { advertiseKeys, expandMask, maskInput, SecureAggregationRefusalError, shareKeys, unmask, type SecureAggregationClientState } from '@facmic/privacy';

export interface PrivacyHarnessApi {
  advertiseKeys: typeof advertiseKeys;
  shareKeys(state: SecureAggregationClientState, roster: KeyRoster): ReturnType<typeof shareKeys>;
  maskInput(state: SecureAggregationClientState, request: MaskedInputRequest, input: string): Promise<{ state: SecureAggregationClientState; message: { session: string; maskedInput: string } }>;
  unmask(state: SecureAggregationClientState, request: UnmaskingRequest): { ok: true; state: SecureAggregationClientState; message: ReturnType<typeof unmask>['message'] } | { ok: false; code: string };
  expandMask(seed: string, session: string, label: string, words: number): Promise<number[]>;
}

const api: PrivacyHarnessApi = {
  advertiseKeys,
  shareKeys,
  async maskInput(state, request, input) {
    const bytes = base64ToBytes(input);
    const result = await maskInput(state, request, new Uint32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4));
    return { state: result.state, message: { session: result.message.session, maskedInput: bytesToBase64(result.message.maskedInput) } };
  },
  unmask(state, request) {
    try {
      return { ok: true, ...unmask(state, request) };
    } catch (error) {
      if (error instanceof SecureAggregationRefusalError) return { ok: false, code: error.code };
      throw error;
    }
  },
  async expandMask(seed, session, label, words) {
    return Array.from(await expandMask(base64ToBytes(seed) as Uint8Array<ArrayBuffer>, session, label, words));
  },
};

(window as unknown as { facmicPrivacy: PrivacyHarnessApi }).facmicPrivacy = api;
(document.getElementById('status') as HTMLElement).textContent = 'ready';
