/**
 * CRC-32 (IEEE 802.3, the zlib/PNG polynomial), the project's one: the trailer of tensor files and the chunks of the
 * PNG files `@facmic/encoder` writes. Detects corrupted or truncated data; not a signature.
 *
 * `crc32` uses the platform's own implementation where there is one (Node's zlib, see `#native-crc32`), else
 * {@link portableCrc32}: slicing-by-16 (sixteen 256-entry tables, sixteen bytes a step, read as four 32-bit words on
 * little-endian platforms). Both give the same value; checking a 2 MB update stays within a few copies of it.
 */
import { nativeCrc32 } from '#native-crc32';

const SLICES = 16;

const TABLES: Int32Array = (() => {
  const t = new Int32Array(SLICES * 256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c;
  }
  for (let n = 0; n < 256; n++) {
    for (let k = 1; k < SLICES; k++) {
      const previous = t[(k - 1) * 256 + n] as number;
      t[k * 256 + n] = (previous >>> 8) ^ (t[previous & 0xff] as number);
    }
  }
  return t;
})();

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function crcBytes(crc: number, bytes: Uint8Array, from: number, to: number): number {
  const t = TABLES;
  let c = crc;
  for (let i = from; i < to; i++) c = (t[(c ^ (bytes[i] as number)) & 0xff] as number) ^ (c >>> 8);
  return c;
}

/** Below this many bytes the portable CRC-32 is as fast as a call into the platform's. */
const NATIVE_FROM_BYTES = 4096;

/** CRC-32 of `bytes`, as an unsigned 32-bit integer. */
export function crc32(bytes: Uint8Array): number {
  return nativeCrc32 !== null && bytes.length >= NATIVE_FROM_BYTES ? nativeCrc32(bytes) >>> 0 : portableCrc32(bytes);
}

/** CRC-32 in plain TypeScript, on every platform. */
export function portableCrc32(bytes: Uint8Array): number {
  const t = TABLES;
  const n = bytes.length;
  if (!LITTLE_ENDIAN || n < 64) return (crcBytes(-1, bytes, 0, n) ^ -1) >>> 0;
  // Bytes up to a 4-byte boundary one by one, then 16 bytes a step as aligned words, then the tail.
  const head = (4 - (bytes.byteOffset & 3)) & 3;
  let crc = crcBytes(-1, bytes, 0, head);
  const blocks = (n - head) >>> 4;
  const words = new Int32Array(bytes.buffer, bytes.byteOffset + head, blocks * 4);
  for (let w = 0; w < words.length; w += 4) {
    const a = (words[w] as number) ^ crc;
    const b = words[w + 1] as number;
    const c = words[w + 2] as number;
    const d = words[w + 3] as number;
    crc =
      (t[3840 + (a & 0xff)] as number) ^
      (t[3584 + ((a >>> 8) & 0xff)] as number) ^
      (t[3328 + ((a >>> 16) & 0xff)] as number) ^
      (t[3072 + (a >>> 24)] as number) ^
      (t[2816 + (b & 0xff)] as number) ^
      (t[2560 + ((b >>> 8) & 0xff)] as number) ^
      (t[2304 + ((b >>> 16) & 0xff)] as number) ^
      (t[2048 + (b >>> 24)] as number) ^
      (t[1792 + (c & 0xff)] as number) ^
      (t[1536 + ((c >>> 8) & 0xff)] as number) ^
      (t[1280 + ((c >>> 16) & 0xff)] as number) ^
      (t[1024 + (c >>> 24)] as number) ^
      (t[768 + (d & 0xff)] as number) ^
      (t[512 + ((d >>> 8) & 0xff)] as number) ^
      (t[256 + ((d >>> 16) & 0xff)] as number) ^
      (t[d >>> 24] as number);
  }
  crc = crcBytes(crc, bytes, head + blocks * 16, n);
  return (crc ^ -1) >>> 0;
}

/** CRC-32 as 8 lowercase hex digits (how checksums appear in JSON, logs and the store). */
export function crc32Hex(bytes: Uint8Array): string {
  return crc32(bytes).toString(16).padStart(8, '0');
}
