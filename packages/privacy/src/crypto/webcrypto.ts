/**
 * The only door to the platform's cryptography: `globalThis.crypto` (WebCrypto), the same API in browsers, Web
 * Workers and Node >= 20. Nothing here imports a Node module, so the package bundles for the browser unchanged.
 */
import { CryptoError } from '../errors.ts';

export function subtle(): SubtleCrypto {
  const api = (globalThis as { crypto?: Crypto }).crypto;
  if (api?.subtle === undefined) {
    throw new CryptoError('no-webcrypto', 'WebCrypto (globalThis.crypto.subtle) is not available: a secure context (https or localhost) and a current browser or Node 20 are needed');
  }
  return api.subtle;
}

/** getRandomValues fills at most 65,536 bytes per call. */
const MAX_RANDOM_CHUNK = 65_536;

/** `length` bytes from the platform's cryptographically secure generator. */
export function randomBytes(length: number): Uint8Array<ArrayBuffer> {
  const api = (globalThis as { crypto?: Crypto }).crypto;
  if (api === undefined) throw new CryptoError('no-webcrypto', 'WebCrypto (globalThis.crypto) is not available');
  const out = new Uint8Array(length);
  for (let offset = 0; offset < length; offset += MAX_RANDOM_CHUNK) {
    api.getRandomValues(out.subarray(offset, Math.min(length, offset + MAX_RANDOM_CHUNK)));
  }
  return out;
}

const LITTLE_ENDIAN = new Uint8Array(Uint32Array.of(1).buffer)[0] === 1;

/**
 * Masks and masked inputs travel as little-endian uint32 words, read and written through Uint32Array views. Every
 * browser and Node platform in use is little-endian; a big-endian one is refused rather than silently disagreeing.
 */
export function assertLittleEndian(): void {
  if (!LITTLE_ENDIAN) throw new CryptoError('big-endian-platform', 'secure aggregation needs a little-endian platform');
}

/** UTF-8 bytes of a context string (HKDF info, AES-GCM associated data). */
export function utf8(text: string): Uint8Array<ArrayBuffer> {
  return new TextEncoder().encode(text);
}

export function concatBytes(...parts: readonly Uint8Array[]): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let difference = 0;
  for (let i = 0; i < a.length; i++) difference |= (a[i] as number) ^ (b[i] as number);
  return difference === 0;
}

/** base64url without padding (JWK fields). */
export function bytesToBase64Url(bytes: Uint8Array): string {
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

export function base64UrlToBytes(text: string): Uint8Array<ArrayBuffer> {
  const padded = text.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (text.length % 4)) % 4);
  const binary = atob(padded);
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
  return out;
}

/** SHA-256 of some bytes, hex. */
export async function sha256Hex(bytes: Uint8Array<ArrayBuffer>): Promise<string> {
  const digest = new Uint8Array(await subtle().digest('SHA-256', bytes));
  return Array.from(digest, (byte) => byte.toString(16).padStart(2, '0')).join('');
}
