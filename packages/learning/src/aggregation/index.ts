export type { AggregationStrategy, ClientEvaluation, ClientUpdate, UpdateAccumulator } from './strategy.ts';
export { FedAvg } from './fedavg.ts';
export { validateStatesForAggregation, weightedAverageStates } from './weighted-average.ts';
export { WeightedStateSum } from './weighted-sum.ts';

import { FedAvg } from './fedavg.ts';
import type { AggregationStrategy } from './strategy.ts';

/** Strategies by name; changing strategy is one line. */
export const AGGREGATION_STRATEGIES = { fedavg: (): AggregationStrategy => new FedAvg() } as const;
export type AggregationStrategyName = keyof typeof AGGREGATION_STRATEGIES;
