/**
 * Shamir t-of-n secret sharing over the prime field GF(q), q the order of the P-256 group. Both secrets a site
 * shares are elements of that field: its masking private key (a P-256 scalar, in [1, q)) and its self-mask seed
 * (drawn uniformly in [0, q)). Every share is one field element (32 bytes) at a non-zero x, the recipient's index:
 * shares have constant size whatever t and n. BigInt arithmetic; t-1 shares say nothing about the secret (the other
 * t-1 coefficients are uniform).
 *
 * Why not a library: the maintained npm ones (`shamir-secret-sharing`, `secrets.js-grempe`) share bytes over GF(2^8) /
 * GF(2^k), not a prime field, and a P-256 scalar is a field element here already.
 */
import { randomBytes } from './crypto/webcrypto.ts';
import { PrivacyError } from './errors.ts';

/** q = order of the P-256 base point (FIPS 186-4 D.1.2.3), prime. */
export const SHAMIR_PRIME = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;
export const FIELD_ELEMENT_BYTES = 32;

export type ShamirErrorCode = 'invalid-threshold' | 'invalid-index' | 'too-few-shares' | 'inconsistent-shares' | 'not-a-field-element';

export class ShamirError extends PrivacyError<ShamirErrorCode> {
  constructor(code: ShamirErrorCode, message: string) {
    super(code, message);
    this.name = 'ShamirError';
  }
}

export interface Share {
  /** The holder's index, 1..n (never 0: the secret sits at x = 0). */
  readonly x: number;
  readonly y: bigint;
}

function mod(value: bigint): bigint {
  const r = value % SHAMIR_PRIME;
  return r < 0n ? r + SHAMIR_PRIME : r;
}

/** Modular inverse by the extended Euclidean algorithm (q is prime, value != 0). */
function inverse(value: bigint): bigint {
  let [oldR, r] = [mod(value), SHAMIR_PRIME];
  let [oldS, s] = [1n, 0n];
  while (r !== 0n) {
    const quotient = oldR / r;
    [oldR, r] = [r, oldR - quotient * r];
    [oldS, s] = [s, oldS - quotient * s];
  }
  return mod(oldS);
}

export function bytesToFieldElement(bytes: Uint8Array): bigint {
  if (bytes.length !== FIELD_ELEMENT_BYTES) throw new ShamirError('not-a-field-element', `a field element is ${FIELD_ELEMENT_BYTES} bytes, got ${bytes.length}`);
  let value = 0n;
  for (const byte of bytes) value = (value << 8n) | BigInt(byte);
  if (value >= SHAMIR_PRIME) throw new ShamirError('not-a-field-element', 'the value is not below the field prime');
  return value;
}

export function fieldElementToBytes(value: bigint): Uint8Array<ArrayBuffer> {
  if (value < 0n || value >= SHAMIR_PRIME) throw new ShamirError('not-a-field-element', 'the value is not in [0, q)');
  const out = new Uint8Array(FIELD_ELEMENT_BYTES);
  let rest = value;
  for (let i = FIELD_ELEMENT_BYTES - 1; i >= 0; i--) {
    out[i] = Number(rest & 0xffn);
    rest >>= 8n;
  }
  return out;
}

/** A uniform element of [min, q) by rejection sampling of 32 random bytes (min 0 or 1). */
export function randomFieldElement(min: 0n | 1n = 0n, random: (length: number) => Uint8Array = randomBytes): bigint {
  for (;;) {
    const bytes = random(FIELD_ELEMENT_BYTES);
    let value = 0n;
    for (const byte of bytes) value = (value << 8n) | BigInt(byte);
    if (value >= min && value < SHAMIR_PRIME) return value;
  }
}

function checkIndexes(xs: readonly number[]): void {
  const seen = new Set<number>();
  for (const x of xs) {
    if (!Number.isSafeInteger(x) || x < 1) throw new ShamirError('invalid-index', `share indexes are positive integers, got ${x}`);
    if (seen.has(x)) throw new ShamirError('invalid-index', `share index ${x} appears twice`);
    seen.add(x);
  }
}

