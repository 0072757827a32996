/**
 * Whole secure aggregation sessions in memory: five sites and a coordinator object, every message serialised
 * (structuredClone) and parsed with its zod schema from @facmic/protocol on the receiving side, as Socket.IO will.
 * Real sizes: the FACMIC module at D = 512 (527,361 values + the weight word).
 */
import { describe, expect, it } from 'vitest';
import type { ModuleState } from '@facmic/learning/plain';
import { FedAvg, SeededRandom, initialModuleState, moduleSpec } from '@facmic/learning/plain';
import type { z } from 'zod';
import {
  advertiseKeysSchema,
  base64ToBytes,
  keyRosterSchema,
  maskedInputRequestSchema,
  maskedInputSchema,
  secureAggregationBeginSchema,
  secureAggregationRefusalSchema,
  shareKeysSchema,
  unmaskingRequestSchema,
  unmaskingResponseSchema,
  type KeyRoster,
  type UnmaskingRequest,
} from '@facmic/protocol';
import { applyMeanDelta, decodeFixedPointSum, deltaBounds, encodeFixedPoint, fixedPointErrorBound, inputLayout, maxRelativeError, stateDelta, type FixedPointParameters } from '../fixed-point.ts';
import { clipUpdate, dpDeltaBounds, privatizeSiteUpdate, realisedNoiseMultiplier } from '../dp/dp-fedavg.ts';
import { combineSecrets, bytesToFieldElement } from '../shamir.ts';
import { syntheticRoundState } from '../synthetic-update.ts';
import { advertiseKeys, createClientSession, maskInput, shareKeys, unmask, type SecureAggregationClientState } from './client.ts';
import { refusalMessage, SecureAggregationRefusalError, SecureAggregationServerError } from './errors.ts';
import {
  closeAdvertising,
  closeInputs,
  closeSharing,
  createServerSession,
  finishUnmasking,
  receiveAdvertisement,
  receiveMaskedInput,
  receiveShares,
  receiveUnmaskingResponse,
  type SecureAggregationServerState,
} from './server.ts';

const DIM = 512;
const SPEC = moduleSpec('facmic', DIM);
const LAYOUT = inputLayout(SPEC);
const STEPS = 199;
const BOUNDS = deltaBounds(SPEC, { learningRate: 5e-5, betas: [0.9, 0.98], stepsPerRound: STEPS });
const MAX_WEIGHT = 512;
const SESSION = 'fed-test/r3/a1';
const GLOBAL = initialModuleState('facmic', DIM, 7);

interface Site {
  readonly id: string;
  readonly samples: number;
  readonly state: ModuleState;
}

const SITES: readonly Site[] = [120, 250, 80, 400, 310].map((samples, i) => ({ id: `hospital-${String.fromCharCode(97 + i)}`, samples, state: syntheticRoundState(SPEC, GLOBAL, BOUNDS, 100 + i) }));

/** What the coordinator received, as parsed, for the inspection test. */
type Received = { event: string; from: string; message: unknown };

function deliver<S extends z.ZodType>(schema: S, message: unknown): z.output<S> {
  return schema.parse(structuredClone(message));
}

interface SessionPlan {
  readonly sites?: readonly Site[];
  readonly dropBeforeSharing?: readonly string[];
  readonly dropAfterSharing?: readonly string[];
  readonly dropBeforeUnmasking?: readonly string[];
  readonly threshold?: number;
  /** Under DP: weight 1 and the privatized delta, with DP bounds. */
  readonly dp?: { readonly bounds: Record<string, number>; readonly delta: (site: Site) => Float64Array };
}

interface SessionOutcome {
  server: SecureAggregationServerState;
  clients: Map<string, SecureAggregationClientState>;
  roster: KeyRoster;
  unmaskingRequest: UnmaskingRequest | null;
  received: Received[];
  inputs: Map<string, Uint32Array>;
  aggregate: ModuleState | null;
  parameters: FixedPointParameters;
  weightSum: number | null;
  meanDelta: Float64Array | null;
}

