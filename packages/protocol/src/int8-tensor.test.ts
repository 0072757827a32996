import { describe, expect, it } from 'vitest';
import { crc32 } from './crc32.ts';
import { INT8_LEVELS } from './int8-tensor.ts';
import { decodeTensors, encodeTensors, TensorEncodingError, type TensorBase, type TensorEncodingErrorCode, type TensorSet } from './tensor-encoding.ts';

function lcg(seed: number): () => number {
  let s = seed;
  return () => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return s / 2147483648;
  };
}

function states(dim: number): { base: TensorBase; local: TensorSet } {
  const rand = lcg(3);
  const t = (shape: number[], spread: number) => ({ shape, data: Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => (rand() - 0.5) * spread) });
  const base: TensorSet = { '0.weight': t([dim, dim], 1), '0.bias': t([dim], 1), '1.running_var': t([dim], 1), '1.num_batches_tracked': { shape: [], data: new Float32Array([7]) } };
  const local: TensorSet = {};
  for (const [name, tensor] of Object.entries(base)) {
    local[name] = { shape: tensor.shape, data: Float32Array.from(tensor.data, (v) => v + (name.endsWith('tracked') ? 3 : (rand() - 0.5) * 0.02)) };
  }
  return { base: { round: 4, tensors: base }, local };
}
const EXACT = ['1.running_var', '1.num_batches_tracked'];

function codeOf(fn: () => unknown): TensorEncodingErrorCode | 'none' {
  try {
    fn();
    return 'none';
  } catch (e) {
    if (e instanceof TensorEncodingError) return e.code;
    throw e;
  }
}

/** The file with its header JSON edited (data moved to the new alignment) and the checksum recomputed. */
function rewrite(bytes: Uint8Array, edit: (header: { baseRound?: unknown; tensors: Record<string, unknown>[] }) => void, patch?: (out: Uint8Array, dataStart: number) => void): Uint8Array {
  const length = new DataView(bytes.buffer, bytes.byteOffset).getUint32(8, true);
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(12, 12 + length))) as { tensors: Record<string, unknown>[] };
  edit(header);
  const json = new TextEncoder().encode(JSON.stringify(header));
  const data = bytes.subarray((12 + length + 3) & ~3, bytes.byteLength - 4);
  const start = (12 + json.length + 3) & ~3;
  const out = new Uint8Array(start + data.byteLength + 4);
  out.set(bytes.subarray(0, 12));
  const view = new DataView(out.buffer);
  view.setUint32(8, json.length, true);
  out.set(json, 12);
  out.set(data, start);
  patch?.(out, start);
  view.setUint32(out.byteLength - 4, crc32(out.subarray(0, out.byteLength - 4)), true);
  return out;
}

