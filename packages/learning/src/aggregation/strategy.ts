/**
 * The aggregation strategy interface, after Flower's server strategies: the maths as pure functions of plain data that
 * validate client replies before combining them and throw on inconsistent ones. tfjs-free.
 */
import type { ModuleState } from '../module-spec.ts';

/** One client's reply to a training round. */
export interface ClientUpdate {
  readonly state: ModuleState;
  /** Number of local training samples: the FedAvg weight. A positive integer. */
  readonly numSamples: number;
  readonly clientId?: string;
}

/** One client's evaluation reply. */
export interface ClientEvaluation {
  /** Number of evaluated examples: the weight of this client's metrics. A positive integer. */
  readonly numExamples: number;
  readonly metrics: Readonly<Record<string, number>>;
  readonly clientId?: string;
}

export interface AggregationStrategy {
  readonly name: string;
  /** Combines the clients' module states into the next global state. Throws AggregationError on bad input. */
  aggregateTrain(updates: readonly ClientUpdate[]): ModuleState;
  /** Combines the clients' evaluation metrics (only the metric names every client reported). */
  aggregateEvaluate(results: readonly ClientEvaluation[]): Record<string, number>;
}

/** A state entry that counts rather than measures (BatchNorm's `num_batches_tracked`): never averaged. */
export function isCounterEntry(name: string): boolean {
  return name.endsWith('num_batches_tracked');
}
