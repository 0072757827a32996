/**
 * A site's side of secure aggregation (Bonawitz et al. 2017, Fig. 4, semi-honest), as a pure state machine over
 * plain, serialisable data: every step takes the state and the coordinator's message and returns the next state and
 * the site's answer, or throws a {@link SecureAggregationRefusalError} and leaves the state as it was.
 *
 *   created --advertiseKeys--> advertised --shareKeys(roster)--> shared --maskInput(request, x)--> input-sent
 *     --unmask(request)--> unmasked
 *
 * The caller persists the returned state before sending the answer (IndexedDB in the browser, a file for Node sites):
 * the state holds the session's private keys and the shares other sites entrusted to this one, and it is what lets
 * a reloaded page answer again identically, and refuse what it must. Repeating a step with the same request returns
 * the same answer (reconnection); a different request in the same session is refused.
 */
import { base64ToBytes, bytesToBase64 } from '@facmic/protocol';
import type { AdvertiseKeys, KeyRoster, MaskedInputRequest, ParsedMaskedInput, RosterEntry, SecureAggregationPhase, SecureAggregationRefusalReason, ShareKeys, UnmaskingRequest, UnmaskingResponse } from '@facmic/protocol';
import { generateKeyPair, importPrivateKey, importPublicKey, type KeyPairRecord } from '../crypto/key-agreement.ts';
import { addMask } from '../crypto/mask-prg.ts';
import { decryptShare, encryptShare, pairEncryptionKey } from '../crypto/share-encryption.ts';
import { sha256Hex } from '../crypto/webcrypto.ts';
import { CryptoError } from '../errors.ts';
import { bytesToFieldElement, fieldElementToBytes, randomFieldElement, splitSecret } from '../shamir.ts';
import { SecureAggregationRefusalError } from './errors.ts';
import { forEachLimited, pairwiseMask, pairwiseSign, selfMask } from './masks.ts';
import { decodeShareBundle, encodeShareBundle } from './share-bundle.ts';
import { isSafeThreshold } from './threshold.ts';

export type SecureAggregationClientPhase = 'created' | 'advertised' | 'shared' | 'input-sent' | 'unmasked';

/** The two shares a site holds of another site's secrets (base64 field elements). */
export interface HeldShares {
  readonly keyShare: string;
  readonly selfMaskShare: string;
}

export interface SecureAggregationClientState {
  readonly session: string;
  readonly siteId: string;
  readonly phase: SecureAggregationClientPhase;
  /** c_u: encrypts shares. s_u: pairwise masks. Fresh for every session. */
  readonly encryptionKeys: KeyPairRecord | null;
  readonly maskingKeys: KeyPairRecord | null;
  /** The roster answered (U1), its own entry included. */
  readonly roster: KeyRoster | null;
  /** b_u, the self-mask seed (base64 field element). */
  readonly selfMaskSeed: string | null;
  /** The share-keys answer, kept to resend it unchanged. */
  readonly sentShares: ShareKeys | null;
  /** Shares this site holds, by the site they belong to: every site of U2, itself included. */
  readonly heldShares: Readonly<Record<string, HeldShares>> | null;
  /** U2, sorted: the sites whose pairwise masks are in this site's input. */
  readonly keyHolders: readonly string[] | null;
  /** SHA-256 of the masked input sent: a different input under the same masks is refused. */
  readonly inputDigest: string | null;
  /** The one unmasking request answered: a different one is refused. */
  readonly answered: UnmaskingRequest | null;
}

export function createClientSession(session: string, siteId: string): SecureAggregationClientState {
  return {
    session,
    siteId,
    phase: 'created',
    encryptionKeys: null,
    maskingKeys: null,
    roster: null,
    selfMaskSeed: null,
    sentShares: null,
    heldShares: null,
    keyHolders: null,
    inputDigest: null,
    answered: null,
  };
}

function refuse(state: SecureAggregationClientState, phase: SecureAggregationPhase, reason: SecureAggregationRefusalReason, detail = ''): never {
  throw new SecureAggregationRefusalError(state.session, phase, reason, detail);
}

function checkSession(state: SecureAggregationClientState, phase: SecureAggregationPhase, session: string): void {
  if (session !== state.session) refuse(state, phase, 'wrong-session', `(got ${session}, in ${state.session})`);
}

