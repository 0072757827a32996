/**
 * The coordinator's side of secure aggregation (Bonawitz et al. 2017, Fig. 4, semi-honest), as a pure state machine
 * over plain data. It only ever holds public keys, ciphertexts addressed to other sites, masked inputs and the
 * shares it needs; it never holds a site's update.
 *
 *   advertising --closeAdvertising--> sharing --closeSharing--> collecting-inputs --closeInputs--> unmasking
 *     --finishUnmasking--> completed                      (any close with fewer than t sites: failed)
 *
 * `receive*` add one site's message (idempotent for a repeated identical message, refusing a conflicting one with a
 * {@link SecureAggregationServerError}); `close*` end a phase at the round machine's decision (everyone answered, or
 * a deadline) and return what to send. The round machine persists the returned state before sending anything: the
 * unmasking request in particular is fixed once, so a restarted coordinator resends the same one and can never ask
 * for both kinds of share of one site.
 */
import { base64ToBytes } from '@facmic/protocol';
import type { AdvertiseKeys, FixedPointEncoding, KeyRoster, MaskedInputRequest, ParsedMaskedInput, RosterEntry, ShareKeys, UnmaskingRequest, UnmaskingResponse } from '@facmic/protocol';
import { importPrivateKey } from '../crypto/key-agreement.ts';
import { addMask } from '../crypto/mask-prg.ts';
import { assertLittleEndian } from '../crypto/webcrypto.ts';
import { PrivacyError } from '../errors.ts';
import { bytesToFieldElement, combineSecrets, fieldElementToBytes, ShamirError, SHAMIR_PRIME } from '../shamir.ts';
import { SecureAggregationServerError, type SecureAggregationFailureReason } from './errors.ts';
import { forEachLimited, pairwiseMask, pairwiseSign, selfMask } from './masks.ts';
import { effectiveThreshold } from './threshold.ts';

export type SecureAggregationServerPhase = 'advertising' | 'sharing' | 'collecting-inputs' | 'unmasking' | 'completed' | 'failed';

/** The input encoding of the session, less `siteCount` (fixed by the roster). */
export type SessionEncoding = Omit<FixedPointEncoding, 'siteCount' | 'ringBits'>;

export interface SecureAggregationServerState {
  readonly session: string;
  /** The federation's threshold setting (raised to a strict majority of the roster when smaller). */
  readonly thresholdSetting: number | null;
  readonly encoding: SessionEncoding;
  readonly phase: SecureAggregationServerPhase;
  /** Phase 0 answers by site (U1 once closed). */
  readonly advertisements: Readonly<Record<string, AdvertiseKeys>>;
  readonly roster: KeyRoster | null;
  /** Phase 1 answers by sender (U2 once closed). */
  readonly shares: Readonly<Record<string, ShareKeys>>;
  /** Phase 2 answers by site (U3 once closed), as uint32 words. */
  readonly maskedInputs: Readonly<Record<string, Uint32Array>>;
  readonly unmaskingRequest: UnmaskingRequest | null;
  /** Phase 3 answers by site (U5). */
  readonly responses: Readonly<Record<string, UnmaskingResponse>>;
  readonly failure: { readonly reason: SecureAggregationFailureReason; readonly message: string } | null;
}

export interface ServerSessionOptions {
  readonly session: string;
  /** Fewest survivors for the round to finish; raised to floor(n/2) + 1 of the roster when smaller. */
  readonly threshold?: number;
  readonly encoding: SessionEncoding;
}

export function createServerSession(options: ServerSessionOptions): SecureAggregationServerState {
  if (options.threshold !== undefined && (!Number.isSafeInteger(options.threshold) || options.threshold < 2)) {
    throw new SecureAggregationServerError('invalid-settings', `the threshold must be an integer of at least 2, got ${options.threshold}`);
  }
  if (!Number.isSafeInteger(options.encoding.length) || options.encoding.length < 2) throw new SecureAggregationServerError('invalid-settings', 'the input length must be at least 2 words');
  return {
    session: options.session,
    thresholdSetting: options.threshold ?? null,
    encoding: options.encoding,
    phase: 'advertising',
    advertisements: {},
    roster: null,
    shares: {},
    maskedInputs: {},
    unmaskingRequest: null,
    responses: {},
    failure: null,
  };
}

function checkMessage(state: SecureAggregationServerState, expected: SecureAggregationServerPhase, session: string, what: string): void {
  if (session !== state.session) throw new SecureAggregationServerError('wrong-session', `the ${what} is for session ${session}, not ${state.session}`);
  if (state.phase !== expected) throw new SecureAggregationServerError('phase-closed', `the ${what} arrived while the session is ${state.phase}`);
}

