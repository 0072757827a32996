/**
 * Authenticated encryption of the Shamir shares one site sends another through the coordinator (the paper's AE):
 * AES-256-GCM under a key derived with HKDF from the two sites' ECDH secret on their encryption keys. The associated
 * data names the session, the sender and the recipient, so a ciphertext cannot be replayed into another session or
 * passed off as coming from someone else. Wire format: 12-byte random IV || ciphertext || 16-byte tag.
 */
import { CryptoError } from '../errors.ts';
import { deriveAesKey, sharedSecret } from './key-agreement.ts';
import { concatBytes, randomBytes, subtle, utf8 } from './webcrypto.ts';

const IV_BYTES = 12;
const TAG_BYTES = 16;
export const ENCRYPTION_OVERHEAD_BYTES = IV_BYTES + TAG_BYTES;

function associatedData(session: string, from: number, to: number): Uint8Array<ArrayBuffer> {
  return utf8(`facmic-secagg/v1 share ${session} ${from}->${to}`);
}

/** The AES-GCM key of a pair of sites (the same from both ends), from this site's imported encryption private key. */
export async function pairEncryptionKey(session: string, ownPrivateKey: CryptoKey, peerPublicKey: string): Promise<CryptoKey> {
  const secret = await sharedSecret(ownPrivateKey, peerPublicKey);
  return deriveAesKey(secret, session, 'facmic-secagg/v1 share-encryption', 'AES-GCM');
}

/** Encrypts `plaintext` from share index `from` to share index `to`. */
export async function encryptShare(key: CryptoKey, session: string, from: number, to: number, plaintext: Uint8Array<ArrayBuffer>): Promise<Uint8Array<ArrayBuffer>> {
  const iv = randomBytes(IV_BYTES);
  const sealed = await subtle().encrypt({ name: 'AES-GCM', iv, additionalData: associatedData(session, from, to), tagLength: TAG_BYTES * 8 }, key, plaintext);
  return concatBytes(iv, new Uint8Array(sealed));
}

/** Decrypts and authenticates; a wrong key, session, sender, recipient or any altered byte is a CryptoError. */
export async function decryptShare(key: CryptoKey, session: string, from: number, to: number, sealed: Uint8Array): Promise<Uint8Array<ArrayBuffer>> {
  if (sealed.length < ENCRYPTION_OVERHEAD_BYTES) throw new CryptoError('decryption-failed', 'the encrypted share is too short');
  const bytes = sealed.slice();
  try {
    const plain = await subtle().decrypt(
      { name: 'AES-GCM', iv: bytes.subarray(0, IV_BYTES), additionalData: associatedData(session, from, to), tagLength: TAG_BYTES * 8 },
      key,
      bytes.subarray(IV_BYTES),
    );
    return new Uint8Array(plain);
  } catch (error) {
    throw new CryptoError('decryption-failed', `the share from ${from} to ${to} does not authenticate`, { cause: error });
  }
}
