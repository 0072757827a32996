/**
 * Secure aggregation across platforms: two sites run `@facmic/privacy` in Chromium (WebCrypto of the browser), three in
 * Node, and a Node coordinator aggregates them in one session, with one Node site dropping after sharing keys. The
 * published model must equal plain FedAvg of the four survivors, the browser must expand a seed into the very mask
 * words Node does, and a browser site must refuse a request for both shares of a site.
 *
 * The harness page (e2e/harness/privacy) is built here with Vite's JS API and served from 127.0.0.1.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, test, type Page } from '@playwright/test';
import type { ModuleState } from '../packages/learning/src/plain.ts';
import { FedAvg, initialModuleState, moduleSpec } from '../packages/learning/src/plain.ts';
import { base64ToBytes, bytesToBase64, keyRosterSchema, maskedInputRequestSchema, maskedInputSchema, shareKeysSchema, unmaskingRequestSchema, unmaskingResponseSchema, advertiseKeysSchema, type KeyRoster, type MaskedInputRequest, type UnmaskingRequest } from '../packages/protocol/src/index.ts';
import {
  advertiseKeys,
  applyMeanDelta,
  closeAdvertising,
  closeInputs,
  closeSharing,
  createClientSession,
  createServerSession,
  decodeFixedPointSum,
  deltaBounds,
  encodeFixedPoint,
  expandMask,
  finishUnmasking,
  inputLayout,
  maskInput,
  maxRelativeError,
  receiveAdvertisement,
  receiveMaskedInput,
  receiveShares,
  receiveUnmaskingResponse,
  shareKeys,
  stateDelta,
  syntheticRoundState,
  unmask,
  type SecureAggregationClientState,
} from '../packages/privacy/src/index.ts';
import type { PrivacyHarnessApi } from './harness/privacy/main.ts';
import { buildHarness, serveFolders, type StaticServer } from './harness/encoder/serve.ts';

declare global {
  interface Window {
    facmicPrivacy: PrivacyHarnessApi;
  }
}

const DIM = 512;
const SPEC = moduleSpec('facmic', DIM);
const LAYOUT = inputLayout(SPEC);
const BOUNDS = deltaBounds(SPEC, { learningRate: 5e-5, betas: [0.9, 0.98], stepsPerRound: 199 });
const GLOBAL = initialModuleState('facmic', DIM, 3);
const SESSION = 'e2e/r1/a1';

let server: StaticServer;

test.beforeAll(async () => {
  const out = await mkdtemp(path.join(tmpdir(), 'facmic-privacy-harness-'));
  await buildHarness(out, fileURLToPath(new URL('./harness/privacy/', import.meta.url)));
  server = await serveFolders({ '/': out });
});

test.afterAll(async () => {
  await server.close();
});

/** How a site's four steps are carried out: by `@facmic/privacy` in Node, or by the same package in the page. */
interface SiteCalls {
  advertise(state: SecureAggregationClientState): Promise<{ state: SecureAggregationClientState; message: unknown }>;
  share(state: SecureAggregationClientState, roster: KeyRoster): Promise<{ state: SecureAggregationClientState; message: unknown }>;
  mask(state: SecureAggregationClientState, request: MaskedInputRequest, input: Uint32Array): Promise<{ state: SecureAggregationClientState; message: { session: string; maskedInput: Uint8Array } }>;
  unmask(state: SecureAggregationClientState, request: UnmaskingRequest): Promise<{ ok: true; state: SecureAggregationClientState; message: unknown } | { ok: false; code: string }>;
}

const NODE: SiteCalls = {
  advertise: (state) => advertiseKeys(state),
  share: (state, roster) => shareKeys(state, roster),
  mask: (state, request, input) => maskInput(state, request, input),
  unmask: (state, request) => Promise.resolve({ ok: true, ...unmask(state, request) }),
};

function inPage(page: Page): SiteCalls {
  return {
    advertise: (state) => page.evaluate((s) => window.facmicPrivacy.advertiseKeys(s), state),
    share: (state, roster) => page.evaluate(([s, r]) => window.facmicPrivacy.shareKeys(s, r), [state, roster] as const),
    async mask(state, request, input) {
      const encoded = bytesToBase64(new Uint8Array(input.buffer, input.byteOffset, input.byteLength));
      const result = await page.evaluate(([s, r, x]) => window.facmicPrivacy.maskInput(s, r, x), [state, request, encoded] as const);
      return { state: result.state, message: { session: result.message.session, maskedInput: base64ToBytes(result.message.maskedInput) } };
    },
    unmask: (state, request) => page.evaluate(([s, r]) => window.facmicPrivacy.unmask(s, r), [state, request] as const),
  };
}

/** One site: its data and its session state, stepped through `calls`. */
class Site {
  private client: SecureAggregationClientState;
  readonly state: ModuleState;