async function runSession(plan: SessionPlan = {}): Promise<SessionOutcome> {
  const sites = plan.sites ?? SITES;
  const received: Received[] = [];
  const receive = <S extends z.ZodType>(event: string, from: string, schema: S, message: unknown): z.output<S> => {
    const parsed = deliver(schema, message);
    received.push({ event, from, message: parsed });
    return parsed;
  };
  let server = createServerSession({ session: SESSION, threshold: plan.threshold, encoding: { maxWeight: plan.dp ? 1 : MAX_WEIGHT, bounds: plan.dp?.bounds ?? BOUNDS, length: LAYOUT.length } });
  const clients = new Map(sites.map((site) => [site.id, createClientSession(deliver(secureAggregationBeginSchema, { session: SESSION, round: 3 }).session, site.id)]));

  for (const site of sites) {
    const { state, message } = await advertiseKeys(clients.get(site.id)!);
    clients.set(site.id, state);
    server = receiveAdvertisement(server, site.id, receive('secagg:advertise-keys', site.id, advertiseKeysSchema, message));
  }
  const advertised = closeAdvertising(server);
  server = advertised.state;
  const roster = advertised.roster!;

  for (const site of sites) {
    if (plan.dropBeforeSharing?.includes(site.id)) continue;
    const { state, message } = await shareKeys(clients.get(site.id)!, deliver(keyRosterSchema, roster));
    clients.set(site.id, state);
    server = receiveShares(server, site.id, receive('secagg:share-keys', site.id, shareKeysSchema, message));
  }
  const shared = closeSharing(server);
  server = shared.state;

  const parameters: FixedPointParameters = { maxWeight: roster.encoding.maxWeight, siteCount: roster.encoding.siteCount, bounds: roster.encoding.bounds };
  const inputs = new Map<string, Uint32Array>();
  for (const site of sites) {
    const request = shared.requests[site.id];
    if (request === undefined || plan.dropAfterSharing?.includes(site.id)) continue;
    const encoded = plan.dp ? encodeFixedPoint(LAYOUT, parameters, plan.dp.delta(site), 1) : encodeFixedPoint(LAYOUT, parameters, stateDelta(LAYOUT, site.state, GLOBAL), site.samples);
    expect(encoded.clipped).toBe(0);
    inputs.set(site.id, encoded.input);
    const { state, message } = await maskInput(clients.get(site.id)!, deliver(maskedInputRequestSchema, request), encoded.input);
    clients.set(site.id, state);
    server = receiveMaskedInput(server, site.id, receive('secagg:masked-input', site.id, maskedInputSchema, message));
  }
  const closed = closeInputs(server);
  server = closed.state;
  if (closed.request === null) return { server, clients, roster, unmaskingRequest: null, received, inputs, aggregate: null, parameters, weightSum: null, meanDelta: null };

  for (const siteId of closed.request.survivors) {
    if (plan.dropBeforeUnmasking?.includes(siteId)) continue;
    const { state, message } = unmask(clients.get(siteId)!, deliver(unmaskingRequestSchema, closed.request));
    clients.set(siteId, state);
    server = receiveUnmaskingResponse(server, siteId, receive('secagg:unmasking-response', siteId, unmaskingResponseSchema, message));
  }
  const finished = await finishUnmasking(server);
  server = finished.state;
  if (finished.result === null) return { server, clients, roster, unmaskingRequest: closed.request, received, inputs, aggregate: null, parameters, weightSum: null, meanDelta: null };
  const decoded = decodeFixedPointSum(LAYOUT, parameters, finished.result.sum, finished.result.contributors.length);
  return { server, clients, roster, unmaskingRequest: closed.request, received, inputs, aggregate: applyMeanDelta(LAYOUT, GLOBAL, decoded.meanDelta), parameters, weightSum: decoded.weightSum, meanDelta: decoded.meanDelta };
}

function plainFedAvg(sites: readonly Site[]): ModuleState {
  return new FedAvg().aggregateTrain(sites.map((site) => ({ state: site.state, numSamples: site.samples })));
}

function without(...ids: string[]): Site[] {
  return SITES.filter((site) => !ids.includes(site.id));
}

async function refusalOf(run: () => unknown): Promise<SecureAggregationRefusalError> {
  try {
    await run();
  } catch (error) {
    if (error instanceof SecureAggregationRefusalError) return error;
    throw error;
  }
  throw new Error('expected the site to refuse');
}

