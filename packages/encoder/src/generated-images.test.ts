import { describe, expect, it } from 'vitest';
import { classNames, encodeRgbaPng, generateImageFiles, generateImages, siteAppearance } from './generated-images.ts';
import { readImageHeader } from './image/header.ts';

function mean(data: Uint8Array | Uint8ClampedArray, channel: number): number {
  let sum = 0;
  for (let i = channel; i < data.length; i += 4) sum += data[i]!;
  return sum / (data.length / 4);
}

describe('generated images', () => {
  it('is deterministic in the seed and names files <class>/<site>-<index>', () => {
    const a = generateImages({ classes: 3, perClass: 2, site: 'north', seed: 4, size: 32 });
    const b = generateImages({ classes: 3, perClass: 2, site: 'north', seed: 4, size: 32 });
    expect(a.map((g) => g.name)).toEqual(['rings/north-0000', 'rings/north-0001', 'stripes/north-0000', 'stripes/north-0001', 'blobs/north-0000', 'blobs/north-0001']);
    expect(a.map((g) => g.label)).toEqual([0, 0, 1, 1, 2, 2]);
    a.forEach((g, i) => {
      expect(Array.from(g.image.data)).toEqual(Array.from(b[i]!.image.data));
    });
    const other = generateImages({ classes: 3, perClass: 2, site: 'north', seed: 5, size: 32 });
    expect(Array.from(other[0]!.image.data)).not.toEqual(Array.from(a[0]!.image.data));
  });

  it('shifts the appearance per site (brightness, tint) while keeping the class pattern', () => {
    const north = siteAppearance('north', 1);
    const south = siteAppearance('south', 1);
    expect(north).not.toEqual(south);
    expect(siteAppearance('north', 1, 0)).toMatchObject({ brightness: 0, contrast: 1, tint: [1, 1, 1] });
    const [n] = generateImages({ classes: 1, perClass: 1, site: 'north', seed: 1, size: 64 });
    const [s] = generateImages({ classes: 1, perClass: 1, site: 'south', seed: 1, size: 64 });
    const diff = [0, 1, 2].map((c) => Math.abs(mean(n!.image.data, c) - mean(s!.image.data, c)));
    expect(Math.max(...diff)).toBeGreaterThan(3);
  });

  it('names classes after patterns, custom names win, and bad counts are refused', () => {
    expect(classNames(10).slice(7)).toEqual(['cross', 'rings-2', 'stripes-2']);
    expect(classNames(['glioma', 'normal'])).toEqual(['glioma', 'normal']);
    expect(() => classNames(0)).toThrow(/positive/);
    expect(() => generateImages({ perClass: -1 })).toThrow(/non-negative/);
  });

  it('turns images into PNG Files (what a browser demo feeds the encoder)', async () => {
    const files = await generateImageFiles({ classes: 2, perClass: 1, site: 'east', seed: 2, size: 40 });
    expect(files.map((f) => [f.file.name, f.label])).toEqual([['rings/east-0000.png', 0], ['stripes/east-0000.png', 1]]);
    const bytes = new Uint8Array(await files[0]!.file.arrayBuffer());
    expect(readImageHeader(bytes)).toEqual({ format: 'png', width: 40, height: 40, orientation: 1 });
    const [image] = generateImages({ classes: 1, perClass: 1, size: 8 });
    expect((await encodeRgbaPng(image!.image)).length).toBeGreaterThan(8 * 8);
  });
});
