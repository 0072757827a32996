import { describe, expect, it } from 'vitest';
import { SeededRandom } from '@facmic/learning/plain';
import { bytesToFieldElement, combineSecrets, combineShares, fieldElementToBytes, lagrangeAtZero, randomFieldElement, SHAMIR_PRIME, ShamirError, splitSecret, type Share } from './shamir.ts';

function isProbablePrime(n: bigint): boolean {
  // Miller-Rabin with the first 12 prime bases (deterministic far beyond 2^64, overwhelming evidence at 2^256).
  let d = n - 1n;
  let r = 0;
  while (d % 2n === 0n) {
    d /= 2n;
    r++;
  }
  for (const a of [2n, 3n, 5n, 7n, 11n, 13n, 17n, 19n, 23n, 29n, 31n, 37n]) {
    let x = modularPower(a, d, n);
    if (x === 1n || x === n - 1n) continue;
    let composite = true;
    for (let i = 1; i < r && composite; i++) {
      x = (x * x) % n;
      if (x === n - 1n) composite = false;
    }
    if (composite) return false;
  }
  return true;
}

function subsets<T>(items: readonly T[], size: number): T[][] {
  if (size === 0) return [[]];
  if (items.length < size) return [];
  const [first, ...rest] = items as [T, ...T[]];
  return [...subsets(rest, size - 1).map((subset) => [first, ...subset]), ...subsets(rest, size)];
}

describe('Shamir t-of-n over GF(q_P256)', () => {
  it('works in a prime field of 256 bits (the P-256 group order)', () => {
    expect(isProbablePrime(SHAMIR_PRIME)).toBe(true);
    expect(SHAMIR_PRIME.toString(2)).toHaveLength(256);
  });

  it('rebuilds the secret from every subset of t shares', () => {
    const secret = randomFieldElement();
    const shares = splitSecret(secret, 3, [1, 2, 3, 4, 5]);
    for (const subset of subsets(shares, 3)) expect(combineShares(subset, 3)).toBe(secret);
    expect(combineShares(shares, 3)).toBe(secret);
    expect(combineShares(splitSecret(0n, 2, [4, 9]), 2)).toBe(0n);
    expect(combineShares(splitSecret(SHAMIR_PRIME - 1n, 1, [7]), 1)).toBe(SHAMIR_PRIME - 1n);
  });

  it('t - 1 shares fit every secret equally well (perfect secrecy)', () => {
    // For any candidate secret there is exactly one degree-(t-1) polynomial through (0, candidate) and the t-1 shares,
    // so t-1 shares rule nothing out: adding the point (0, candidate) always "rebuilds" that candidate.
    const shares = splitSecret(123_456_789n, 3, [1, 2, 3]).slice(0, 2);
    for (const candidate of [0n, 1n, 987_654_321n, SHAMIR_PRIME - 5n]) {
      const withCandidate: Share[] = [...shares, { x: 3, y: interpolate([{ x: 0, y: candidate }, ...shares], 3) }];
      expect(combineShares(withCandidate, 3)).toBe(candidate);
    }
  });

  it('refuses too few shares, repeated or zero indexes, bad thresholds, and detects an inconsistent share', () => {
    const shares = splitSecret(42n, 3, [1, 2, 3, 4]);
    const codeOf = (run: () => unknown) => {
      try {
        run();
      } catch (error) {
        if (error instanceof ShamirError) return error.code;
        throw error;
      }
      return 'ok';
    };
    expect(codeOf(() => combineShares(shares.slice(0, 2), 3))).toBe('too-few-shares');
    expect(codeOf(() => splitSecret(1n, 3, [1, 1, 2]))).toBe('invalid-index');
    expect(codeOf(() => splitSecret(1n, 2, [0, 1]))).toBe('invalid-index');
    expect(codeOf(() => splitSecret(1n, 4, [1, 2, 3]))).toBe('invalid-threshold');
    const corrupted = shares.map((share, i) => (i === 1 ? { x: share.x, y: (share.y + 1n) % SHAMIR_PRIME } : share));
    expect(codeOf(() => combineShares(corrupted, 3))).toBe('inconsistent-shares');
  });

  it('rebuilds many secrets held by the same sites with one set of Lagrange coefficients', () => {
    const xs = [2, 5, 7, 11, 12, 40];
    const secrets = Array.from({ length: 20 }, () => randomFieldElement());
    const ys = secrets.map((secret) => splitSecret(secret, 4, xs).map((share) => share.y));
    expect(combineSecrets(xs, ys, 4)).toEqual(secrets);
    expect(lagrangeAtZero([1, 2]).length).toBe(2);
  });

  it('encodes field elements as 32 bytes and refuses values outside the field', () => {
    const random = new SeededRandom(3);
    const value = randomFieldElement(1n, (length) => Uint8Array.from({ length }, () => random.nextUint32() & 0xff));
    expect(bytesToFieldElement(fieldElementToBytes(value))).toBe(value);
    expect(() => bytesToFieldElement(new Uint8Array(32).fill(0xff))).toThrow(ShamirError);
    expect(() => bytesToFieldElement(new Uint8Array(31))).toThrow(ShamirError);
  });
});

/** y at x = t (the next index) of the polynomial through the given points, by plain Lagrange interpolation. */
function interpolate(points: readonly Share[], atX: number): bigint {
  let y = 0n;
  for (const [i, pi] of points.entries()) {
    let numerator = 1n;
    let denominator = 1n;
    for (const [j, pj] of points.entries()) {
      if (i === j) continue;
      numerator = (numerator * BigInt(atX - pj.x)) % SHAMIR_PRIME;
      denominator = (denominator * BigInt(pi.x - pj.x)) % SHAMIR_PRIME;
    }
    const inverse = modularPower(((denominator % SHAMIR_PRIME) + SHAMIR_PRIME) % SHAMIR_PRIME, SHAMIR_PRIME - 2n, SHAMIR_PRIME);
    y = (y + pi.y * numerator * inverse) % SHAMIR_PRIME;
  }
  return ((y % SHAMIR_PRIME) + SHAMIR_PRIME) % SHAMIR_PRIME;
}

/** base^exponent mod modulus (square and multiply). */
function modularPower(base: bigint, exponent: bigint, modulus: bigint): bigint {
  let result = 1n;
  let b = base % modulus;
  let e = exponent;
  while (e > 0n) {
    if (e & 1n) result = (result * b) % modulus;
    b = (b * b) % modulus;
    e >>= 1n;
  }
  return result;
}