describe('secure aggregation, 5 sites, D = 512', () => {
  it('publishes plain FedAvg within the fixed-point error (<= 1e-5 relative)', async () => {
    const outcome = await runSession();
    expect(outcome.server.phase).toBe('completed');
    expect(outcome.roster.threshold).toBe(3);
    expect(outcome.weightSum).toBe(SITES.reduce((sum, site) => sum + site.samples, 0));
    const expected = plainFedAvg(SITES);
    const error = maxRelativeError(outcome.aggregate!, expected);
    expect(error).toBeLessThan(1e-5);
    // Within the proven bound too, entry by entry (plus float32 rounding of the published values).
    const weightSum = outcome.weightSum!;
    let worstRatio = 0;
    for (const entry of LAYOUT.entries) {
      const bound = fixedPointErrorBound(outcome.parameters, BOUNDS[entry.name]!, SITES.length, weightSum);
      const actual = outcome.aggregate![entry.name]!.data;
      const plain = expected[entry.name]!.data;
      for (let i = 0; i < actual.length; i++) worstRatio = Math.max(worstRatio, Math.abs(actual[i]! - plain[i]!) / (bound + 2 * Math.abs(plain[i]!) * 2 ** -24 + 1e-12));
    }
    expect(worstRatio).toBeLessThanOrEqual(1);
    expect(Array.from(outcome.aggregate!['1.num_batches_tracked']!.data)).toEqual([STEPS]);
  });

  it('completes from 4 when one site drops after sharing keys (its pairwise masks removed through the others\' shares)', async () => {
    const dropped = SITES[2]!.id;
    const outcome = await runSession({ dropAfterSharing: [dropped] });
    expect(outcome.server.phase).toBe('completed');
    expect(outcome.unmaskingRequest).toEqual({ session: SESSION, survivors: without(dropped).map((site) => site.id), dropped: [dropped] });
    expect(maxRelativeError(outcome.aggregate!, plainFedAvg(without(dropped)))).toBeLessThan(1e-5);
    expect(outcome.weightSum).toBe(without(dropped).reduce((sum, site) => sum + site.samples, 0));
  });

  it('leaves out a site that drops before sharing keys', async () => {
    const dropped = SITES[4]!.id;
    const outcome = await runSession({ dropBeforeSharing: [dropped] });
    expect(outcome.roster.participants).toHaveLength(5);
    expect(outcome.unmaskingRequest).toEqual({ session: SESSION, survivors: without(dropped).map((site) => site.id), dropped: [] });
    expect(maxRelativeError(outcome.aggregate!, plainFedAvg(without(dropped)))).toBeLessThan(1e-5);
  });

  it('fails cleanly with fewer than t survivors: nobody is asked for a share, nothing is unmasked', async () => {
    const outcome = await runSession({ dropAfterSharing: SITES.slice(0, 3).map((site) => site.id) });
    expect(outcome.server.phase).toBe('failed');
    expect(outcome.server.failure?.reason).toBe('too-few-inputs');
    expect(outcome.unmaskingRequest).toBeNull();
    expect(outcome.aggregate).toBeNull();
    expect(outcome.received.filter((entry) => entry.event === 'secagg:unmasking-response')).toEqual([]);
    for (const client of outcome.clients.values()) expect(client.answered).toBeNull();
  });

  it('fails cleanly when fewer than t survivors send their shares', async () => {
    const survivorsThatVanish = SITES.slice(0, 3).map((site) => site.id);
    const outcome = await runSession({ dropBeforeUnmasking: survivorsThatVanish });
    expect(outcome.server.phase).toBe('failed');
    expect(outcome.server.failure?.reason).toBe('too-few-responses');
    expect(outcome.aggregate).toBeNull();
  });

  it('never hands the coordinator an individual update: no plain vector or float state in anything it received', async () => {
    const outcome = await runSession({ dropAfterSharing: [SITES[1]!.id] });
    // Every byte the coordinator received: binary fields as they are, base64 fields decoded, the rest as JSON text.
    const chunks: Uint8Array[] = [];
    const collect = (value: unknown): void => {
      if (value instanceof Uint8Array) chunks.push(value);
      else if (typeof value === 'string') {
        chunks.push(new TextEncoder().encode(value));
        if (/^[A-Za-z0-9+/]+={0,2}$/.test(value) && value.length % 4 === 0) chunks.push(base64ToBytes(value));
      } else if (Array.isArray(value)) value.forEach(collect);
      else if (typeof value === 'object' && value !== null) Object.values(value).forEach(collect);
    };
    for (const entry of outcome.received) collect(entry.message);
    const haystack = new Uint8Array(chunks.reduce((sum, chunk) => sum + chunk.length, 0));
    let offset = 0;
    for (const chunk of chunks) {
      haystack.set(chunk, offset);
      offset += chunk.length;
    }
    // Needles: 16-byte windows taken every 1 KB from each site's quantised input and from its float32 state bytes;
    // a plain vector, whole or in part, would contain them. Search at every byte offset.
    const windows = new Map<number, { bytes: Uint8Array; label: string }[]>();
    const firstWord = (bytes: Uint8Array, start: number) => (bytes[start]! | (bytes[start + 1]! << 8) | (bytes[start + 2]! << 16) | (bytes[start + 3]! << 24)) >>> 0;
    const addWindows = (bytes: Uint8Array, label: string) => {
      for (let start = 0; start + 16 <= bytes.length; start += 1024) {
        const window = bytes.subarray(start, start + 16);
        if (window.every((byte) => byte === 0)) continue;
        const key = firstWord(window, 0);
        windows.set(key, [...(windows.get(key) ?? []), { bytes: window, label }]);
      }
    };
    for (const site of SITES) {
      const input = outcome.inputs.get(site.id);
      if (input !== undefined) addWindows(new Uint8Array(input.buffer), `${site.id} quantised input`);
      for (const [name, tensor] of Object.entries(site.state)) addWindows(new Uint8Array(tensor.data.buffer), `${site.id} ${name}`);
    }
    const search = (bytes: Uint8Array): string[] => {
      for (let start = 0; start + 16 <= bytes.length; start++) {
        const candidates = windows.get(firstWord(bytes, start));
        const hit = candidates?.find((candidate) => candidate.bytes.every((byte, k) => bytes[start + k] === byte));
        if (hit !== undefined) return [hit.label];
      }
      return [];
    };
    // The search finds a plain vector where there is one (the check can fail) ...
    const planted = new Uint8Array(4096);
    planted.set(new Uint8Array(outcome.inputs.get(SITES[0]!.id)!.buffer, 8192, 2048), 1000);
    expect(search(planted)).toEqual([`${SITES[0]!.id} quantised input`]);
    // ... and finds none in what the coordinator received.
    expect(search(haystack)).toEqual([]);
    // Word by word, each masked input differs from its site's input almost everywhere (a mask word is 0 w.p. 2^-32).
    for (const entry of outcome.received.filter((item) => item.event === 'secagg:masked-input')) {
      const masked = (entry.message as { maskedInput: Uint8Array }).maskedInput;
      const words = new Uint32Array(masked.slice().buffer);
      const input = outcome.inputs.get(entry.from)!;
      let equal = 0;
      for (let i = 0; i < words.length; i++) if (words[i] === input[i]) equal++;
      expect(equal).toBeLessThanOrEqual(3);
    }
  });
});

