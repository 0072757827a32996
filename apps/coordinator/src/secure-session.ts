/**
 * The parts of a coordinator's secure aggregation session that need no timers or store: what it fixes at its start
 * (`sessionContext`), the stored request of each phase for one site (`requestFor`, resent unchanged after a
 * reconnection or a restart), and how far a phase is (`progress`).
 */
import { moduleSpec } from '@facmic/learning/plain';
import { deltaBounds, dpDeltaBounds, inputLayout, type SecureAggregationServerState, type SessionEncoding } from '@facmic/privacy';
import type { SecureAggregationRequest, SessionPrivacy } from '@facmic/protocol';
import type { PresenceRegistry } from './presence.ts';
import { nextNoiseMultiplier } from './privacy-budget.ts';
import type { FederationRecord } from './store/store.ts';

/** What the coordinator fixed for a session (stored with it). */
export interface SessionContext {
  readonly participants: readonly string[];
  readonly encoding: SessionEncoding;
  readonly privacy: SessionPrivacy | null;
  readonly quorum: number;
}

/** What the helpers read of a live session. */
export interface SessionView {
  readonly round: number;
  readonly context: SessionContext;
  readonly state: SecureAggregationServerState;
}

export function wordsOf(bytes: Uint8Array): Uint32Array {
  const copy = bytes.slice();
  return new Uint32Array(copy.buffer, 0, copy.byteLength / 4);
}

export function bytesOf(words: Uint32Array): Uint8Array {
  return new Uint8Array(words.buffer, words.byteOffset, words.byteLength);
}

/** What the coordinator fixes for a session: participants, the fixed-point encoding (weights, declared bounds), DP. */
export function sessionContext(federation: FederationRecord, participants: readonly string[], previous: SessionContext | null, presence: PresenceRegistry): SessionContext {
  const { settings } = federation;
  const known = participants.map((id) => presence.trainSamplesOf(id)).filter((n): n is number => n !== null);
  const maxSamples = Math.max(1, ...known, previous?.encoding.maxWeight ?? 1);
  const { localEpochs, batchSize, stepsPerRound, optimizer } = settings.training;
  const perEpoch = maxSamples < batchSize ? 1 : Math.floor(maxSamples / batchSize);
  // The most steps a round can take: the step count, or the epochs' steps, whichever bounds it first.
  const steps = Math.min(localEpochs === null ? Number.POSITIVE_INFINITY : localEpochs * perEpoch, stepsPerRound ?? Number.POSITIVE_INFINITY);
  const spec = moduleSpec(settings.method, federation.encoder.featureDim);
  const dp = settings.privacy.differentialPrivacy;
  let privacy: SessionPrivacy | null = null;
  let bounds: Record<string, number>;
  if (dp) {
    const noiseMultiplier = nextNoiseMultiplier(dp, settings.rounds);
    privacy = { clipNorm: dp.clipNorm, noiseMultiplier, noise: dp.noise };
    // The widest noise share a site may add: split over the smallest threshold a roster can have (2).
    bounds = dpDeltaBounds(spec, { noiseMultiplier, clipNorm: dp.clipNorm, placement: dp.noise, minContributors: 2 }, steps);
  } else {
    bounds = deltaBounds(spec, { learningRate: optimizer.learningRate, betas: optimizer.betas, stepsPerRound: steps });
  }
  const encoding: SessionEncoding = { maxWeight: dp ? 1 : maxSamples, bounds, length: inputLayout(spec).length };
  return { participants: [...participants].sort(), encoding, privacy, quorum: settings.quorum };
}


/** The stored request of the current phase for one site, or null when it has nothing to answer. */
export function requestFor(live: SessionView, siteId: string): SecureAggregationRequest | null {
  const { state } = live;
  switch (state.phase) {
    case 'advertising':
      if (!live.context.participants.includes(siteId) || state.advertisements[siteId]) return null;
      return { phase: 'advertise-keys', begin: { session: state.session, round: live.round }, privacy: live.context.privacy };
    case 'sharing':
      if (!state.roster?.participants.some((p) => p.siteId === siteId) || state.shares[siteId]) return null;
      return { phase: 'share-keys', roster: state.roster };
    case 'collecting-inputs': {
      if (!state.shares[siteId] || state.maskedInputs[siteId]) return null;
      const senders = Object.keys(state.shares).sort().filter((sender) => sender !== siteId);
      const shares = senders.map((from) => ({ from, ciphertext: (state.shares[from]?.shares.find((share) => share.to === siteId) as { ciphertext: string }).ciphertext }));
      return { phase: 'masked-input', request: { session: state.session, shares } };
    }
    case 'unmasking':
      if (!state.unmaskingRequest?.survivors.includes(siteId) || state.responses[siteId]) return null;
      return { phase: 'unmasking', request: state.unmaskingRequest };
    default:
      return null;
  }
}


/** How many sites of the phase have answered, of how many it waits for. */
export function progress(live: SessionView): { answered: number; expected: number } {
  const { state } = live;
  const count = (record: object) => Object.keys(record).length;
  switch (state.phase) {
    case 'advertising':
      return { answered: count(state.advertisements), expected: live.context.participants.length };
    case 'sharing':
      return { answered: count(state.shares), expected: state.roster?.participants.length ?? 0 };
    case 'collecting-inputs':
      return { answered: count(state.maskedInputs), expected: count(state.shares) };
    case 'unmasking':
      return { answered: count(state.responses), expected: state.unmaskingRequest?.survivors.length ?? 0 };
    default:
      return { answered: 0, expected: 1 };
  }
}