function rosterEntry(state: SecureAggregationClientState, siteId: string): RosterEntry | undefined {
  return state.roster?.participants.find((entry) => entry.siteId === siteId);
}

function ownEntry(state: SecureAggregationClientState): RosterEntry {
  const entry = rosterEntry(state, state.siteId);
  if (entry === undefined) throw new Error('secure aggregation client: no roster entry of its own after sharing');
  return entry;
}

/** Round 0 (AdvertiseKeys): two fresh P-256 key pairs; the public halves go to the coordinator. */
export async function advertiseKeys(state: SecureAggregationClientState): Promise<{ state: SecureAggregationClientState; message: AdvertiseKeys }> {
  if (state.encryptionKeys !== null && state.maskingKeys !== null) {
    return { state, message: { session: state.session, encryptionKey: state.encryptionKeys.publicKey, maskingKey: state.maskingKeys.publicKey } };
  }
  const [encryptionKeys, maskingKeys] = await Promise.all([generateKeyPair(), generateKeyPair()]);
  const next: SecureAggregationClientState = { ...state, phase: 'advertised', encryptionKeys, maskingKeys };
  return { state: next, message: { session: state.session, encryptionKey: encryptionKeys.publicKey, maskingKey: maskingKeys.publicKey } };
}

function sameRoster(a: KeyRoster, b: KeyRoster): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

async function checkRoster(state: SecureAggregationClientState, roster: KeyRoster): Promise<void> {
  const phase = 'share-keys';
  checkSession(state, phase, roster.session);
  const n = roster.participants.length;
  if (!isSafeThreshold(roster.threshold, n)) refuse(state, phase, 'unsafe-threshold', `(t = ${roster.threshold} of ${n})`);
  const own = roster.participants.find((entry) => entry.siteId === state.siteId);
  if (own?.encryptionKey !== state.encryptionKeys?.publicKey || own?.maskingKey !== state.maskingKeys?.publicKey) {
    refuse(state, phase, 'inconsistent-roster', '(its own keys are missing or replaced)');
  }
  const keys = new Set<string>();
  for (const entry of roster.participants) {
    if (entry.index > n) refuse(state, phase, 'inconsistent-roster', `(index ${entry.index} of ${n} sites)`);
    for (const key of [entry.encryptionKey, entry.maskingKey]) {
      if (keys.has(key)) refuse(state, phase, 'inconsistent-roster', `(a public key appears twice, at ${entry.siteId})`);
      keys.add(key);
    }
  }
  try {
    await Promise.all(roster.participants.flatMap((entry) => [importPublicKey(entry.encryptionKey), importPublicKey(entry.maskingKey)]));
  } catch (error) {
    if (error instanceof CryptoError) refuse(state, phase, 'inconsistent-roster', '(a public key is not a P-256 point)');
    throw error;
  }
}

/**
 * Round 1 (ShareKeys): draw b_u, split s_SK_u and b_u t-of-n over the roster, and encrypt each other site's pair of
 * shares to it. The roster's threshold must be a strict majority of the roster.
 */
export async function shareKeys(state: SecureAggregationClientState, roster: KeyRoster): Promise<{ state: SecureAggregationClientState; message: ShareKeys }> {
  if (state.sentShares !== null && state.roster !== null) {
    if (!sameRoster(state.roster, roster)) refuse(state, 'share-keys', 'inconsistent-roster', '(it differs from the roster already answered)');
    return { state, message: state.sentShares };
  }
  if (state.phase !== 'advertised' || state.encryptionKeys === null || state.maskingKeys === null) refuse(state, 'share-keys', 'unexpected-phase', `(the site is ${state.phase})`);
  await checkRoster(state, roster);
  const encryptionKey = await importPrivateKey(state.encryptionKeys);
  const own = roster.participants.find((entry) => entry.siteId === state.siteId) as RosterEntry;
  const indexes = roster.participants.map((entry) => entry.index);
  const selfMaskSeed = randomFieldElement();
  const keyShares = splitSecret(bytesToFieldElement(base64ToBytes(state.maskingKeys.privateKey)), roster.threshold, indexes);
  const selfMaskShares = splitSecret(selfMaskSeed, roster.threshold, indexes);
  const shares: { to: string; ciphertext: string }[] = [];
  let ownShares: HeldShares | null = null;
  for (const [i, entry] of roster.participants.entries()) {
    const keyShare = (keyShares[i] as { y: bigint }).y;
    const selfMaskShare = (selfMaskShares[i] as { y: bigint }).y;
    if (entry.siteId === state.siteId) {
      ownShares = { keyShare: bytesToBase64(fieldElementToBytes(keyShare)), selfMaskShare: bytesToBase64(fieldElementToBytes(selfMaskShare)) };
      continue;
    }
    const key = await pairEncryptionKey(roster.session, encryptionKey, entry.encryptionKey);
    const sealed = await encryptShare(key, roster.session, own.index, entry.index, encodeShareBundle({ from: own.index, to: entry.index, keyShare, selfMaskShare }));
    shares.push({ to: entry.siteId, ciphertext: bytesToBase64(sealed) });
  }
  const message: ShareKeys = { session: roster.session, shares };
  const next: SecureAggregationClientState = {
    ...state,
    phase: 'shared',
    roster,
    selfMaskSeed: bytesToBase64(fieldElementToBytes(selfMaskSeed)),
    sentShares: message,
    heldShares: { [state.siteId]: ownShares as HeldShares },
  };
  return { state: next, message };
}