describe('secure aggregation with DP-FedAvg (distributed noise)', () => {
  it('publishes the noisy equal-weight mean of the clipped updates, within the fixed-point error', async () => {
    const dp = { noiseMultiplier: 1.1, clipNorm: 0.05, placement: 'distributed' as const, minContributors: 3 };
    const privatized = new Map<string, Float64Array>();
    const outcome = await runSession({
      dropAfterSharing: [SITES[4]!.id],
      dp: {
        bounds: dpDeltaBounds(SPEC, dp, STEPS),
        delta: (site) => {
          const { delta } = privatizeSiteUpdate(LAYOUT, stateDelta(LAYOUT, site.state, GLOBAL), dp, new SeededRandom(site.samples));
          privatized.set(site.id, delta);
          return delta;
        },
      },
    });
    expect(outcome.server.phase).toBe('completed');
    expect(outcome.weightSum).toBe(4);
    const contributors = [...privatized.entries()].filter(([id]) => id !== SITES[4]!.id).map(([, delta]) => delta);
    let worst = 0;
    for (const entry of LAYOUT.entries) {
      const bound = fixedPointErrorBound(outcome.parameters, outcome.parameters.bounds[entry.name]!, 4, 4);
      for (let i = entry.offset; i < entry.offset + entry.length; i++) {
        const expected = contributors.reduce((sum, delta) => sum + delta[i]!, 0) / 4;
        worst = Math.max(worst, Math.abs(outcome.meanDelta![i]! - expected) / bound);
      }
    }
    expect(worst).toBeLessThanOrEqual(1);
    // The noise is really there: published minus noise-free mean has variance 4 (sigma S)^2 / 3 / 4^2.
    const clean = SITES.slice(0, 4).map((site) => clipUpdate(LAYOUT, stateDelta(LAYOUT, site.state, GLOBAL), dp.clipNorm).delta);
    let squares = 0;
    let count = 0;
    for (const entry of LAYOUT.entries.filter((e) => e.kind !== 'counter')) {
      for (let i = entry.offset; i < entry.offset + entry.length; i++) {
        squares += (outcome.meanDelta![i]! - clean.reduce((sum, delta) => sum + delta[i]!, 0) / 4) ** 2;
        count++;
      }
    }
    expect(squares / count / (((4 / 3) * (1.1 * 0.05) ** 2) / 16)).toBeCloseTo(1, 1);
    expect(realisedNoiseMultiplier(dp, 4)).toBeCloseTo(1.1 * Math.sqrt(4 / 3), 12);
  });
});