function fail(state: SecureAggregationServerState, reason: SecureAggregationFailureReason, message: string): SecureAggregationServerState {
  return { ...state, phase: 'failed', failure: { reason, message } };
}

function entryOf(state: SecureAggregationServerState, siteId: string): RosterEntry | undefined {
  return state.roster?.participants.find((entry) => entry.siteId === siteId);
}

function threshold(state: SecureAggregationServerState): number {
  return (state.roster as KeyRoster).threshold;
}

/** Phase 0: a site's two public keys. */
export function receiveAdvertisement(state: SecureAggregationServerState, siteId: string, message: AdvertiseKeys): SecureAggregationServerState {
  const previous = state.advertisements[siteId];
  if (previous !== undefined && previous.encryptionKey === message.encryptionKey && previous.maskingKey === message.maskingKey && message.session === state.session) return state;
  checkMessage(state, 'advertising', message.session, 'key advertisement');
  if (previous !== undefined) throw new SecureAggregationServerError('conflicting-message', `${siteId} already advertised other keys in this session`);
  return { ...state, advertisements: { ...state.advertisements, [siteId]: message } };
}

/**
 * Ends phase 0: the sites that advertised are U1, indexed 1..n in site-id order. Fails with fewer than
 * max(2, threshold) sites. Send the roster to every site of U1.
 */
export function closeAdvertising(state: SecureAggregationServerState): { state: SecureAggregationServerState; roster: KeyRoster | null } {
  if (state.phase !== 'advertising') throw new SecureAggregationServerError('phase-closed', `the session is ${state.phase}`);
  const sites = Object.keys(state.advertisements).sort();
  const t = effectiveThreshold(sites.length, state.thresholdSetting ?? undefined);
  if (sites.length < Math.max(2, t)) return { state: fail(state, 'too-few-advertised', `${sites.length} sites advertised keys, ${Math.max(2, t)} are needed`), roster: null };
  const participants = sites.map((siteId, i) => {
    const { encryptionKey, maskingKey } = state.advertisements[siteId] as AdvertiseKeys;
    return { siteId, index: i + 1, encryptionKey, maskingKey };
  });
  const roster: KeyRoster = { session: state.session, threshold: t, participants, encoding: { ringBits: 32, ...state.encoding, siteCount: sites.length } };
  return { state: { ...state, phase: 'sharing', roster }, roster };
}

/** Phase 1: one site's ciphertexts, exactly one for every other site of the roster. */
export function receiveShares(state: SecureAggregationServerState, siteId: string, message: ShareKeys): SecureAggregationServerState {
  const previous = state.shares[siteId];
  if (previous !== undefined && message.session === state.session && JSON.stringify(previous) === JSON.stringify(message)) return state;
  checkMessage(state, 'sharing', message.session, 'share set');
  const sender = entryOf(state, siteId);
  if (sender === undefined) throw new SecureAggregationServerError('not-a-participant', `${siteId} is not in the roster of ${state.session}`);
  if (previous !== undefined) throw new SecureAggregationServerError('conflicting-message', `${siteId} already sent other shares in this session`);
  const others = (state.roster as KeyRoster).participants.filter((entry) => entry.siteId !== siteId).map((entry) => entry.siteId).sort();
  const recipients = message.shares.map((share) => share.to).sort();
  if (JSON.stringify(others) !== JSON.stringify(recipients)) throw new SecureAggregationServerError('malformed', `${siteId} must send exactly one share to each other site of the roster`);
  return { ...state, shares: { ...state.shares, [siteId]: message } };
}

/**
 * Ends phase 1: the senders are U2. Fails with fewer than t. Returns, for each site of U2, the ciphertexts the other
 * sites of U2 addressed to it (a site that did not share is left out of the round).
 */
export function closeSharing(state: SecureAggregationServerState): { state: SecureAggregationServerState; requests: Record<string, MaskedInputRequest> } {
  if (state.phase !== 'sharing') throw new SecureAggregationServerError('phase-closed', `the session is ${state.phase}`);
  const senders = Object.keys(state.shares).sort();
  if (senders.length < threshold(state)) return { state: fail(state, 'too-few-shared', `${senders.length} sites shared keys, t = ${threshold(state)}`), requests: {} };
  const requests: Record<string, MaskedInputRequest> = {};
  for (const recipient of senders) {
    const shares = senders
      .filter((sender) => sender !== recipient)
      .map((sender) => ({ from: sender, ciphertext: ((state.shares[sender] as ShareKeys).shares.find((share) => share.to === recipient) as { ciphertext: string }).ciphertext }));
    requests[recipient] = { session: state.session, shares };
  }
  return { state: { ...state, phase: 'collecting-inputs' }, requests };
}