async function openShares(state: SecureAggregationClientState, request: MaskedInputRequest): Promise<{ heldShares: Record<string, HeldShares>; keyHolders: string[] }> {
  const phase = 'masked-input';
  const roster = state.roster as KeyRoster;
  const own = ownEntry(state);
  const encryptionKey = await importPrivateKey(state.encryptionKeys as KeyPairRecord);
  const heldShares: Record<string, HeldShares> = { ...state.heldShares };
  for (const { from, ciphertext } of request.shares) {
    const sender = rosterEntry(state, from);
    if (sender === undefined || from === state.siteId) refuse(state, phase, 'inconsistent-share-set', `(${from} is not another site of the roster)`);
    try {
      const key = await pairEncryptionKey(roster.session, encryptionKey, sender.encryptionKey);
      const bundle = decodeShareBundle(await decryptShare(key, roster.session, sender.index, own.index, base64ToBytes(ciphertext)));
      if (bundle.from !== sender.index || bundle.to !== own.index) refuse(state, phase, 'inconsistent-share-set', `(the share from ${from} names other sites)`);
      heldShares[from] = { keyShare: bytesToBase64(fieldElementToBytes(bundle.keyShare)), selfMaskShare: bytesToBase64(fieldElementToBytes(bundle.selfMaskShare)) };
    } catch (error) {
      if (error instanceof SecureAggregationRefusalError) throw error;
      refuse(state, phase, 'inconsistent-share-set', `(the share from ${from} does not decrypt)`);
    }
  }
  const keyHolders = Object.keys(heldShares).sort();
  if (keyHolders.length < roster.threshold) refuse(state, phase, 'too-few-sites', `(${keyHolders.length} sites shared keys, t = ${roster.threshold})`);
  return { heldShares, keyHolders };
}

async function computeMaskedInput(state: SecureAggregationClientState, keyHolders: readonly string[], input: Uint32Array): Promise<Uint32Array<ArrayBuffer>> {
  const own = ownEntry(state);
  const maskingKey = await importPrivateKey(state.maskingKeys as KeyPairRecord);
  const masked = new Uint32Array(input);
  const words = masked.length;
  addMask(masked, await selfMask(state.session, base64ToBytes(state.selfMaskSeed as string) as Uint8Array<ArrayBuffer>, own.index, words), 1);
  const peers = keyHolders.filter((siteId) => siteId !== state.siteId).map((siteId) => rosterEntry(state, siteId) as RosterEntry);
  await forEachLimited(peers, 4, async (peer) => {
    const mask = await pairwiseMask(state.session, { privateKey: maskingKey, index: own.index }, { publicKey: peer.maskingKey, index: peer.index }, words);
    addMask(masked, mask, pairwiseSign(own.index, peer.index));
  });
  return masked;
}

function maskedBytes(masked: Uint32Array<ArrayBuffer>): Uint8Array<ArrayBuffer> {
  return new Uint8Array(masked.buffer, masked.byteOffset, masked.byteLength);
}

/**
 * Round 2 (MaskedInputCollection): open the shares forwarded by the coordinator (their senders are U2), then
 * y = x + PRG(b_u) + sum_{v in U2 \ u} +-PRG(s_uv) mod 2^32. `input` is the fixed-point vector (`encodeFixedPoint`).
 * Asked again, the site answers only with the same input (same masks, same y); another input is refused.
 */
