/**
 * A small PNG writer in plain TypeScript (8/16-bit grey, grey+alpha, RGB, RGBA), identical in Node and the browser.
 * Without a `deflate` function the image data goes in stored (uncompressed) deflate blocks; Node passes zlib's.
 * Chunk checksums use the project's one CRC-32 (`@facmic/protocol`).
 */
import { crc32 } from '@facmic/protocol';

export type PngColor = 'grey' | 'grey-alpha' | 'rgb' | 'rgba';

export interface PngImage {
  readonly width: number;
  readonly height: number;
  readonly color: PngColor;
  readonly bitDepth: 8 | 16;
  /** Samples row-major, channel-interleaved; 16-bit samples as numbers 0..65535. */
  readonly data: Uint8Array | Uint8ClampedArray | Uint16Array;
}

const CHANNELS: Record<PngColor, number> = { grey: 1, 'grey-alpha': 2, rgb: 3, rgba: 4 };
const COLOR_TYPE: Record<PngColor, number> = { grey: 0, 'grey-alpha': 4, rgb: 2, rgba: 6 };

function adler32(bytes: Uint8Array): number {
  let a = 1, b = 0;
  for (let i = 0; i < bytes.length; ) {
    const end = Math.min(i + 5552, bytes.length);
    for (; i < end; i++) {
      a += (bytes[i] ?? 0);
      b += a;
    }
    a %= 65521;
    b %= 65521;
  }
  return ((b << 16) | a) >>> 0;
}

/** A zlib stream of stored deflate blocks. */
export function zlibStored(raw: Uint8Array): Uint8Array {
  const blocks = Math.max(1, Math.ceil(raw.length / 65535));
  const out = new Uint8Array(2 + raw.length + blocks * 5 + 4);
  out[0] = 0x78;
  out[1] = 0x01;
  let pos = 2;
  for (let b = 0; b < blocks; b++) {
    const start = b * 65535;
    const len = Math.min(65535, raw.length - start);
    out[pos++] = b === blocks - 1 ? 1 : 0;
    out[pos++] = len & 0xff;
    out[pos++] = len >>> 8;
    out[pos++] = ~len & 0xff;
    out[pos++] = (~len >>> 8) & 0xff;
    out.set(raw.subarray(start, start + len), pos);
    pos += len;
  }
  new DataView(out.buffer).setUint32(pos, adler32(raw));
  return out;
}

function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, data.length);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  out.set(data, 8);
  view.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
  return out;
}

export function encodePng(image: PngImage, deflate: (raw: Uint8Array) => Uint8Array = zlibStored): Uint8Array {
  const { width, height, color, bitDepth, data } = image;
  const channels = CHANNELS[color];
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new Error(`PNG size must be positive integers, got ${width}x${height}`);
  }
  if (data.length !== width * height * channels) {
    throw new Error(`PNG data has ${data.length} samples, expected ${width * height * channels}`);
  }
  const bytesPerSample = bitDepth / 8;
  const rowBytes = width * channels * bytesPerSample;
  const raw = new Uint8Array((rowBytes + 1) * height);
  for (let y = 0; y < height; y++) {
    const rowStart = y * (rowBytes + 1);
    raw[rowStart] = 0;
    for (let i = 0; i < width * channels; i++) {
      const sample = (data[y * width * channels + i] ?? 0);
      if (bitDepth === 8) {
        raw[rowStart + 1 + i] = sample;
      } else {
        raw[rowStart + 1 + 2 * i] = (sample >>> 8) & 0xff;
        raw[rowStart + 2 + 2 * i] = sample & 0xff;
      }
    }
  }
  const header = new Uint8Array(13);
  const view = new DataView(header.buffer);
  view.setUint32(0, width);
  view.setUint32(4, height);
  header[8] = bitDepth;
  header[9] = COLOR_TYPE[color];
  const parts = [
    new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', deflate(raw)),
    chunk('IEND', new Uint8Array(0)),
  ];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let pos = 0;
  for (const part of parts) {
    out.set(part, pos);
    pos += part.length;
  }
  return out;
}