function keyHolders(state: SecureAggregationServerState): string[] {
  return Object.keys(state.shares).sort();
}

function wordsOf(bytes: Uint8Array): Uint32Array {
  assertLittleEndian();
  // A Node Buffer may start at any offset of its pool: copy when the words would be misaligned (a copy through the
  // Uint8Array constructor: Buffer's own slice() is a view of the same, misaligned bytes).
  const aligned = bytes.byteOffset % 4 === 0 ? bytes : new Uint8Array(bytes);
  return new Uint32Array(aligned.buffer, aligned.byteOffset, aligned.byteLength / 4);
}

/** Phase 2: one site's masked input, `encoding.length` little-endian words. */
export function receiveMaskedInput(state: SecureAggregationServerState, siteId: string, message: ParsedMaskedInput): SecureAggregationServerState {
  const previous = state.maskedInputs[siteId];
  const expectedBytes = state.encoding.length * 4;
  if (message.maskedInput.byteLength !== expectedBytes) throw new SecureAggregationServerError('malformed', `a masked input is ${expectedBytes} bytes, got ${message.maskedInput.byteLength}`);
  const words = wordsOf(message.maskedInput);
  if (previous !== undefined && message.session === state.session && previous.every((word, i) => word === words[i])) return state;
  checkMessage(state, 'collecting-inputs', message.session, 'masked input');
  if (!keyHolders(state).includes(siteId)) throw new SecureAggregationServerError('not-a-participant', `${siteId} did not share keys in ${state.session}`);
  if (previous !== undefined) throw new SecureAggregationServerError('conflicting-message', `${siteId} already sent another masked input in this session`);
  return { ...state, maskedInputs: { ...state.maskedInputs, [siteId]: words } };
}

/**
 * Ends phase 2: the senders are the survivors U3, the other sites of U2 dropped. Fails (nothing is asked of anyone)
 * with fewer than t survivors. Send the returned request to every survivor; it is fixed for the session.
 */
export function closeInputs(state: SecureAggregationServerState): { state: SecureAggregationServerState; request: UnmaskingRequest | null } {
  if (state.phase !== 'collecting-inputs') throw new SecureAggregationServerError('phase-closed', `the session is ${state.phase}`);
  const survivors = Object.keys(state.maskedInputs).sort();
  if (survivors.length < threshold(state)) return { state: fail(state, 'too-few-inputs', `${survivors.length} sites sent masked inputs, t = ${threshold(state)}`), request: null };
  const dropped = keyHolders(state).filter((site) => !survivors.includes(site));
  const request: UnmaskingRequest = { session: state.session, survivors, dropped };
  return { state: { ...state, phase: 'unmasking', unmaskingRequest: request }, request };
}

/** Phase 3: one survivor's shares: of b_v for every survivor v, of s_SK_v for every dropped v. */
export function receiveUnmaskingResponse(state: SecureAggregationServerState, siteId: string, message: UnmaskingResponse): SecureAggregationServerState {
  const previous = state.responses[siteId];
  if (previous !== undefined && message.session === state.session && JSON.stringify(previous) === JSON.stringify(message)) return state;
  checkMessage(state, 'unmasking', message.session, 'unmasking response');
  const request = state.unmaskingRequest as UnmaskingRequest;
  if (!request.survivors.includes(siteId)) throw new SecureAggregationServerError('not-a-participant', `${siteId} is not a survivor of ${state.session}`);
  if (previous !== undefined) throw new SecureAggregationServerError('conflicting-message', `${siteId} already sent other shares in this session`);
  const same = (listed: readonly { of: string }[], expected: readonly string[]) => JSON.stringify(listed.map((share) => share.of).sort()) === JSON.stringify([...expected].sort());
  if (!same(message.selfMaskShares, request.survivors) || !same(message.keyShares, request.dropped)) {
    throw new SecureAggregationServerError('malformed', `${siteId} must send one self-mask share per survivor and one key share per dropped site`);
  }
  for (const { share } of [...message.selfMaskShares, ...message.keyShares]) {
    try {
      bytesToFieldElement(base64ToBytes(share));
    } catch {
      throw new SecureAggregationServerError('malformed', `${siteId} sent a share that is not a field element`);
    }
  }
  return { ...state, responses: { ...state.responses, [siteId]: message } };
}