export async function maskInput(state: SecureAggregationClientState, request: MaskedInputRequest, input: Uint32Array): Promise<{ state: SecureAggregationClientState; message: ParsedMaskedInput }> {
  const phase = 'masked-input';
  checkSession(state, phase, request.session);
  if (state.phase !== 'shared' && state.phase !== 'input-sent') refuse(state, phase, 'unexpected-phase', `(the site is ${state.phase})`);
  const roster = state.roster as KeyRoster;
  if (input.length !== roster.encoding.length) throw new RangeError(`the input has ${input.length} words, the session's encoding ${roster.encoding.length}`);
  const { heldShares, keyHolders } = await openShares(state, request);
  if (state.keyHolders !== null && JSON.stringify(state.keyHolders) !== JSON.stringify(keyHolders)) {
    refuse(state, phase, 'inconsistent-share-set', '(the sites that shared keys differ from the request already answered)');
  }
  const masked = await computeMaskedInput(state, keyHolders, input);
  const bytes = maskedBytes(masked);
  const digest = await sha256Hex(bytes);
  if (state.inputDigest !== null && state.inputDigest !== digest) refuse(state, phase, 'input-already-sent');
  const next: SecureAggregationClientState = { ...state, phase: state.phase === 'shared' ? 'input-sent' : state.phase, heldShares, keyHolders, inputDigest: digest };
  return { state: next, message: { session: state.session, maskedInput: bytes } };
}

/**
 * Round 4 (Unmasking): survivors U3 and dropped U2 \ U3 must split U2 exactly, hold at least t sites and this site
 * among the survivors; then it reveals its share of b_v for each survivor and of s_SK_v for each dropped site, never
 * both for one site. Only one request is ever answered per session (the same one again is answered the same way),
 * so no sequence of requests can collect both kinds of share of a site from this site.
 */
export function unmask(state: SecureAggregationClientState, request: UnmaskingRequest): { state: SecureAggregationClientState; message: UnmaskingResponse } {
  const phase = 'unmasking';
  checkSession(state, phase, request.session);
  const both = request.survivors.filter((site) => request.dropped.includes(site));
  if (both.length > 0) refuse(state, phase, 'both-shares-requested', `(${both.join(', ')})`);
  if (state.answered !== null) {
    const same = JSON.stringify([...state.answered.survivors].sort()) === JSON.stringify([...request.survivors].sort()) && JSON.stringify([...state.answered.dropped].sort()) === JSON.stringify([...request.dropped].sort());
    if (!same) {
      const revealedOtherKind = request.survivors.filter((site) => state.answered?.dropped.includes(site)).concat(request.dropped.filter((site) => state.answered?.survivors.includes(site)));
      if (revealedOtherKind.length > 0) refuse(state, phase, 'both-shares-requested', `(the other share of ${revealedOtherKind.join(', ')} was already revealed)`);
      refuse(state, phase, 'inconsistent-survivors', '(it differs from the request already answered)');
    }
  }
  if (state.phase !== 'input-sent' && state.phase !== 'unmasked') refuse(state, phase, 'unexpected-phase', `(the site is ${state.phase})`);
  const keyHolders = state.keyHolders as readonly string[];
  const roster = state.roster as KeyRoster;
  const listed = [...request.survivors, ...request.dropped].sort();
  if (JSON.stringify(listed) !== JSON.stringify(keyHolders)) refuse(state, phase, 'inconsistent-survivors', '(survivors and dropped sites must be exactly the sites that shared keys)');
  if (!request.survivors.includes(state.siteId)) refuse(state, phase, 'not-a-survivor');
  if (request.survivors.length < roster.threshold) refuse(state, phase, 'too-few-sites', `(${request.survivors.length} survivors, t = ${roster.threshold})`);
  const held = state.heldShares as Readonly<Record<string, HeldShares>>;
  const message: UnmaskingResponse = {
    session: state.session,
    selfMaskShares: request.survivors.map((site) => ({ of: site, share: (held[site] as HeldShares).selfMaskShare })),
    keyShares: request.dropped.map((site) => ({ of: site, share: (held[site] as HeldShares).keyShare })),
  };
  return { state: { ...state, phase: 'unmasked', answered: state.answered ?? request }, message };
}
