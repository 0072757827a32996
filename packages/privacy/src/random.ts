/**
 * Sources of uniform random bits for noise and stochastic rounding. Production code uses {@link cryptoRandomSource}
 * (the platform's CSPRNG); {@link prgRandomSource} replays a stream from a seed (AES-CTR, the masks' PRG) for
 * reproducible simulations; tests may pass any object with `nextUint32()` (e.g. `SeededRandom` of @facmic/learning).
 */
import { expandMask } from './crypto/mask-prg.ts';
import { randomBytes } from './crypto/webcrypto.ts';
import { PrivacyError } from './errors.ts';

export interface RandomSource {
  /** A uniform integer in [0, 2^32). */
  nextUint32(): number;
}

const BUFFER_WORDS = 16_384;

/** Uniform words from crypto.getRandomValues, fetched 64 KB at a time. */
export function cryptoRandomSource(): RandomSource {
  let buffer = new Uint32Array(0);
  let next = 0;
  return {
    nextUint32(): number {
      if (next >= buffer.length) {
        buffer = new Uint32Array(randomBytes(BUFFER_WORDS * 4).buffer);
        next = 0;
      }
      return buffer[next++] as number;
    },
  };
}

/** `words` uniform words expanded from a 32-byte seed with AES-256-CTR; drawing more is an error. */
export async function prgRandomSource(seed: Uint8Array<ArrayBuffer>, words: number, label = 'random'): Promise<RandomSource> {
  const stream = await expandMask(seed, 'facmic-random', label, words);
  let next = 0;
  return {
    nextUint32(): number {
      if (next >= stream.length) throw new PrivacyError('random-exhausted', `the seeded stream of ${words} words is used up`);
      return stream[next++] as number;
    },
  };
}

/** A uniform double in [0, 1) with 53 random bits. */
export function uniform53(source: RandomSource): number {
  const high = source.nextUint32() >>> 5; // 27 bits
  const low = source.nextUint32() >>> 6; // 26 bits
  return (high * 67_108_864 + low) / 9_007_199_254_740_992;
}