/** Whether enough survivors answered for {@link finishUnmasking}. */
export function canFinishUnmasking(state: SecureAggregationServerState): boolean {
  return state.phase === 'unmasking' && Object.keys(state.responses).length >= threshold(state);
}

export interface SecureSum {
  /** sum of the survivors' inputs x_u, mod 2^32 (decode with `decodeFixedPointSum`). */
  readonly sum: Uint32Array<ArrayBuffer>;
  /** U3, the sites whose inputs are in the sum. */
  readonly contributors: readonly string[];
}

function sharesOf(state: SecureAggregationServerState, responders: readonly string[], site: string, kind: 'selfMaskShares' | 'keyShares'): bigint[] {
  return responders.map((responder) => {
    const share = (state.responses[responder] as UnmaskingResponse)[kind].find((entry) => entry.of === site) as { share: string };
    return bytesToFieldElement(base64ToBytes(share.share));
  });
}

/**
 * Ends phase 3: rebuilds b_v of every survivor and s_SK_v of every dropped site from the responders' shares (all of
 * them, checked for consistency), removes the survivors' self masks and the pairwise masks they shared with dropped
 * sites, and returns the sum. Fails with fewer than t responses or inconsistent shares.
 */
export async function finishUnmasking(state: SecureAggregationServerState): Promise<{ state: SecureAggregationServerState; result: SecureSum | null }> {
  if (state.phase !== 'unmasking') throw new SecureAggregationServerError('phase-closed', `the session is ${state.phase}`);
  const roster = state.roster as KeyRoster;
  const request = state.unmaskingRequest as UnmaskingRequest;
  const responders = Object.keys(state.responses).sort();
  const t = roster.threshold;
  if (responders.length < t) return { state: fail(state, 'too-few-responses', `${responders.length} survivors sent their shares, t = ${t}`), result: null };
  const index = (site: string) => (entryOf(state, site) as RosterEntry).index;
  const xs = responders.map(index);
  const words = state.encoding.length;
  try {
    const selfSeeds = combineSecrets(xs, request.survivors.map((site) => sharesOf(state, responders, site, 'selfMaskShares')), t);
    const droppedKeys = combineSecrets(xs, request.dropped.map((site) => sharesOf(state, responders, site, 'keyShares')), t);
    if (droppedKeys.some((key) => key === 0n || key >= SHAMIR_PRIME)) throw new ShamirError('inconsistent-shares', 'a rebuilt masking key is not a P-256 scalar');
    const sum = new Uint32Array(words);
    for (const site of request.survivors) addMask(sum, state.maskedInputs[site] as Uint32Array, 1);
    await forEachLimited([...request.survivors.entries()], 4, async ([k, site]) => {
      addMask(sum, await selfMask(state.session, fieldElementToBytes(selfSeeds[k] as bigint), index(site), words), -1);
    });
    const rebuiltKeys = await Promise.all(request.dropped.map((dropped, k) => importPrivateKey({ privateKey: fieldElementToBytes(droppedKeys[k] as bigint), publicKey: (entryOf(state, dropped) as RosterEntry).maskingKey })));
    const pairs = request.dropped.flatMap((dropped, k) => request.survivors.map((survivor) => ({ dropped, key: rebuiltKeys[k] as CryptoKey, survivor })));
    await forEachLimited(pairs, 4, async ({ dropped, key, survivor }) => {
      const droppedEntry = entryOf(state, dropped) as RosterEntry;
      const survivorEntry = entryOf(state, survivor) as RosterEntry;
      const mask = await pairwiseMask(state.session, { privateKey: key, index: droppedEntry.index }, { publicKey: survivorEntry.maskingKey, index: survivorEntry.index }, words);
      // The survivor added sign(survivor, dropped) * mask; take it out.
      addMask(sum, mask, pairwiseSign(survivorEntry.index, droppedEntry.index) === 1 ? -1 : 1);
    });
    return { state: { ...state, phase: 'completed' }, result: { sum, contributors: request.survivors } };
  } catch (error) {
    if (error instanceof PrivacyError) return { state: fail(state, 'unmasking-failed', error.message), result: null };
    throw error;
  }
}

/** The round machine gives up on a session (deadline with too few sites, stop, restart without the needed data). */
export function abandonSession(state: SecureAggregationServerState, message: string): SecureAggregationServerState {
  if (state.phase === 'completed' || state.phase === 'failed') return state;
  return fail(state, 'abandoned', message);
}
