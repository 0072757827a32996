import { describe, expect, it } from 'vitest';
import { SeededRandom } from '@facmic/learning/plain';
import { applyGeometry, expandToRgb, geometryPlanFromConfig, shortestEdgeSize, toPixels, toRgb } from './preprocess.ts';

const CLIP = { do_resize: true, size: { shortest_edge: 224 }, do_center_crop: true, crop_size: { height: 224, width: 224 }, resample: 3 };

describe('CLIP geometry', () => {
  it('reads both the old integer and the dict forms of a preprocessor config', () => {
    expect(geometryPlanFromConfig(CLIP)).toEqual({ resize: { kind: 'shortest-edge', shortestEdge: 224 }, crop: { width: 224, height: 224 }, resample: 3 });
    expect(geometryPlanFromConfig({ size: 224, crop_size: 224, do_center_crop: true, resample: 3 })).toEqual(geometryPlanFromConfig(CLIP));
    expect(() => geometryPlanFromConfig({ size: { longest_edge: 5 } })).toThrow(/unsupported size/);
  });

  it('sizes the shortest edge as Hugging Face Python does (truncating the long edge)', () => {
    expect(shortestEdgeSize(640, 480, 224)).toEqual({ width: 298, height: 224 });
    expect(shortestEdgeSize(3, 500, 224)).toEqual({ width: 224, height: 37333 });
    expect(shortestEdgeSize(1, 1, 224)).toEqual({ width: 224, height: 224 });
  });

  it('brings any image, tiny or thin, to 224x224', () => {
    const plan = geometryPlanFromConfig(CLIP);
    for (const [w, h] of [[1, 1], [3, 500], [500, 3], [224, 224], [1000, 700]] as const) {
      const out = applyGeometry({ width: w, height: h, data: new Uint8Array(w * h * 3).fill(90) }, plan);
      expect([out.width, out.height]).toEqual([224, 224]);
      expect(new Set(out.data)).toEqual(new Set([90]));
    }
  });

  it('converts grey, grey+alpha and RGBA to RGB, compositing transparency over black', () => {
    expect(Array.from(toRgb({ width: 1, height: 1, channels: 1, data: Uint8Array.of(7) }).data)).toEqual([7, 7, 7]);
    expect(Array.from(toRgb({ width: 1, height: 1, channels: 2, data: Uint8Array.of(200, 51) }).data)).toEqual([40, 40, 40]);
    expect(Array.from(toRgb({ width: 2, height: 1, channels: 4, data: Uint8Array.of(10, 20, 30, 255, 255, 255, 255, 0) }).data)).toEqual([10, 20, 30, 0, 0, 0]);
    expect(() => toRgb({ width: 2, height: 2, channels: 3, data: new Uint8Array(5) })).toThrow(/expected 12/);
  });

  it('resizes grey images as one plane, with exactly the pixels of three equal planes', () => {
    const plan = geometryPlanFromConfig(CLIP);
    const rng = new SeededRandom(12);
    const w = 300, h = 257;
    const grey = Uint8Array.from({ length: w * h }, () => rng.nextInt(256));
    const rgb = Uint8Array.from({ length: w * h * 3 }, (_, i) => grey[Math.floor(i / 3)]!);
    const asPlane = toPixels({ width: w, height: h, channels: 3, data: rgb });
    expect(asPlane.channels).toBe(1);
    const fromPlane = expandToRgb(applyGeometry(asPlane, plan));
    const fromRgb = applyGeometry({ width: w, height: h, channels: 3 as const, data: rgb }, plan);
    expect(Array.from(fromPlane.data)).toEqual(Array.from(fromRgb.data));
    // One coloured pixel keeps the image RGB.
    rgb[5] = (rgb[5]! + 1) % 256;
    expect(toPixels({ width: w, height: h, channels: 3, data: rgb }).channels).toBe(3);
  });
});
