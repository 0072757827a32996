/**
 * One grid cell in its own process (forked by pool.ts): reads the shared encoded features, runs the simulation and
 * writes the cell's record atomically. Argument: the job as JSON. It stops when the grid's process ends (its IPC
 * channel closes), so a stopped grid leaves no cell running.
 */
import { useTfBackend, isNodeBackendName } from '@facmic/coordinator/tf-backend';
import { runSimulation } from '../simulation/index.ts';
import type { SimulationOptions } from '../simulation/index.ts';
import { readSimulationData } from './data-file.ts';
import type { ExperimentCell } from './grid.ts';
import { ResultsFolder } from './store.ts';

export interface CellJob {
  readonly dir: string;
  readonly dataFile: string;
  readonly backend: string;
  readonly cell: ExperimentCell;
  readonly options: SimulationOptions;
}

async function main(): Promise<void> {
  const job = JSON.parse(process.argv[2] ?? '') as CellJob;
  if (!isNodeBackendName(job.backend)) throw new Error(`unknown backend ${job.backend}`);
  await useTfBackend(job.backend);
  const data = readSimulationData(job.dataFile);
  const result = await runSimulation(data, job.options);
  new ResultsFolder(job.dir).writeCell({ cell: job.cell, options: job.options, result });
}

// The grid's process went away (stopped, killed): this cell stops too, leaving no record, rather than run orphaned.
const orphaned = (): void => {
  process.stderr.write('the experiment process ended: cell stopped\n');
  process.exit(1);
};
process.on('disconnect', orphaned);

try {
  await main();
} catch (error) {
  process.stderr.write(`${error instanceof Error ? error.stack ?? error.message : String(error)}\n`);
  process.exitCode = 1;
} finally {
  // A 'disconnect' listener keeps the IPC channel, and so this process, alive.
  process.off('disconnect', orphaned);
}
