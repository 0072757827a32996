/**
 * The experiment grid: methods x seeds x batch sizes x partitions x LMMD weights, as cells with stable ids. λ is an
 * axis only for the methods with LMMD; the others run once per (seed, batch size, partition) with λ = 1.
 */
import type { MethodName } from '@facmic/learning/plain';
import { METHODS } from '@facmic/learning/plain';

export interface GridAxes {
  readonly methods: readonly MethodName[];
  readonly seeds: readonly number[];
  readonly batchSizes: readonly number[];
  /** Partition labels: `iid`, `dirichlet:0.5`, or the data's own sites (`sites`, `synthetic`). */
  readonly partitions: readonly string[];
  readonly lmmdWeights: readonly number[];
}

export interface ExperimentCell {
  /** Stable and file-safe: the cell's file name in the results folder. */
  readonly id: string;
  readonly method: MethodName;
  readonly seed: number;
  readonly batchSize: number;
  readonly partition: string;
  readonly lmmdWeight: number;
}

/** A file-safe form of a partition label (`dirichlet:0.5` -> `dirichlet-0.5`). */
export function partitionKey(partition: string): string {
  return partition.replace(/[^A-Za-z0-9.]+/g, '-');
}

export function cellId(cell: Omit<ExperimentCell, 'id'>): string {
  return `${partitionKey(cell.partition)}_${cell.method}_b${cell.batchSize}_l${cell.lmmdWeight}_s${cell.seed}`;
}

/** The series a cell belongs to in tables and plots: the method, with λ when it is not 1. */
export function seriesLabel(cell: Pick<ExperimentCell, 'method' | 'lmmdWeight'>): string {
  return cell.lmmdWeight === 1 ? cell.method : `${cell.method} λ=${cell.lmmdWeight}`;
}

export function buildGrid(axes: GridAxes): ExperimentCell[] {
  for (const [name, values] of Object.entries(axes)) {
    if ((values as readonly unknown[]).length === 0) throw new RangeError(`the grid needs at least one value of ${name}`);
  }
  const cells: ExperimentCell[] = [];
  const seen = new Set<string>();
  for (const partition of axes.partitions) {
    for (const method of axes.methods) {
      const weights = METHODS[method].lmmd ? axes.lmmdWeights : [1];
      for (const batchSize of axes.batchSizes) {
        for (const lmmdWeight of weights) {
          for (const seed of axes.seeds) {
            const cell = { method, seed, batchSize, partition, lmmdWeight };
            const id = cellId(cell);
            if (seen.has(id)) continue;
            seen.add(id);
            cells.push({ id, ...cell });
          }
        }
      }
    }
  }
  return cells;
}
