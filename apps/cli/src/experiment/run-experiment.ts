/**
 * One experiment: the grid's cells over the same encoded features, run in child processes `jobs` at a time,
 * resumable (a cell with a record in the results folder is never run again), then the report (tables and plots) from
 * every finished cell of the grid.
 */
import { existsSync } from 'node:fs';
import { TINY_CLIP_ID } from '@facmic/encoder';
import type { SimulationData, SimulationOptions } from '../simulation/index.ts';
import { readSimulationData, writeSimulationData } from './data-file.ts';
import type { ExperimentCell, GridAxes } from './grid.ts';
import { buildGrid, partitionKey } from './grid.ts';
import type { CellJob } from './cell-worker.ts';
import type { CellOutcome } from './pool.ts';
import { runCells } from './pool.ts';
import { experimentPlots } from './plots.ts';
import type { ExperimentManifest, ExperimentSettings } from './store.ts';
import { ExperimentError, ResultsFolder } from './store.ts';
import { summarize } from './summary.ts';
import { roundsCsv, runsCsv, summaryCsv, summaryMarkdown } from './tables.ts';

export interface ExperimentConfig {
  readonly out: string;
  readonly axes: GridAxes;
  readonly settings: ExperimentSettings;
  readonly jobs: number;
}

export interface LoadedData {
  readonly data: SimulationData;
  /** The encoder's model id; null for synthetic features. */
  readonly modelId: string | null;
}

export interface ExperimentIo {
  /** The features of one partition, encoded through the feature cache (called at most once per partition). */
  readonly loadData: (partition: string) => Promise<LoadedData>;
  readonly log: (line: string) => void;
}

export interface ExperimentOutcome {
  readonly cells: number;
  /** Cells run now, and cells found finished. */
  readonly ran: number;
  readonly skipped: number;
  readonly failed: readonly CellOutcome[];
  /** Report files written (none when there was nothing to do). */
  readonly written: readonly string[];
  readonly wallMs: number;
}

export function provenance(modelId: string | null): string {
  if (modelId === null) return 'Accuracies come from synthetic CLIP-like features (apps/cli/src/simulation/synthetic.ts), not from images.';
  if (modelId === TINY_CLIP_ID) return `Accuracies come from the tiny random CLIP (${TINY_CLIP_ID}, random weights): they test the pipeline, not the method.`;
  return `Features from the CLIP model ${modelId}.`;
}

function cellOptions(cell: ExperimentCell, settings: ExperimentSettings, sites: number): SimulationOptions {
  return {
    method: cell.method,
    rounds: settings.rounds,
    globalSite: sites - 1,
    globalSplit: settings.globalSplit,
    seed: cell.seed,
    batchSize: cell.batchSize,
    learningRate: settings.learningRate,
    lmmdWeight: cell.lmmdWeight,
    ...(settings.localSteps === null ? {} : { localSteps: settings.localSteps }),
    ...(settings.localEpochs === null ? {} : { localEpochs: settings.localEpochs }),
  };
}

async function writeReport(folder: ResultsFolder, cells: readonly ExperimentCell[], manifest: ExperimentManifest): Promise<string[]> {
  const records = cells.filter((cell) => folder.isFinished(cell.id)).map((cell) => folder.readCell(cell.id));
  if (records.length === 0) return [];
  const note = provenance(manifest.modelId);
  const s = manifest.settings;
  const settings = `Data: ${s.data}. ${s.rounds} rounds of ${s.localSteps ?? 'default'} local steps${s.localEpochs === null ? '' : ` / ${s.localEpochs} epochs`}, learning rate ${s.learningRate}, global site ${s.globalSplit ? 'split (reference: its train part)' : 'whole (reference stream and test set)'}, tfjs ${s.backend}. ${records.length} of ${cells.length} cells finished.`;
  const written = [
    folder.writeReportFile('runs.csv', runsCsv(records)),
    folder.writeReportFile('rounds.csv', roundsCsv(records)),
  ];
  const rows = summarize(records);
  written.push(folder.writeReportFile('summary.csv', summaryCsv(rows)), folder.writeReportFile('summary.md', summaryMarkdown(rows, { provenance: note, settings })));
  const partitions = [...new Set(records.map((record) => record.cell.partition))];
  for (const partition of partitions) {
    const suffix = partitions.length === 1 ? '' : `-${partitionKey(partition)}`;
    const shortNote = manifest.modelId === TINY_CLIP_ID ? 'tiny random CLIP: the accuracies test the pipeline only' : note;
    for (const plot of await experimentPlots(records.filter((record) => record.cell.partition === partition), `${shortNote}${partitions.length === 1 ? '' : ` (${partition})`}`, suffix)) {
      written.push(folder.writeReportFile(plot.name, plot.svg));
    }
  }
  folder.writeReportCells(records.map((record) => record.cell.id));
  return written;
}

