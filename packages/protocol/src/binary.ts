import { z } from 'zod';

/**
 * Binary payloads: Socket.IO hands them to Node as a Buffer (a Uint8Array) and to browsers as an ArrayBuffer.
 * Both parse to a Uint8Array. Size limits are the receiver's to apply (they differ per federation).
 */
export const binarySchema = z
  .custom<Uint8Array | ArrayBuffer>((v) => v instanceof Uint8Array || v instanceof ArrayBuffer, 'expected binary data')
  .transform((v) => (v instanceof Uint8Array ? v : new Uint8Array(v)));

/** Base64 text of binary data (REST bodies); at most `maxBytes` decoded bytes. */
export function base64Schema(maxBytes: number) {
  return z
    .string()
    .max(Math.ceil((maxBytes * 4) / 3) + 4, `more than ${maxBytes} bytes`)
    .regex(/^[A-Za-z0-9+/]*={0,2}$/, 'not base64');
}

export function bytesToBase64(bytes: Uint8Array): string {
  let binary = '';
  const chunk = 0x8000;
  for (let i = 0; i < bytes.length; i += chunk) binary += String.fromCharCode(...bytes.subarray(i, i + chunk));
  return btoa(binary);
}

export function base64ToBytes(text: string): Uint8Array {
  const binary = atob(text);
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
  return out;
}
