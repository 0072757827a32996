/**
 * FedAvg (McMahan et al.), weighted by each client's number of training samples, over every float state entry (BatchNorm
 * running statistics included, as in the paper's `communication()`); `num_batches_tracked` is taken from the first
 * update. tfjs-free.
 */
import { AggregationError } from '../errors.ts';
import type { ModuleState } from '../module-spec.ts';
import type { AggregationStrategy, ClientEvaluation, ClientUpdate, UpdateAccumulator } from './strategy.ts';
import { weightedAverageStates } from './weighted-average.ts';
import { WeightedStateSum } from './weighted-sum.ts';

function checkCount(value: number, what: string, clientIndex: number): void {
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw new AggregationError('invalid-sample-count', `update ${clientIndex}: ${what} must be a positive integer, got ${String(value)}`, { clientIndex });
  }
}

export class FedAvg implements AggregationStrategy {
  readonly name = 'fedavg';

  aggregateTrain(updates: readonly ClientUpdate[]): ModuleState {
    if (updates.length === 0) throw new AggregationError('no-updates', 'nothing to aggregate: no client updates');
    updates.forEach((update, clientIndex) => { checkCount(update.numSamples, 'numSamples', clientIndex); });
    return weightedAverageStates(updates.map((update) => update.state), updates.map((update) => update.numSamples));
  }

  createAccumulator(): UpdateAccumulator {
    const sum = new WeightedStateSum();
    return {
      add(update) {
        checkCount(update.numSamples, 'numSamples', sum.size);
        sum.add(update.state, update.numSamples);
      },
      get size() {
        return sum.size;
      },
      result: () => sum.average(),
    };
  }

  aggregateEvaluate(results: readonly ClientEvaluation[]): Record<string, number> {
    const first = results[0];
    if (first === undefined) throw new AggregationError('no-updates', 'nothing to aggregate: no evaluation results');
    results.forEach((result, clientIndex) => { checkCount(result.numExamples, 'numExamples', clientIndex); });
    const names = Object.keys(first.metrics).filter((name) => results.every((result) => Object.hasOwn(result.metrics, name)));
    const total = results.reduce((sum, result) => sum + result.numExamples, 0);
    const aggregated: Record<string, number> = {};
    for (const name of names) {
      let sum = 0;
      for (const [clientIndex, result] of results.entries()) {
        const value = result.metrics[name] as number;
        if (!Number.isFinite(value)) throw new AggregationError('non-finite', `evaluation ${clientIndex}: metric "${name}" is not finite`, { clientIndex, entry: name });
        sum += value * result.numExamples;
      }
      aggregated[name] = sum / total;
    }
    return aggregated;
  }
}
