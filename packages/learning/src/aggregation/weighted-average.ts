/**
 * Weighted average of module states with float64 accumulation. No tfjs: the coordinator averages up to thousands of
 * updates of D=512 (about 0.5 M floats each) with plain typed arrays.
 */
import { AggregationError } from '../errors.ts';
import { findNonFinite, type ModuleState } from '../module-spec.ts';
import { checkStateAgainst } from './state-checks.ts';
import { WeightedStateSum } from './weighted-sum.ts';

/**
 * Checks that every state has the same entry names and shapes as the first and that data lengths match the shapes.
 * With `checkValues`, also that every value is finite. Throws AggregationError with the offending client and entry.
 */
export function validateStatesForAggregation(states: readonly ModuleState[], checkValues = true): void {
  const first = states[0];
  if (first === undefined) throw new AggregationError('no-updates', 'nothing to aggregate: no client updates');
  for (const [clientIndex, state] of states.entries()) checkStateAgainst(first, state, clientIndex, checkValues);
}

/**
 * sum_k w_k state_k / sum_k w_k for every float entry, accumulated in float64 and rounded to float32 once (a
 * {@link WeightedStateSum} over the list). Counter entries (`num_batches_tracked`) are not averaged: the first state's
 * value is taken, as the paper's code does. `weights` must be positive and finite (they need not sum to 1).
 */
export function weightedAverageStates(states: readonly ModuleState[], weights: readonly number[]): ModuleState {
  if (states.length === 0) throw new AggregationError('no-updates', 'nothing to aggregate: no client updates');
  if (weights.length !== states.length) {
    throw new AggregationError('invalid-weight', `got ${weights.length} weights for ${states.length} states`);
  }
  for (const [clientIndex, weight] of weights.entries()) {
    if (!Number.isFinite(weight) || weight <= 0) throw new AggregationError('invalid-weight', `update ${clientIndex}: weight must be positive and finite, got ${weight}`, { clientIndex });
  }
  // Values are checked through the sums: with positive finite weights and float64 accumulation of float32 inputs, a sum
  // is non-finite exactly when some input value is (no overflow is possible), so one pass does both.
  validateStatesForAggregation(states, false);
  const sum = new WeightedStateSum();
  states.forEach((state, clientIndex) => { sum.add(state, weights[clientIndex] as number); });
  try {
    return sum.average();
  } catch (error) {
    if (!(error instanceof AggregationError) || error.code !== 'non-finite' || error.entry === undefined) throw error;
    const entry = error.entry;
    const clientIndex = states.findIndex((state) => findNonFinite((state[entry] as ModuleState[string]).data) >= 0);
    throw new AggregationError('non-finite', `update ${clientIndex}: entry "${entry}" holds a non-finite value`, { clientIndex, entry });
  }
}