  constructor(
    readonly id: string,
    readonly samples: number,
    seed: number,
    private readonly calls: SiteCalls,
  ) {
    this.client = createClientSession(SESSION, id);
    this.state = syntheticRoundState(SPEC, GLOBAL, BOUNDS, seed);
  }

  private async step<T extends { state: SecureAggregationClientState; message: unknown }>(run: Promise<T>): Promise<T['message']> {
    const result = await run;
    this.client = result.state;
    return result.message;
  }

  advertise(): Promise<unknown> {
    return this.step(this.calls.advertise(this.client));
  }

  share(roster: KeyRoster): Promise<unknown> {
    return this.step(this.calls.share(this.client, roster));
  }

  mask(request: MaskedInputRequest, input: Uint32Array): Promise<{ session: string; maskedInput: Uint8Array }> {
    return this.step(this.calls.mask(this.client, request, input));
  }

  async unmask(request: UnmaskingRequest): Promise<{ ok: true; message: unknown } | { ok: false; code: string }> {
    const result = await this.calls.unmask(this.client, request);
    if (!result.ok) return result;
    this.client = result.state;
    return { ok: true, message: result.message };
  }
}

test('browser and Node sites aggregate securely together, one dropping after sharing keys', async ({ page }) => {
  await page.goto(server.url);
  await expect(page.locator('#status')).toHaveText('ready');

  // The same seed gives the same mask words in Chromium and in Node.
  for (const [fill, label] of [[7, 'self 1'], [200, 'pair 2-5']] as const) {
    const seed = new Uint8Array(32).fill(fill);
    const inBrowser = await page.evaluate(([s, l]) => window.facmicPrivacy.expandMask(s, 'e2e/r1/a1', l, 1000), [bytesToBase64(seed), label] as const);
    expect(inBrowser).toEqual(Array.from(await expandMask(seed, SESSION, label, 1000)));
  }

  const browser = inPage(page);
  const sites = [
    new Site('hospital-a', 150, 1, browser),
    new Site('hospital-b', 90, 2, NODE),
    new Site('hospital-c', 310, 3, browser),
    new Site('hospital-d', 40, 4, NODE),
    new Site('hospital-e', 220, 5, NODE),
  ];
  const dropped = 'hospital-d';
  let coordinator = createServerSession({ session: SESSION, encoding: { maxWeight: 512, bounds: BOUNDS, length: LAYOUT.length } });
  for (const site of sites) coordinator = receiveAdvertisement(coordinator, site.id, advertiseKeysSchema.parse(await site.advertise()));
  const advertised = closeAdvertising(coordinator);
  coordinator = advertised.state;
  const roster = keyRosterSchema.parse(advertised.roster);
  for (const site of sites) coordinator = receiveShares(coordinator, site.id, shareKeysSchema.parse(await site.share(roster)));
  const shared = closeSharing(coordinator);
  coordinator = shared.state;
  const parameters = { maxWeight: roster.encoding.maxWeight, siteCount: roster.encoding.siteCount, bounds: roster.encoding.bounds };
  for (const site of sites) {
    if (site.id === dropped) continue;
    const { input } = encodeFixedPoint(LAYOUT, parameters, stateDelta(LAYOUT, site.state, GLOBAL), site.samples);
    const message = await site.mask(maskedInputRequestSchema.parse(shared.requests[site.id]), input);
    coordinator = receiveMaskedInput(coordinator, site.id, maskedInputSchema.parse(message));
  }
  const closed = closeInputs(coordinator);
  coordinator = closed.state;
  const request = unmaskingRequestSchema.parse(closed.request);
  expect(request.dropped).toEqual([dropped]);
  for (const site of sites) {
    if (site.id === dropped) continue;
    const answer = await site.unmask(request);
    if (!answer.ok) throw new Error(`${site.id} refused: ${answer.code}`);
    coordinator = receiveUnmaskingResponse(coordinator, site.id, unmaskingResponseSchema.parse(answer.message));
  }
  const { state, result } = await finishUnmasking(coordinator);
  expect(state.phase).toBe('completed');
  const decoded = decodeFixedPointSum(LAYOUT, parameters, result!.sum, result!.contributors.length);
  const survivors = sites.filter((site) => site.id !== dropped);
  const plain = new FedAvg().aggregateTrain(survivors.map((site) => ({ state: site.state, numSamples: site.samples })));
  expect(maxRelativeError(applyMeanDelta(LAYOUT, GLOBAL, decoded.meanDelta), plain)).toBeLessThan(1e-5);

  // A curious coordinator now claims the dropped site survived: the browser site refuses to give its self-mask share.
  const curious = await sites[0]!.unmask({ session: SESSION, survivors: sites.map((site) => site.id), dropped: [] });
  expect(curious).toEqual({ ok: false, code: 'both-shares-requested' });
});