describe('an honest site refuses what would unmask an individual', () => {
  it('refuses a later request for the self-mask share of a site whose key share it already revealed', async () => {
    const dropped = SITES[3]!.id;
    const outcome = await runSession({ dropAfterSharing: [dropped] });
    const honest = outcome.clients.get(SITES[0]!.id)!;
    expect(honest.answered?.dropped).toEqual([dropped]);
    // The curious coordinator now claims the dropped site survived, to collect b shares of it as well.
    const curious: UnmaskingRequest = { session: SESSION, survivors: SITES.map((site) => site.id), dropped: [] };
    const refusal = await refusalOf(() => unmask(honest, deliver(unmaskingRequestSchema, curious)));
    expect(refusal.code).toBe('both-shares-requested');
    expect(refusal.message).toContain(dropped);
    expect(deliver(secureAggregationRefusalSchema, refusalMessage(refusal)).reason).toBe('both-shares-requested');
    // The same request as before is answered again, identically (reconnection).
    expect(unmask(honest, outcome.unmaskingRequest!).message).toEqual(unmask(honest, outcome.unmaskingRequest!).message);
  });

  it('refuses one request that lists a site both as survivor and as dropped (the schema refuses it first)', async () => {
    const outcome = await runSession({ dropAfterSharing: [SITES[3]!.id], dropBeforeUnmasking: SITES.map((site) => site.id) });
    const honest = outcome.clients.get(SITES[0]!.id)!;
    const both = { session: SESSION, survivors: without(SITES[3]!.id).map((site) => site.id), dropped: [SITES[3]!.id, SITES[1]!.id] };
    expect(unmaskingRequestSchema.safeParse(both).success).toBe(false);
    expect((await refusalOf(() => unmask(honest, both))).code).toBe('both-shares-requested');
  });

  it('refuses survivor sets that do not split the sites that shared keys, exclude it, or fall below t', async () => {
    const outcome = await runSession({ dropAfterSharing: [SITES[3]!.id], dropBeforeUnmasking: SITES.map((site) => site.id) });
    const honest = outcome.clients.get(SITES[0]!.id)!;
    const ids = SITES.map((site) => site.id);
    const missing = { session: SESSION, survivors: ids.slice(0, 3), dropped: [] };
    expect((await refusalOf(() => unmask(honest, missing))).code).toBe('inconsistent-survivors');
    const notMe = { session: SESSION, survivors: ids.slice(1, 3).concat(ids[4]!), dropped: [ids[0]!, ids[3]!] };
    expect((await refusalOf(() => unmask(honest, notMe))).code).toBe('not-a-survivor');
    const tooFew = { session: SESSION, survivors: ids.slice(0, 2), dropped: ids.slice(2) };
    expect((await refusalOf(() => unmask(honest, tooFew))).code).toBe('too-few-sites');
    expect((await refusalOf(() => unmask(honest, { ...outcome.unmaskingRequest!, session: 'other/r1/a1' }))).code).toBe('wrong-session');
    // Nothing was revealed by the refusals: the site still answers the genuine request.
    expect(unmask(honest, outcome.unmaskingRequest!).state.answered).toEqual(outcome.unmaskingRequest);
  });

  it('with the majority threshold, contradicting halves cannot each reach t shares', async () => {
    // A coordinator tells two sites that X dropped and two others that X survived: each group holds 2 < t = 3 shares.
    const outcome = await runSession({ dropBeforeUnmasking: SITES.map((site) => site.id) });
    const [x, a, b, c, d] = SITES.map((site) => site.id) as [string, string, string, string, string];
    const keyShares = [a, b].map((site) => {
      const { message } = unmask(outcome.clients.get(site)!, { session: SESSION, survivors: [a, b, c, d], dropped: [x] });
      return bytesToFieldElement(base64ToBytes(message.keyShares[0]!.share));
    });
    expect(() => combineSecrets([2, 3], [keyShares], outcome.roster.threshold)).toThrow(/cannot rebuild/);
    // And a roster whose threshold is not a strict majority is refused before any share is made.
    const fresh = await advertiseKeys(createClientSession(SESSION, x));
    const unsafe = { ...outcome.roster, threshold: 2, participants: outcome.roster.participants.map((entry) => (entry.siteId === x ? { ...entry, encryptionKey: fresh.message.encryptionKey, maskingKey: fresh.message.maskingKey } : entry)) };
    expect((await refusalOf(() => shareKeys(fresh.state, unsafe))).code).toBe('unsafe-threshold');
  });

  it('refuses a roster that replaced its keys or repeats a key', async () => {
    const outcome = await runSession({ dropBeforeUnmasking: SITES.map((site) => site.id) });
    const fresh = await advertiseKeys(createClientSession(SESSION, SITES[0]!.id));
    expect((await refusalOf(() => shareKeys(fresh.state, outcome.roster))).code).toBe('inconsistent-roster');
    const own = { ...outcome.roster.participants[0]!, encryptionKey: fresh.message.encryptionKey, maskingKey: fresh.message.maskingKey };
    const repeated = { ...outcome.roster, participants: [own, { ...outcome.roster.participants[1]!, maskingKey: own.maskingKey }, ...outcome.roster.participants.slice(2)] };
    expect((await refusalOf(() => shareKeys(fresh.state, repeated))).code).toBe('inconsistent-roster');
  });

  it('masks only one input per session: the same input again gives the same bytes, another is refused', async () => {
    const outcome = await runSession({ dropBeforeUnmasking: SITES.map((site) => site.id) });
    const site = SITES[0]!;
    const client = outcome.clients.get(site.id)!;
    const request = closeSharingRequests(outcome)[site.id]!;
    const input = outcome.inputs.get(site.id)!;
    const again = await maskInput(client, request, input);
    const first = outcome.received.find((entry) => entry.event === 'secagg:masked-input' && entry.from === site.id)!.message as { maskedInput: Uint8Array };
    expect(Buffer.from(again.message.maskedInput).equals(Buffer.from(first.maskedInput))).toBe(true);
    const other = input.slice();
    other[0] = (other[0]! + 1) >>> 0;
    expect((await refusalOf(() => maskInput(client, request, other))).code).toBe('input-already-sent');
  });

  it('refuses forwarded shares that do not authenticate', async () => {
    const outcome = await runSession({ dropBeforeUnmasking: SITES.map((site) => site.id) });
    const site = SITES[0]!;
    const request = closeSharingRequests(outcome)[site.id]!;
    const bytes = base64ToBytes(request.shares[0]!.ciphertext);
    bytes[20] = bytes[20]! ^ 1;
    const tampered = { ...request, shares: [{ ...request.shares[0]!, ciphertext: Buffer.from(bytes).toString('base64') }, ...request.shares.slice(1)] };
    const client = outcome.clients.get(site.id)!;
    const fresh = { ...client, phase: 'shared' as const, inputDigest: null, keyHolders: null };
    expect((await refusalOf(() => maskInput(fresh, tampered, outcome.inputs.get(site.id)!))).code).toBe('inconsistent-share-set');
    const swapped = { ...request, shares: [{ from: request.shares[1]!.from, ciphertext: request.shares[0]!.ciphertext }, { from: request.shares[0]!.from, ciphertext: request.shares[1]!.ciphertext }, ...request.shares.slice(2)] };
    expect((await refusalOf(() => maskInput(fresh, swapped, outcome.inputs.get(site.id)!))).code).toBe('inconsistent-share-set');
  });
});

