import { describe, expect, it } from 'vitest';
import { SeededRandom } from '@facmic/learning/plain';
import { centerCropRgb, RESAMPLE, resizeRgb, type RgbImage } from './resample.ts';

function randomImage(width: number, height: number, seed: number): RgbImage {
  const rng = new SeededRandom(seed);
  return { width, height, data: Uint8Array.from({ length: width * height * 3 }, () => rng.nextInt(256)) };
}

describe('resizeRgb (Pillow algorithm)', () => {
  it('keeps a constant image constant with every filter', () => {
    const src: RgbImage = { width: 37, height: 23, data: new Uint8Array(37 * 23 * 3).fill(173) };
    for (const resample of Object.values(RESAMPLE)) {
      for (const [w, h] of [[224, 224], [5, 3], [80, 11]] as const) {
        const out = resizeRgb(src, w, h, resample);
        expect(out.width).toBe(w);
        expect(out.height).toBe(h);
        expect(new Set(out.data)).toEqual(new Set([173]));
      }
    }
  });

  it('averages with the widened bilinear kernel when downscaling (antialiasing)', () => {
    // 4x1 -> 2x1: output 0 has centre 1.0 and taps 0..2 with weights 0.75, 0.75, 0.25 (normalised by 1.75).
    const src: RgbImage = { width: 4, height: 1, data: Uint8Array.from([0, 100, 200, 255].flatMap((v) => [v, v, v])) };
    const out = resizeRgb(src, 2, 1, RESAMPLE.bilinear);
    expect(out.data[0]).toBe(Math.floor((100 * 0.75 + 200 * 0.25) / 1.75 + 0.5));
  });

  it('computes a window exactly as the full resize followed by a crop', () => {
    const src = randomImage(61, 47, 3);
    const full = resizeRgb(src, 300, 224, RESAMPLE.bicubic);
    const window = resizeRgb(src, 300, 224, RESAMPLE.bicubic, { left: 38, top: 0, width: 224, height: 224 });
    expect(Array.from(window.data)).toEqual(Array.from(centerCropRgb(full, 224, 224).data));
  });

  it('handles a long thin strip without a huge intermediate', () => {
    const src = randomImage(1, 8000, 4);
    const out = resizeRgb(src, 224, 1792000, RESAMPLE.bicubic, { left: 0, top: 895888, width: 224, height: 224 });
    expect(out.data.length).toBe(224 * 224 * 3);
  });

  it('rejects unknown filters and empty sizes', () => {
    const src = randomImage(4, 4, 5);
    expect(() => resizeRgb(src, 2, 2, 9)).toThrow(/unknown resample/);
    expect(() => resizeRgb(src, 0, 2)).toThrow(/cannot resize/);
  });
});