/** Splits `secret` into one share per index of `xs`; any `threshold` of them rebuild it, fewer reveal nothing. */
export function splitSecret(secret: bigint, threshold: number, xs: readonly number[], random?: (length: number) => Uint8Array): Share[] {
  if (!Number.isSafeInteger(threshold) || threshold < 1 || threshold > xs.length) {
    throw new ShamirError('invalid-threshold', `threshold must be between 1 and the number of shares (${xs.length}), got ${threshold}`);
  }
  checkIndexes(xs);
  const coefficients = [mod(secret)];
  for (let i = 1; i < threshold; i++) coefficients.push(randomFieldElement(0n, random));
  return xs.map((x) => {
    const point = BigInt(x);
    let y = 0n;
    for (let i = coefficients.length - 1; i >= 0; i--) y = mod(y * point + (coefficients[i] as bigint));
    return { x, y };
  });
}

/** Lagrange coefficients at x = 0 for the points `xs`: secret = sum_i c_i y_i. Computed once per set of holders. */
export function lagrangeAtZero(xs: readonly number[]): bigint[] {
  checkIndexes(xs);
  return xs.map((xi, i) => {
    let numerator = 1n;
    let denominator = 1n;
    for (const [j, xj] of xs.entries()) {
      if (j === i) continue;
      numerator = mod(numerator * BigInt(-xj));
      denominator = mod(denominator * BigInt(xi - xj));
    }
    return mod(numerator * inverse(denominator));
  });
}

/** sum_i c_i y_i mod q with precomputed coefficients (shares in the same order as the coefficients' xs). */
export function combineWith(coefficients: readonly bigint[], ys: readonly bigint[]): bigint {
  let secret = 0n;
  for (const [i, c] of coefficients.entries()) secret += c * (ys[i] as bigint);
  return mod(secret);
}

/**
 * Rebuilds several secrets whose shares come from the same holders (the server's case: every responder sends one
 * share of each secret). `ys[k][i]` is holder i's share of secret k. With more than `threshold` holders, the secrets
 * are rebuilt from several windows of `threshold` holders that together cover all of them, and must agree: a
 * corrupted share is an error rather than a wrong secret.
 */
export function combineSecrets(xs: readonly number[], ys: readonly (readonly bigint[])[], threshold: number): bigint[] {
  if (!Number.isSafeInteger(threshold) || threshold < 1) throw new ShamirError('invalid-threshold', `threshold must be a positive integer, got ${threshold}`);
  if (xs.length < threshold) throw new ShamirError('too-few-shares', `${xs.length} shares cannot rebuild a ${threshold}-of-n secret`);
  checkIndexes(xs);
  const windows: number[] = [];
  for (let start = 0; start + threshold < xs.length; start += threshold) windows.push(start);
  windows.push(xs.length - threshold);
  const coefficients = windows.map((start) => lagrangeAtZero(xs.slice(start, start + threshold)));
  return ys.map((shares, k) => {
    if (shares.length !== xs.length) throw new ShamirError('too-few-shares', `secret ${k} has ${shares.length} shares for ${xs.length} holders`);
    const candidates = windows.map((start, w) => combineWith(coefficients[w] as bigint[], shares.slice(start, start + threshold)));
    const secret = candidates[0] as bigint;
    if (candidates.some((candidate) => candidate !== secret)) throw new ShamirError('inconsistent-shares', `the shares of secret ${k} do not lie on one polynomial of degree ${threshold - 1}`);
    return secret;
  });
}

/** Rebuilds one secret from at least `threshold` shares (checked for consistency when there are more). */
export function combineShares(shares: readonly Share[], threshold: number): bigint {
  const [secret] = combineSecrets(shares.map((share) => share.x), [shares.map((share) => share.y)], threshold);
  return secret as bigint;
}
