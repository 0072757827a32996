import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { readImageHeader, orientedSize } from './header.ts';
import { encodePng } from './png.ts';

describe('PNG writer', () => {
  it('writes 8-bit and 16-bit PNGs that sharp decodes to the same samples', async () => {
    const rgb = Uint8Array.from({ length: 5 * 3 * 3 }, (_, i) => (i * 37) % 256);
    const png = encodePng({ width: 5, height: 3, color: 'rgb', bitDepth: 8, data: rgb });
    const decoded = await sharp(png).raw().toBuffer({ resolveWithObject: true });
    expect(decoded.info).toMatchObject({ width: 5, height: 3, channels: 3 });
    expect(Array.from(decoded.data)).toEqual(Array.from(rgb));

    const grey16 = Uint16Array.from({ length: 4 * 2 }, (_, i) => i * 8000 + 100);
    const png16 = encodePng({ width: 4, height: 2, color: 'grey', bitDepth: 16, data: grey16 });
    const meta = await sharp(png16).metadata();
    expect(meta).toMatchObject({ depth: 'ushort', channels: 1 });
    const raw16 = await sharp(png16).toColourspace('grey16').raw({ depth: 'ushort' }).toBuffer();
    expect(Array.from(new Uint16Array(raw16.buffer, raw16.byteOffset, raw16.length / 2))).toEqual(Array.from(grey16));
  });

  it('rejects sizes and buffers that do not match', () => {
    expect(() => encodePng({ width: 0, height: 1, color: 'grey', bitDepth: 8, data: new Uint8Array(0) })).toThrow(/positive/);
    expect(() => encodePng({ width: 2, height: 2, color: 'rgba', bitDepth: 8, data: new Uint8Array(15) })).toThrow(/expected 16/);
  });
});

describe('image headers', () => {
  it('reads size and EXIF orientation of PNG, JPEG, WebP and GIF without decoding', async () => {
    const base = sharp({ create: { width: 123, height: 45, channels: 3, background: '#408020' } });
    expect(readImageHeader(await base.clone().png().toBuffer())).toEqual({ format: 'png', width: 123, height: 45, orientation: 1 });
    expect(readImageHeader(await base.clone().webp().toBuffer())).toMatchObject({ format: 'webp', width: 123, height: 45 });
    expect(readImageHeader(await base.clone().webp({ lossless: true }).toBuffer())).toMatchObject({ format: 'webp', width: 123, height: 45 });
    expect(readImageHeader(await base.clone().gif().toBuffer())).toMatchObject({ format: 'gif', width: 123, height: 45 });
    const jpeg = readImageHeader(await base.clone().jpeg().withMetadata({ orientation: 6 }).toBuffer());
    expect(jpeg).toEqual({ format: 'jpeg', width: 123, height: 45, orientation: 6 });
    expect(orientedSize(jpeg!)).toEqual({ width: 45, height: 123 });
    expect(readImageHeader(new Uint8Array([1, 2, 3]))).toBeUndefined();
    expect(readImageHeader(Uint8Array.of(0xff, 0xd8, 0xff, 0xe0, 0, 16))).toBeUndefined();
  });
});
