/**
 * What one site encrypts for another in the share-keys phase (the paper's u || v || s_SK share || b share):
 * version byte 1, u16 sender index, u16 recipient index, 32-byte key share, 32-byte self-mask share. 69 bytes,
 * sealed with AES-GCM (97 bytes on the wire).
 */
import { fieldElementToBytes, bytesToFieldElement, FIELD_ELEMENT_BYTES } from '../shamir.ts';
import { CryptoError } from '../errors.ts';

const VERSION = 1;
export const SHARE_BUNDLE_BYTES = 1 + 2 + 2 + 2 * FIELD_ELEMENT_BYTES;

export interface ShareBundle {
  readonly from: number;
  readonly to: number;
  readonly keyShare: bigint;
  readonly selfMaskShare: bigint;
}

export function encodeShareBundle(bundle: ShareBundle): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(SHARE_BUNDLE_BYTES);
  const view = new DataView(out.buffer);
  view.setUint8(0, VERSION);
  view.setUint16(1, bundle.from);
  view.setUint16(3, bundle.to);
  out.set(fieldElementToBytes(bundle.keyShare), 5);
  out.set(fieldElementToBytes(bundle.selfMaskShare), 5 + FIELD_ELEMENT_BYTES);
  return out;
}

export function decodeShareBundle(bytes: Uint8Array): ShareBundle {
  if (bytes.length !== SHARE_BUNDLE_BYTES || bytes[0] !== VERSION) throw new CryptoError('decryption-failed', 'the decrypted share has an unknown layout');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return {
    from: view.getUint16(1),
    to: view.getUint16(3),
    keyShare: bytesToFieldElement(bytes.subarray(5, 5 + FIELD_ELEMENT_BYTES)),
    selfMaskShare: bytesToFieldElement(bytes.subarray(5 + FIELD_ELEMENT_BYTES)),
  };
}