describe('int8 tensors (format version 2)', () => {
  it('round-trips within one scale step per value, keeps exact entries exact, and is about a quarter of float32', () => {
    const { base, local } = states(64);
    const { bytes } = encodeTensors(local, { dtype: 'int8', base, float32Names: EXACT, random: lcg(9) });
    expect(new DataView(bytes.buffer).getUint16(4, true)).toBe(2);
    const decoded = decodeTensors(bytes, { base });
    expect(decoded.dtypes).toMatchObject({ '0.weight': 'int8', '0.bias': 'int8', '1.running_var': 'float32' });
    for (const name of ['0.weight', '0.bias']) {
      const want = local[name]!.data;
      const ref = base.tensors[name]!.data;
      let largest = 0;
      for (let i = 0; i < want.length; i++) largest = Math.max(largest, Math.abs(want[i]! - ref[i]!));
      const step = largest / INT8_LEVELS;
      const got = decoded.tensors[name]!.data;
      for (let i = 0; i < want.length; i++) expect(Math.abs(got[i]! - want[i]!)).toBeLessThan(step * 1.0001 + 1e-7);
    }
    for (const name of EXACT) expect(decoded.tensors[name]!.data).toEqual(local[name]!.data);
    expect(bytes.byteLength / encodeTensors(local).bytes.byteLength).toBeLessThan(0.35);
  });

  it('rounds stochastically and without bias: a delta of 31.75 steps is 32 for u >= 0.25, 31 below, 31.75 on average', () => {
    // Deltas 1 and 0.25: scale = fround(1 / 127), and 0.25 / scale = 31.75 (to float precision).
    const base: TensorBase = { round: 0, tensors: { w: { shape: [2], data: new Float32Array([0, 0]) } } };
    const local: TensorSet = { w: { shape: [2], data: new Float32Array([1, 0.25]) } };
    const scale = Math.fround(1 / 127);
    const decodeWith = (u: number) => decodeTensors(encodeTensors(local, { dtype: 'int8', base, random: () => u }).bytes, { base }).tensors.w!.data;
    expect(decodeWith(0.2)[1]).toBeCloseTo(31 * scale, 7);
    expect(decodeWith(0.3)[1]).toBeCloseTo(32 * scale, 7);
    expect(decodeWith(0)[0]).toBeCloseTo(1, 6); // the largest delta is exactly 127 steps, whatever u
    // u evenly over [0, 1): exactly a quarter of the draws round down, so the mean is the delta.
    const draws = 1000;
    let sum = 0;
    for (let k = 0; k < draws; k++) sum += decodeWith((k + 0.5) / draws)[1]!;
    expect(sum / draws).toBeCloseTo(0.25, 6);
    // With a seeded uniform source: within 4 standard errors (sd of one draw: scale sqrt(0.75 * 0.25)).
    const rand = lcg(11);
    let seeded = 0;
    for (let k = 0; k < draws; k++) seeded += decodeWith(rand())[1]!;
    expect(Math.abs(seeded / draws - 0.25)).toBeLessThan((4 * scale * Math.sqrt(0.1875)) / Math.sqrt(draws));
  });

  it('writes a file without int8 tensors as version 1, which still decodes', () => {
    const { local } = states(4);
    const { bytes } = encodeTensors(local, { dtype: 'float16', float32Names: EXACT });
    expect(new DataView(bytes.buffer).getUint16(4, true)).toBe(1);
    expect(decodeTensors(bytes).tensors['1.num_batches_tracked']!.data[0]).toBe(10);
  });

  it('a tensor that did not change has scale 0 and decodes to the base', () => {
    const { base } = states(4);
    const decoded = decodeTensors(encodeTensors(base.tensors, { dtype: 'int8', base }).bytes, { base });
    expect(decoded.tensors['0.weight']!.data).toEqual(base.tensors['0.weight']!.data);
  });

  const { base, local } = states(4);
  const good = encodeTensors(local, { dtype: 'int8', base, float32Names: EXACT, random: lcg(5) }).bytes;
  const firstInt8 = (h: { tensors: Record<string, unknown>[] }) => h.tensors.find((e) => e.dtype === 'int8')!;
  it.each<[string, () => unknown, TensorEncodingErrorCode]>([
    ['no base given', () => decodeTensors(good), 'BAD_WEIGHTS'],
    ['a base of another round', () => decodeTensors(good, { base: { ...base, round: 5 } }), 'BAD_WEIGHTS'],
    ['a base without the tensor', () => decodeTensors(good, { base: { round: 4, tensors: { '0.bias': base.tensors['0.bias']! } } }), 'WEIGHTS_SHAPE_MISMATCH'],
    ['no baseRound in the header', () => decodeTensors(rewrite(good, (h) => { delete h.baseRound; }), { base }), 'BAD_WEIGHTS'],
    ['a fractional baseRound', () => decodeTensors(rewrite(good, (h) => { h.baseRound = 3.5; }), { base }), 'BAD_WEIGHTS'],
    ['no scale', () => decodeTensors(rewrite(good, (h) => { delete firstInt8(h).scale; }), { base }), 'BAD_WEIGHTS'],
    ['a negative scale', () => decodeTensors(rewrite(good, (h) => { firstInt8(h).scale = -0.5; }), { base }), 'BAD_WEIGHTS'],
    ['a scale as text', () => decodeTensors(rewrite(good, (h) => { firstInt8(h).scale = '0.1'; }), { base }), 'BAD_WEIGHTS'],
    ['a scale beyond float32', () => decodeTensors(rewrite(good, (h) => { firstInt8(h).scale = 1e300; }), { base }), 'BAD_WEIGHTS'],
    ['the code -128', () => decodeTensors(rewrite(good, () => undefined, (out, start) => { out[start] = 0x80; }), { base }), 'BAD_WEIGHTS'],
    ['int8 in a version 1 file', () => decodeTensors(rewrite(good, () => undefined, (out) => { out[4] = 1; }), { base }), 'BAD_WEIGHTS'],
    ['a version 3 file', () => decodeTensors(rewrite(good, () => undefined, (out) => { out[4] = 3; }), { base }), 'BAD_WEIGHTS'],
    ['one byte too few', () => decodeTensors(rewrite(good, (h) => { (firstInt8(h).shape as number[])[0]! += 1; }), { base }), 'BAD_WEIGHTS'],
    ['a delta that decodes beyond float32', () => decodeTensors(rewrite(good, (h) => { firstInt8(h).scale = Math.fround(2e36); }, (out, start) => { out[start] = 127; }), { base: { round: 4, tensors: { ...base.tensors, '0.bias': { shape: [4], data: new Float32Array(4).fill(3.4e38) } } } }), 'NON_FINITE_WEIGHTS'],
    ['encoding without a base', () => encodeTensors(local, { dtype: 'int8' }), 'BAD_WEIGHTS'],
    ['encoding a tensor the base lacks', () => encodeTensors({ ...local, extra: { shape: [1], data: new Float32Array(1) } }, { dtype: 'int8', base, float32Names: EXACT }), 'WEIGHTS_SHAPE_MISMATCH'],
  ])('refuses %s', (_, fn, code) => {
    expect(codeOf(fn)).toBe(code);
  });

  it('calls a lazy base only for a file with int8 tensors', () => {
    let calls = 0;
    const lazy = () => { calls++; return base; };
    decodeTensors(encodeTensors(local).bytes, { base: lazy });
    expect(calls).toBe(0);
    decodeTensors(good, { base: lazy });
    expect(calls).toBe(1);
  });
});
