/**
 * ECDH on P-256 and HKDF-SHA-256 through WebCrypto. Key pairs are kept as plain, serialisable records (the public
 * key as the 65-byte uncompressed point, the private scalar as 32 bytes), so a site can persist them (IndexedDB, a
 * file) and the server can rebuild a dropped site's masking key from its reconstructed scalar.
 */
import { base64ToBytes, bytesToBase64 } from '@facmic/protocol';
import { CryptoError } from '../errors.ts';
import { base64UrlToBytes, bytesToBase64Url, subtle, utf8 } from './webcrypto.ts';

const CURVE = { name: 'ECDH', namedCurve: 'P-256' } as const;
/** Uncompressed P-256 point: 0x04 || x (32 bytes) || y (32 bytes). */
export const PUBLIC_KEY_BYTES = 65;
export const PRIVATE_KEY_BYTES = 32;

/** A P-256 key pair as plain data: base64 of the raw public point and of the private scalar (big-endian). */
export interface KeyPairRecord {
  readonly publicKey: string;
  readonly privateKey: string;
}

export async function generateKeyPair(): Promise<KeyPairRecord> {
  const pair = await subtle().generateKey(CURVE, true, ['deriveBits']);
  const publicRaw = new Uint8Array(await subtle().exportKey('raw', pair.publicKey));
  const jwk = await subtle().exportKey('jwk', pair.privateKey);
  if (jwk.d === undefined) throw new CryptoError('bad-key', 'WebCrypto exported a P-256 private key without its scalar');
  return { publicKey: bytesToBase64(publicRaw), privateKey: bytesToBase64(base64UrlToBytes(jwk.d)) };
}

function publicPoint(publicKey: string): Uint8Array<ArrayBuffer> {
  const raw = base64ToBytes(publicKey) as Uint8Array<ArrayBuffer>;
  if (raw.length !== PUBLIC_KEY_BYTES || raw[0] !== 4) throw new CryptoError('bad-key', `a P-256 public key is ${PUBLIC_KEY_BYTES} bytes starting with 0x04`);
  return raw;
}

/** Checks that a public key parses as a point on P-256 (WebCrypto refuses points off the curve). */
export async function importPublicKey(publicKey: string): Promise<CryptoKey> {
  try {
    return await subtle().importKey('raw', publicPoint(publicKey), CURVE, false, []);
  } catch (error) {
    if (error instanceof CryptoError) throw error;
    throw new CryptoError('bad-key', 'not a valid P-256 public key', { cause: error });
  }
}

/** The private key for ECDH from its scalar and its own public key (JWK needs both); import once, agree many times. */
export async function importPrivateKey(own: { privateKey: string | Uint8Array; publicKey: string }): Promise<CryptoKey> {
  const scalar = typeof own.privateKey === 'string' ? base64ToBytes(own.privateKey) : own.privateKey;
  if (scalar.length !== PRIVATE_KEY_BYTES) throw new CryptoError('bad-key', `a P-256 private key is ${PRIVATE_KEY_BYTES} bytes`);
  const point = publicPoint(own.publicKey);
  const jwk: JsonWebKey = {
    kty: 'EC',
    crv: 'P-256',
    d: bytesToBase64Url(scalar),
    x: bytesToBase64Url(point.subarray(1, 33)),
    y: bytesToBase64Url(point.subarray(33, 65)),
    ext: false,
  };
  try {
    return await subtle().importKey('jwk', jwk, CURVE, false, ['deriveBits']);
  } catch (error) {
    throw new CryptoError('bad-key', 'not a valid P-256 private key', { cause: error });
  }
}

/** The 32-byte ECDH shared secret of an imported private key and a peer's public key. */
export async function sharedSecret(privateKey: CryptoKey, peerPublicKey: string): Promise<Uint8Array<ArrayBuffer>> {
  const peer = await importPublicKey(peerPublicKey);
  return new Uint8Array(await subtle().deriveBits({ name: 'ECDH', public: peer }, privateKey, 256));
}

/**
 * The 32-byte ECDH shared secret of `own` (private scalar + its public key) and a peer's public key. Symmetric:
 * agree(a, B) == agree(b, A).
 */
export async function agree(own: { privateKey: string | Uint8Array; publicKey: string }, peerPublicKey: string): Promise<Uint8Array<ArrayBuffer>> {
  return sharedSecret(await importPrivateKey(own), peerPublicKey);
}

/** An AES key (GCM for encrypted shares, CTR for masks) derived from a secret with HKDF-SHA-256. */
export async function deriveAesKey(secret: Uint8Array<ArrayBuffer>, salt: string, info: string, algorithm: 'AES-GCM' | 'AES-CTR'): Promise<CryptoKey> {
  const base = await subtle().importKey('raw', secret, 'HKDF', false, ['deriveKey']);
  const usages: KeyUsage[] = ['encrypt', 'decrypt'];
  return subtle().deriveKey({ name: 'HKDF', hash: 'SHA-256', salt: utf8(salt), info: utf8(info) }, base, { name: algorithm, length: 256 }, false, usages);
}
