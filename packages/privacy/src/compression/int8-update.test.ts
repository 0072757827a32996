import { describe, expect, it } from 'vitest';
import type { ModuleState } from '@facmic/learning/plain';
import { SeededRandom, initialModuleState, moduleSpec } from '@facmic/learning/plain';
import { decodeInt8Update, encodeInt8Update, int8UpdateBytes } from './int8-update.ts';

function moved(base: ModuleState, scale: number, seed: number): ModuleState {
  const random = new SeededRandom(seed);
  const state: ModuleState = {};
  for (const [name, tensor] of Object.entries(base)) {
    state[name] = { shape: [...tensor.shape], data: name.endsWith('num_batches_tracked') ? Float32Array.of(tensor.data[0]! + 199) : tensor.data.map((value) => value + scale * random.normal()) };
  }
  return state;
}

const SPEC = moduleSpec('facmic', 32);

describe('8-bit update encoding', () => {
  const base = initialModuleState('facmic', 32, 1);
  const local = moved(base, 0.003, 2);

  it('errs by less than one step per value, keeps running statistics and counters exact, and takes about a quarter of the bytes', () => {
    const update = encodeInt8Update(SPEC, local, base, new SeededRandom(4));
    const decoded = decodeInt8Update(update, base);
    for (const [name, tensor] of Object.entries(local)) {
      const scale = update.tensors[name]?.scale ?? 0;
      for (let i = 0; i < tensor.data.length; i++) expect(Math.abs(decoded[name]!.data[i]! - tensor.data[i]!)).toBeLessThanOrEqual(scale * (1 + 1e-6) + 1e-7);
    }
    expect(Array.from(decoded['1.num_batches_tracked']!.data)).toEqual([199]);
    expect(Array.from(decoded['1.running_var']!.data)).toEqual(Array.from(local['1.running_var']!.data));
    expect(Object.keys(update.tensors).sort()).toEqual(SPEC.filter((entry) => entry.kind === 'parameter').map((entry) => entry.name).sort());
    const values = Object.values(local).reduce((sum, tensor) => sum + tensor.data.length, 0);
    // D = 32: 2,176 parameter values at 1 byte, 65 running statistics and counter values at 4.
    expect(int8UpdateBytes(update)).toBe(2176 + 6 * 4 + 65 * 4);
    expect(int8UpdateBytes(update)).toBeLessThan(values * 4 * 0.28);
  });

  it('is unbiased: the mean of many encodings converges to the delta', () => {
    const repeats = 2000;
    const name = '0.weight';
    const length = local[name]!.data.length;
    const sum = new Float64Array(length);
    const random = new SeededRandom(8);
    let scale = 0;
    for (let r = 0; r < repeats; r++) {
      const update = encodeInt8Update(SPEC, local, base, random);
      scale = update.tensors[name]!.scale;
      const values = update.tensors[name]!.values;
      for (let i = 0; i < length; i++) sum[i]! += values[i]! * scale;
    }
    // Each encoding errs with std <= scale / 2; the mean of 2000 within 5 standard errors of the true delta.
    let worst = 0;
    for (let i = 0; i < length; i++) worst = Math.max(worst, Math.abs(sum[i]! / repeats - (local[name]!.data[i]! - base[name]!.data[i]!)));
    expect(worst).toBeLessThan((5 * scale) / 2 / Math.sqrt(repeats) + 1e-9);
  });

  it('sends an unchanged tensor as zeros with scale 0, and refuses a base of another shape', () => {
    const update = encodeInt8Update(SPEC, base, base, new SeededRandom(1));
    expect(update.tensors['0.bias']!.scale).toBe(0);
    expect(Array.from(update.tensors['0.bias']!.values).every((value) => value === 0)).toBe(true);
    expect(() => encodeInt8Update(SPEC, local, initialModuleState('facmic', 16, 1))).toThrow(/another length/);
  });
});
