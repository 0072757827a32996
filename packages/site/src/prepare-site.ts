/**
 * Before a site takes part: its encoder must be the federation's (else its features would not be comparable), then
 * it fetches the federation's features and encodes its own data, once each. A step that failed (a dropped
 * connection) is done again on the next welcome; the steps that succeeded are kept.
 */
import type { FederationConfig } from '@facmic/protocol';
import type { SiteConnection } from './connection.ts';
import { fetchFeatures } from './requests.ts';
import { SiteError, type SiteStatusEvent } from './events.ts';
import { checkData, type FederationFeatures, type SiteData } from './site-data.ts';
import type { LocalEncoderIdentity, SiteClientOptions } from './site-options.ts';

export interface Prepared {
  identity: LocalEncoderIdentity;
  features: FederationFeatures;
  data: SiteData;
}

export interface PrepareSiteInput extends Pick<SiteClientOptions, 'encoder' | 'loadData'> {
  federation: FederationConfig;
  connection: SiteConnection;
  signal: AbortSignal;
  /** What is already done; filled in step by step. */
  prepared: Partial<Prepared>;
  setStatus: (status: SiteStatusEvent) => void;
}

export async function prepareSite(input: PrepareSiteInput): Promise<void> {
  const { federation, prepared, signal, setStatus } = input;
  if (!prepared.identity) {
    setStatus({ phase: 'loading', progress: null, round: null, message: `loading encoder ${federation.encoder.modelId}` });
    const identity = typeof input.encoder === 'function' ? await input.encoder(federation, signal) : input.encoder;
    if (identity.hash !== federation.encoder.hash) {
      throw new SiteError(
        'ENCODER_MISMATCH',
        `This site's encoder (${identity.modelId}, hash ${identity.hash.slice(0, 12)}) differs from the federation's ` +
          `(${federation.encoder.modelId}, hash ${federation.encoder.hash.slice(0, 12)}): its features would not be comparable, so it does not take part.`,
      );
    }
    prepared.identity = identity;
  }
  prepared.features ??= await fetchFeatures(input.connection, federation);
  if (!prepared.data) {
    setStatus({ phase: 'encoding', progress: 0, round: null, message: null });
    const data = await input.loadData({
      federation,
      signal,
      progress: (fraction, message) => { setStatus({ phase: 'encoding', progress: fraction, round: null, message: message ?? null }); },
    });
    checkData(data, federation);
    prepared.data = data;
    setStatus({ phase: 'ready', progress: null, round: null, message: null });
  }
}
