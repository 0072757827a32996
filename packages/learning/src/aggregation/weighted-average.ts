/**
 * Weighted average of module states with float64 accumulation. No tfjs: the coordinator averages up to thousands of
 * updates of D=512 (about 0.5 M floats each) with plain typed arrays.
 */
import { AggregationError } from '../errors.ts';
import type { ModuleState } from '../module-spec.ts';
import { shapeSize } from '../module-spec.ts';
import { isCounterEntry } from './strategy.ts';

function describeShape(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

function findNonFinite(data: Float32Array): number {
  for (let i = 0; i < data.length; i++) if (!Number.isFinite(data[i])) return i;
  return -1;
}

/**
 * Checks that every state has the same entry names and shapes as the first and that data lengths match the shapes.
 * With `checkValues`, also that every value is finite. Throws AggregationError with the offending client and entry.
 */
export function validateStatesForAggregation(states: readonly ModuleState[], checkValues = true): void {
  const first = states[0];
  if (first === undefined) throw new AggregationError('no-updates', 'nothing to aggregate: no client updates');
  const names = Object.keys(first).sort();
  for (const [clientIndex, state] of states.entries()) {
    const clientNames = Object.keys(state).sort();
    const missing = names.filter((name) => !(name in state));
    const extra = clientNames.filter((name) => !(name in first));
    if (missing.length > 0 || extra.length > 0) {
      throw new AggregationError(
        'name-mismatch',
        `update ${clientIndex} has different state entries than update 0` +
          (missing.length > 0 ? `; missing: ${missing.join(', ')}` : '') +
          (extra.length > 0 ? `; unexpected: ${extra.join(', ')}` : ''),
        { clientIndex, entry: missing[0] ?? extra[0] },
      );
    }
    for (const name of names) {
      const reference = first[name];
      const tensor = state[name];
      if (reference === undefined || tensor === undefined) continue;
      const sameShape = tensor.shape.length === reference.shape.length && tensor.shape.every((extent, i) => extent === reference.shape[i]);
      if (!sameShape) {
        throw new AggregationError('shape-mismatch', `update ${clientIndex}: entry "${name}" has shape ${describeShape(tensor.shape)}, update 0 has ${describeShape(reference.shape)}`, { clientIndex, entry: name });
      }
      if (!(tensor.data instanceof Float32Array) || tensor.data.length !== shapeSize(tensor.shape)) {
        throw new AggregationError('length-mismatch', `update ${clientIndex}: entry "${name}" must hold ${shapeSize(tensor.shape)} float32 values`, { clientIndex, entry: name });
      }
      if ((checkValues || isCounterEntry(name)) && findNonFinite(tensor.data) >= 0) {
        throw new AggregationError('non-finite', `update ${clientIndex}: entry "${name}" holds a non-finite value`, { clientIndex, entry: name });
      }
    }
  }
}

/**
 * sum_k (w_k / sum w) * state_k for every float entry, accumulated in float64 and rounded to float32 once. Counter
 * entries (`num_batches_tracked`) are not averaged: the first state's value is taken, as the paper's code does.
 * `weights` must be positive and finite (they need not sum to 1).
 */
export function weightedAverageStates(states: readonly ModuleState[], weights: readonly number[]): ModuleState {
  if (states.length === 0) throw new AggregationError('no-updates', 'nothing to aggregate: no client updates');
  if (weights.length !== states.length) {
    throw new AggregationError('invalid-weight', `got ${weights.length} weights for ${states.length} states`);
  }
  let total = 0;
  for (const [clientIndex, weight] of weights.entries()) {
    if (!Number.isFinite(weight) || weight <= 0) throw new AggregationError('invalid-weight', `update ${clientIndex}: weight must be positive and finite, got ${weight}`, { clientIndex });
    total += weight;
  }
  // Values are checked through the sums: with positive finite weights and float64 accumulation of float32 inputs, a sum
  // is non-finite exactly when some input value is (no overflow is possible), so one pass does both.
  validateStatesForAggregation(states, false);
  const first = states[0] as ModuleState;
  const normalised = weights.map((weight) => weight / total);
  const result: ModuleState = {};
  for (const [name, reference] of Object.entries(first)) {
    if (isCounterEntry(name)) {
      result[name] = { shape: [...reference.shape], data: reference.data.slice() };
      continue;
    }
    const length = reference.data.length;
    const sum = new Float64Array(length);
    for (let clientIndex = 0; clientIndex < states.length; clientIndex++) {
      const data = (states[clientIndex] as ModuleState)[name]?.data as Float32Array;
      const weight = normalised[clientIndex] as number;
      for (let i = 0; i < length; i++) sum[i] = (sum[i] as number) + weight * (data[i] as number);
    }
    const averaged = Float32Array.from(sum);
    if (findNonFinite(averaged) >= 0) {
      const clientIndex = states.findIndex((state) => findNonFinite((state[name] as ModuleState[string]).data) >= 0);
      throw new AggregationError('non-finite', `update ${clientIndex}: entry "${name}" holds a non-finite value`, { clientIndex, entry: name });
    }
    result[name] = { shape: [...reference.shape], data: averaged };
  }
  return result;
}