/** The masked-input requests of a finished outcome, rebuilt from the ciphertexts the server holds. */
function closeSharingRequests(outcome: SessionOutcome) {
  return closeSharing({ ...outcome.server, phase: 'sharing' }).requests;
}

describe('the coordinator state machine', () => {
  it('refuses messages of another session, of a closed phase, from non-participants, and conflicting repeats', async () => {
    let server = createServerSession({ session: SESSION, encoding: { maxWeight: MAX_WEIGHT, bounds: BOUNDS, length: LAYOUT.length } });
    const clients = await Promise.all(['site-a', 'site-b', 'site-c'].map(async (id) => ({ id, ...(await advertiseKeys(createClientSession(SESSION, id))) })));
    for (const client of clients) server = receiveAdvertisement(server, client.id, client.message);
    expect(receiveAdvertisement(server, 'site-a', clients[0]!.message)).toBe(server);
    const codeOf = (run: () => unknown) => {
      try {
        run();
      } catch (error) {
        if (error instanceof SecureAggregationServerError) return error.code;
        throw error;
      }
      return 'accepted';
    };
    expect(codeOf(() => receiveAdvertisement(server, 'site-a', clients[1]!.message))).toBe('conflicting-message');
    expect(codeOf(() => receiveAdvertisement(server, 'site-d', { ...clients[0]!.message, session: 'other/r1/a1' }))).toBe('wrong-session');
    const closed = closeAdvertising(server);
    server = closed.state;
    expect(codeOf(() => receiveAdvertisement(server, 'site-d', clients[0]!.message))).toBe('phase-closed');
    const shared = await shareKeys(clients[0]!.state, closed.roster!);
    expect(codeOf(() => receiveShares(server, 'site-z', shared.message))).toBe('not-a-participant');
    expect(codeOf(() => receiveShares(server, 'site-a', { ...shared.message, shares: shared.message.shares.slice(1) }))).toBe('malformed');
    server = receiveShares(server, 'site-a', shared.message);
    expect(closeSharing(server).state.failure?.reason).toBe('too-few-shared');
    expect(codeOf(() => receiveMaskedInput(server, 'site-a', { session: SESSION, maskedInput: new Uint8Array(8) }))).toBe('malformed');
  });

  it('survives a restart between phases: the persisted state resumes and finishes the same sum', async () => {
    // The run above already serialises every message; here the server state itself is cloned after each step.
    const sites = SITES.slice(0, 3);
    let server = createServerSession({ session: SESSION, encoding: { maxWeight: MAX_WEIGHT, bounds: BOUNDS, length: LAYOUT.length } });
    const persist = (state: SecureAggregationServerState) => structuredClone(state);
    const reload = (state: SecureAggregationClientState) => JSON.parse(JSON.stringify(state)) as SecureAggregationClientState;
    const clients = new Map<string, SecureAggregationClientState>();
    for (const site of sites) {
      const { state, message } = await advertiseKeys(createClientSession(SESSION, site.id));
      clients.set(site.id, reload(state));
      server = persist(receiveAdvertisement(server, site.id, message));
    }
    const { state: afterAdvertising, roster } = closeAdvertising(server);
    server = persist(afterAdvertising);
    for (const site of sites) {
      const { state, message } = await shareKeys(clients.get(site.id)!, roster!);
      clients.set(site.id, reload(state));
      server = persist(receiveShares(server, site.id, message));
    }
    const { state: afterSharing, requests } = closeSharing(server);
    server = persist(afterSharing);
    const parameters = { maxWeight: MAX_WEIGHT, siteCount: 3, bounds: BOUNDS };
    for (const site of sites) {
      const encoded = encodeFixedPoint(LAYOUT, parameters, stateDelta(LAYOUT, site.state, GLOBAL), site.samples);
      const { state, message } = await maskInput(clients.get(site.id)!, requests[site.id]!, encoded.input);
      clients.set(site.id, reload(state));
      server = persist(receiveMaskedInput(server, site.id, deliver(maskedInputSchema, message)));
    }
    const { state: afterInputs, request } = closeInputs(server);
    server = persist(afterInputs);
    expect(server.unmaskingRequest).toEqual(request);
    for (const site of sites) server = persist(receiveUnmaskingResponse(server, site.id, unmask(clients.get(site.id)!, server.unmaskingRequest!).message));
    const { result } = await finishUnmasking(server);
    const decoded = decodeFixedPointSum(LAYOUT, parameters, result!.sum, 3);
    expect(maxRelativeError(applyMeanDelta(LAYOUT, GLOBAL, decoded.meanDelta), plainFedAvg(sites))).toBeLessThan(1e-5);
  });
});
