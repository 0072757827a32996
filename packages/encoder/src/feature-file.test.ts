import { describe, expect, it } from 'vitest';
import { decodeFeatureFile, encodeFeatureFile } from './feature-file.ts';

const header = {
  model: { id: 'facmic-tiny-clip', hash: 'ab'.repeat(32), source: 'folder x', device: 'cpu' },
  dim: 3,
  count: 2,
  classNames: ['a', 'b'],
  items: [{ path: 'a/1.png', label: 0 }, { path: 'b/ü.png', label: 1 }],
  errors: [{ path: 'b/bad.png', message: 'corrupt' }],
  createdAt: '2024-06-06T00:00:00.000Z',
};

describe('features file', () => {
  it('round-trips the header and the float32 rows, data 4-byte aligned', () => {
    const features = Float32Array.of(0.5, -1, 3.25, 1e-7, 2, -0);
    const bytes = encodeFeatureFile(header, features);
    expect(String.fromCharCode(...bytes.subarray(0, 8))).toBe('FACMICFT');
    const length = new DataView(bytes.buffer).getUint32(8, true);
    expect((12 + length) % 4).toBe(0);
    const decoded = decodeFeatureFile(bytes);
    expect(decoded.header).toMatchObject({ format: 'facmic-features', version: 1, ...header });
    expect(Array.from(decoded.features)).toEqual(Array.from(features));
  });

  it('refuses inconsistent data and foreign files', () => {
    expect(() => encodeFeatureFile(header, new Float32Array(5))).toThrow(/6|2x3/);
    const bytes = encodeFeatureFile(header, new Float32Array(6));
    expect(() => decodeFeatureFile(bytes.subarray(0, bytes.length - 4))).toThrow(/expected 24/);
    expect(() => decodeFeatureFile(new TextEncoder().encode('hello world, not features'))).toThrow(/bad magic/);
  });
});