function sameCells(a: readonly string[], b: readonly string[]): boolean {
  const set = new Set(a);
  return a.length === b.length && b.every((id) => set.has(id));
}

export async function runExperiment(config: ExperimentConfig, io: ExperimentIo): Promise<ExperimentOutcome> {
  const started = performance.now();
  const folder = new ResultsFolder(config.out);
  const cells = buildGrid(config.axes);
  let manifest = folder.open(config.settings);
  const pending = cells.filter((cell) => !folder.isFinished(cell.id));
  const skipped = cells.length - pending.length;
  if (pending.length === 0 && manifest !== null) {
    const reported = folder.reportCells();
    if (reported !== null && sameCells(reported, cells.map((cell) => cell.id))) {
      io.log(`all ${cells.length} cells are already finished in ${config.out}: nothing to do (remove a cell's file under cells/ to run it again)`);
      return { cells: cells.length, ran: 0, skipped, failed: [], written: [], wallMs: performance.now() - started };
    }
    // Finished cells of another grid in the same folder (a λ added, a method dropped): only the report is new.
    io.log(`all ${cells.length} cells are already finished in ${config.out}; no cell to run, the report is written for this grid (${reported === null ? (existsSync(`${config.out}/summary.md`) ? 'the report there did not record its cells' : 'there was none') : `the report there covered ${reported.length} other cells`})`);
    const written = await writeReport(folder, cells, manifest);
    return { cells: cells.length, ran: 0, skipped, failed: [], written, wallMs: performance.now() - started };
  }
  if (skipped > 0) io.log(`${skipped} of ${cells.length} cells already finished in ${config.out}; running the other ${pending.length}`);
  const jobs: CellJob[] = [];
  for (const partition of [...new Set(pending.map((cell) => cell.partition))]) {
    const dataFile = folder.dataFile(partition);
    let sites: number;
    if (existsSync(dataFile) && manifest !== null) {
      sites = readSimulationData(dataFile).sites.length;
    } else {
      const loaded = await io.loadData(partition);
      writeSimulationData(dataFile, loaded.data);
      sites = loaded.data.sites.length;
      if (manifest === null) {
        manifest = { format: 'facmic-experiment', version: 1, settings: config.settings, modelId: loaded.modelId };
        folder.writeManifest(manifest);
      }
    }
    for (const cell of pending.filter((c) => c.partition === partition)) {
      jobs.push({ dir: config.out, dataFile, backend: config.settings.backend, cell, options: cellOptions(cell, config.settings, sites) });
    }
  }
  if (manifest === null) throw new ExperimentError(`${config.out} has no manifest`);
  let done = 0;
  const outcomes = await runCells(jobs, config.jobs, (outcome) => {
    done += 1;
    const { cell } = outcome.job;
    const what = `${cell.method} batch ${cell.batchSize} λ ${cell.lmmdWeight} seed ${cell.seed} (${cell.partition})`;
    io.log(`[${done}/${jobs.length}] ${what}: ${outcome.ok ? 'done' : `FAILED: ${outcome.error}`} in ${(outcome.wallMs / 1000).toFixed(1)} s`);
  });
  const failed = outcomes.filter((outcome) => !outcome.ok);
  const written = await writeReport(folder, cells, manifest);
  return { cells: cells.length, ran: outcomes.length - failed.length, skipped, failed, written, wallMs: performance.now() - started };
}
