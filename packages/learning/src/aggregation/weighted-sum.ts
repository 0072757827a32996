/**
 * A running weighted sum of module states in float64: FedAvg is associative, so updates are added as they arrive and
 * the average is taken once, at the end (one division per value, one rounding to float32). The coordinator keeps one
 * per open round; `weightedAverageStates` is the same sum over a list. tfjs-free.
 *
 * Values must be finite: callers decode updates with `@facmic/protocol`'s `decodeTensors`, which refuses NaN and
 * Infinity, so `add` checks only names, shapes and lengths (and that counters are finite). A non-finite value that
 * slipped through is caught by `average()` rather than published.
 */
import { AggregationError } from '../errors.ts';
import { findNonFinite, isCounterEntry, type ModuleState } from '../module-spec.ts';
import { checkStateAgainst } from './state-checks.ts';

const EMPTY = new Float32Array(0);

export class WeightedStateSum {
  /** Entry names and shapes of the first state (data only for counters, which keep its values). */
  private reference: ModuleState | null = null;
  private readonly sums = new Map<string, Float64Array>();
  private weightSum = 0;
  private updates = 0;

  /** Number of states added. */
  get size(): number {
    return this.updates;
  }

  /** Sum of the weights added. */
  get totalWeight(): number {
    return this.weightSum;
  }

  /**
   * Adds `weight * state`. The first state fixes the entry names and shapes (and the counters' values); a later one
   * that differs is refused with an AggregationError, and the sum is left as it was.
   */
  add(state: ModuleState, weight: number): void {
    const index = this.updates;
    if (!Number.isFinite(weight) || weight <= 0) {
      throw new AggregationError('invalid-weight', `update ${index}: weight must be positive and finite, got ${weight}`, { clientIndex: index });
    }
    if (this.reference === null) {
      checkStateAgainst(state, state, index, false);
      const reference: ModuleState = {};
      for (const [name, tensor] of Object.entries(state)) {
        const counter = isCounterEntry(name);
        reference[name] = { shape: [...tensor.shape], data: counter ? tensor.data.slice() : EMPTY };
        if (!counter) this.sums.set(name, new Float64Array(tensor.data.length));
      }
      this.reference = reference;
    } else {
      checkStateAgainst(this.reference, state, index, false);
    }
    for (const [name, sum] of this.sums) {
      const data = (state[name] as ModuleState[string]).data;
      for (let i = 0; i < sum.length; i++) sum[i] = (sum[i] as number) + weight * (data[i] as number);
    }
    this.weightSum += weight;
    this.updates += 1;
  }

  /**
   * sum_k w_k state_k / sum_k w_k for every float entry, rounded to float32 once; counter entries keep the first
   * state's value, as the paper's code does. Throws `no-updates` when nothing was added, `non-finite` (naming the
   * entry) when a value was not finite.
   */
  average(): ModuleState {
    const reference = this.reference;
    if (reference === null) throw new AggregationError('no-updates', 'nothing to aggregate: no client updates');
    const total = this.weightSum;
    const result: ModuleState = {};
    for (const [name, tensor] of Object.entries(reference)) {
      const sum = this.sums.get(name);
      if (sum === undefined) {
        result[name] = { shape: [...tensor.shape], data: tensor.data.slice() };
        continue;
      }
      const averaged = new Float32Array(sum.length);
      for (let i = 0; i < sum.length; i++) averaged[i] = (sum[i] as number) / total;
      if (findNonFinite(averaged) >= 0) throw new AggregationError('non-finite', `entry "${name}" holds a non-finite value`, { entry: name });
      result[name] = { shape: [...tensor.shape], data: averaged };
    }
    return result;
  }
}
