import { describe, expect, it } from 'vitest';
import { AggregationError } from '../errors.ts';
import type { ModuleState } from '../module-spec.ts';
import { initialModuleState } from '../module-spec.ts';
import { FedAvg } from './fedavg.ts';
import { weightedAverageStates } from './weighted-average.ts';

function state(values: Record<string, number[]>): ModuleState {
  return Object.fromEntries(Object.entries(values).map(([name, data]) => [name, { shape: name.endsWith('num_batches_tracked') ? [] : [data.length], data: Float32Array.from(data) }]));
}

function errorOf(run: () => unknown): AggregationError {
  try {
    run();
  } catch (error) {
    if (error instanceof AggregationError) return error;
    throw error;
  }
  throw new Error('expected an AggregationError');
}

describe('FedAvg', () => {
  const strategy = new FedAvg();

  it('averages every float entry weighted by sample count and keeps the first counter', () => {
    const a = state({ w: [1, 2], 'bn.running_var': [1, 1], 'bn.num_batches_tracked': [4] });
    const b = state({ w: [3, 6], 'bn.running_var': [3, 5], 'bn.num_batches_tracked': [9] });
    const result = strategy.aggregateTrain([{ state: a, numSamples: 1 }, { state: b, numSamples: 3 }]);
    expect([...result.w!.data]).toEqual([2.5, 5]);
    expect([...result['bn.running_var']!.data]).toEqual([2.5, 4]);
    expect([...result['bn.num_batches_tracked']!.data]).toEqual([4]);
    expect(result.w!.shape).toEqual([2]);
  });

  it('accumulates in float64 (a thousand updates keep float32 accuracy)', () => {
    const updates = Array.from({ length: 1000 }, (_, k) => ({ state: state({ w: [0.1 + k * 1e-4] }), numSamples: 1 + (k % 7) }));
    let numerator = 0;
    let denominator = 0;
    for (const update of updates) {
      numerator += update.numSamples * (update.state.w!.data[0] as number);
      denominator += update.numSamples;
    }
    expect(strategy.aggregateTrain(updates).w!.data[0]).toBe(Math.fround(numerator / denominator));
  });

  it('does not modify its inputs', () => {
    const a = initialModuleState('facmic', 4, 1);
    const b = initialModuleState('facmic', 4, 2);
    const before = JSON.stringify([a, b], (_, value: unknown) => (value instanceof Float32Array ? [...value] : value));
    strategy.aggregateTrain([{ state: a, numSamples: 2 }, { state: b, numSamples: 5 }]);
    expect(JSON.stringify([a, b], (_, value: unknown) => (value instanceof Float32Array ? [...value] : value))).toBe(before);
  });

  it('rejects bad input with a typed error naming the update and entry', () => {
    const good = state({ w: [1, 2] });
    expect(errorOf(() => strategy.aggregateTrain([])).code).toBe('no-updates');
    for (const numSamples of [0, -3, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      const error = errorOf(() => strategy.aggregateTrain([{ state: good, numSamples: 1 }, { state: good, numSamples }]));
      expect([error.code, error.clientIndex]).toEqual(['invalid-sample-count', 1]);
    }
    const renamed = errorOf(() => strategy.aggregateTrain([{ state: good, numSamples: 1 }, { state: state({ v: [1, 2] }), numSamples: 1 }]));
    expect([renamed.code, renamed.clientIndex]).toEqual(['name-mismatch', 1]);
    const reshaped = errorOf(() => strategy.aggregateTrain([{ state: good, numSamples: 1 }, { state: { w: { shape: [1, 2], data: Float32Array.of(1, 2) } }, numSamples: 1 }]));
    expect([reshaped.code, reshaped.entry]).toEqual(['shape-mismatch', 'w']);
    const short = errorOf(() => strategy.aggregateTrain([{ state: good, numSamples: 1 }, { state: { w: { shape: [2], data: Float32Array.of(1) } }, numSamples: 1 }]));
    expect(short.code).toBe('length-mismatch');
    const infinite = errorOf(() => strategy.aggregateTrain([{ state: good, numSamples: 1 }, { state: state({ w: [1, Number.POSITIVE_INFINITY] }), numSamples: 1 }]));
    expect([infinite.code, infinite.clientIndex, infinite.entry]).toEqual(['non-finite', 1, 'w']);
  });

  it('averages evaluation metrics weighted by example count', () => {
    const result = strategy.aggregateEvaluate([
      { numExamples: 10, metrics: { accuracy: 0.5, loss: 1 } },
      { numExamples: 30, metrics: { accuracy: 0.9 } },
    ]);
    expect(result).toEqual({ accuracy: (0.5 * 10 + 0.9 * 30) / 40 });
    expect(errorOf(() => strategy.aggregateEvaluate([{ numExamples: 0, metrics: {} }])).code).toBe('invalid-sample-count');
  });
});

describe('FedAvg accumulator (updates added as they arrive)', () => {
  const strategy = new FedAvg();
  const updates = Array.from({ length: 25 }, (_, k) => ({ state: initialModuleState('facmic', 4, k + 1), numSamples: 1 + ((k * 7) % 11) }));
  const bits = (state: ModuleState) => Object.fromEntries(Object.entries(state).map(([name, t]) => [name, [...new Uint32Array(t.data.buffer, t.data.byteOffset, t.data.length)]]));

  it('gives the same bits as aggregating the whole list at once, counters from the first update', () => {
    const accumulator = strategy.createAccumulator();
    for (const update of updates) accumulator.add(update);
    expect(accumulator.size).toBe(updates.length);
    expect(bits(accumulator.result())).toEqual(bits(strategy.aggregateTrain(updates)));
    const again = strategy.createAccumulator();
    for (const update of updates) again.add(update);
    expect(bits(again.result())).toEqual(bits(accumulator.result()));
  });

  it('refuses a bad update and keeps the aggregate as it was', () => {
    const accumulator = strategy.createAccumulator();
    accumulator.add(updates[0]!);
    accumulator.add(updates[1]!);
    const before = bits(accumulator.result());
    expect(errorOf(() => { accumulator.add({ state: state({ w: [1] }), numSamples: 1 }); }).code).toBe('name-mismatch');
    expect(errorOf(() => { accumulator.add({ state: updates[2]!.state, numSamples: 0 }); }).code).toBe('invalid-sample-count');
    expect(accumulator.size).toBe(2);
    expect(bits(accumulator.result())).toEqual(before);
    expect(errorOf(() => strategy.createAccumulator().result()).code).toBe('no-updates');
  });
});

describe('weightedAverageStates', () => {
  it('takes fractional weights (they need not sum to 1) and rejects non-positive ones', () => {
    const result = weightedAverageStates([state({ w: [0] }), state({ w: [4] })], [1, 3]);
    expect([...result.w!.data]).toEqual([3]);
    expect(errorOf(() => weightedAverageStates([state({ w: [0] })], [0])).code).toBe('invalid-weight');
    expect(errorOf(() => weightedAverageStates([state({ w: [0] })], [1, 2])).code).toBe('invalid-weight');
  });
});
