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

/**
 * One round's aggregate, fed one update at a time as updates arrive (a strategy whose maths is associative, such as
 * FedAvg, needs nothing else at the round's close). Feeding the same updates in the same order gives the same bits.
 */
export interface UpdateAccumulator {
  /** Adds one update; a refused one (AggregationError) leaves the aggregate as it was. */
  add(update: ClientUpdate): void;
  /** Number of updates added. */
  readonly size: number;
  /** The next global state from the updates added so far. Throws AggregationError (`no-updates`) when there are none. */
  result(): ModuleState;
}

export interface AggregationStrategy {
  readonly name: string;
  /** Combines the clients' module states into the next global state. Throws AggregationError on bad input. */
  aggregateTrain(updates: readonly ClientUpdate[]): ModuleState;
  /** An empty aggregate for one round, to which updates are added as they arrive (`aggregateTrain`, incrementally). */
  createAccumulator(): UpdateAccumulator;
  /** Combines the clients' evaluation metrics (only the metric names every client reported). */
  aggregateEvaluate(results: readonly ClientEvaluation[]): Record<string, number>;
}
