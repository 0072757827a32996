/**
 * The pseudo-random generator that expands a seed into a mask (the paper's PRG): AES-256-CTR, keyed by HKDF-SHA-256
 * of the seed (salt: the session, info: what the mask is for), encrypting zeros from counter 0. The keystream is read
 * as little-endian uint32 words: one mask word per input word, added mod 2^32. Same seed, session and label: the same
 * mask, in every browser and in Node.
 */
import { deriveAesKey } from './key-agreement.ts';
import { assertLittleEndian, subtle } from './webcrypto.ts';

const COUNTER_BLOCK = new Uint8Array(16);
let zeros = new Uint8Array(0);

function zeroBytes(length: number): Uint8Array<ArrayBuffer> {
  if (zeros.length < length) zeros = new Uint8Array(length);
  return zeros.subarray(0, length);
}

/** `words` uint32 mask words from a seed (32 bytes: a field element or an ECDH secret). */
export async function expandMask(seed: Uint8Array<ArrayBuffer>, session: string, label: string, words: number): Promise<Uint32Array<ArrayBuffer>> {
  assertLittleEndian();
  const key = await deriveAesKey(seed, session, `facmic-secagg/v1 mask ${label}`, 'AES-CTR');
  const stream = await subtle().encrypt({ name: 'AES-CTR', counter: COUNTER_BLOCK, length: 64 }, key, zeroBytes(words * 4));
  return new Uint32Array(stream);
}

/** target += sign * mask (mod 2^32), in place. */
export function addMask(target: Uint32Array, mask: Uint32Array, sign: 1 | -1): void {
  const length = target.length;
  if (sign === 1) {
    for (let i = 0; i < length; i++) target[i] = (target[i] as number) + (mask[i] as number);
  } else {
    for (let i = 0; i < length; i++) target[i] = (target[i] as number) - (mask[i] as number);
  }
}
