/**
 * The results folder: `experiment.json` (the settings every cell shares), `data/<partition>.bin` (the encoded
 * features, written once), `cells/<id>.json` (one finished run each, written atomically, so an interrupted grid
 * resumes where it stopped), the report files, and `report.json` (the cells the report was written from, so a
 * second run of a finished grid knows whether its report is current).
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { SimulationOptions, SimulationResult } from '../simulation/index.ts';
import type { ExperimentCell } from './grid.ts';
import { partitionKey } from './grid.ts';

export class ExperimentError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ExperimentError';
  }
}

/** What every cell of one results folder shares; a second run must agree on it. */
export interface ExperimentSettings {
  /** `synthetic (...)` or the data folder and encoder options. */
  readonly data: string;
  readonly rounds: number;
  readonly localSteps: number | null;
  readonly localEpochs: number | null;
  readonly learningRate: number;
  readonly globalSplit: boolean;
  readonly backend: string;
}

export interface ExperimentManifest {
  readonly format: 'facmic-experiment';
  readonly version: 1;
  readonly settings: ExperimentSettings;
  /** The encoder's model id for image data (null for synthetic features), for the report's header. */
  readonly modelId: string | null;
}

export interface CellRecord {
  readonly cell: ExperimentCell;
  readonly options: SimulationOptions;
  readonly result: SimulationResult;
}

function writeAtomically(file: string, text: string): void {
  const temporary = `${file}.${process.pid}.tmp`;
  writeFileSync(temporary, text);
  renameSync(temporary, file);
}

export class ResultsFolder {
  constructor(readonly dir: string) {}

  get manifestFile(): string {
    return path.join(this.dir, 'experiment.json');
  }

  cellFile(id: string): string {
    return path.join(this.dir, 'cells', `${id}.json`);
  }

  dataFile(partition: string): string {
    return path.join(this.dir, 'data', `${partitionKey(partition)}.bin`);
  }

  /** The stored manifest, or null for a new folder. */
  readManifest(): ExperimentManifest | null {
    if (!existsSync(this.manifestFile)) return null;
    const manifest = JSON.parse(readFileSync(this.manifestFile, 'utf8')) as Partial<Record<keyof ExperimentManifest, unknown>>;
    if (manifest.format !== 'facmic-experiment' || manifest.version !== 1) throw new ExperimentError(`${this.manifestFile} is not a facmic experiment manifest`);
    return manifest as ExperimentManifest;
  }

  /** Checks the folder holds this experiment's cells (or none), and records the settings. */
  open(settings: ExperimentSettings): ExperimentManifest | null {
    mkdirSync(path.join(this.dir, 'cells'), { recursive: true });
    mkdirSync(path.join(this.dir, 'data'), { recursive: true });
    const stored = this.readManifest();
    if (stored !== null) {
      const differences = (Object.keys(settings) as (keyof ExperimentSettings)[]).filter((key) => JSON.stringify(stored.settings[key]) !== JSON.stringify(settings[key]));
      if (differences.length > 0) {
        const detail = differences.map((key) => `${key}: ${JSON.stringify(stored.settings[key])} there, ${JSON.stringify(settings[key])} now`).join('; ');
        throw new ExperimentError(`${this.dir} holds an experiment with other settings (${detail}); choose another --out or remove it`);
      }
    }
    return stored;
  }

  writeManifest(manifest: ExperimentManifest): void {
    writeAtomically(this.manifestFile, `${JSON.stringify(manifest, null, 2)}\n`);
  }

  isFinished(id: string): boolean {
    return existsSync(this.cellFile(id));
  }

  writeCell(record: CellRecord): void {
    writeAtomically(this.cellFile(record.cell.id), `${JSON.stringify(record)}\n`);
  }

  readCell(id: string): CellRecord {
    return JSON.parse(readFileSync(this.cellFile(id), 'utf8')) as CellRecord;
  }

  get reportFile(): string {
    return path.join(this.dir, 'report.json');
  }

  /** The cells the report files were last written from (null when there is no report, or it predates this record). */
  reportCells(): string[] | null {
    if (!existsSync(this.reportFile)) return null;
    try {
      const report = JSON.parse(readFileSync(this.reportFile, 'utf8')) as { cells?: unknown };
      return Array.isArray(report.cells) && report.cells.every((id) => typeof id === 'string') ? report.cells : null;
    } catch {
      return null;
    }
  }

  /** Records which cells the report files hold (written after them). */
  writeReportCells(ids: readonly string[]): void {
    writeAtomically(this.reportFile, `${JSON.stringify({ cells: ids }, null, 2)}\n`);
  }

  writeReportFile(name: string, text: string): string {
    const file = path.join(this.dir, name);
    writeAtomically(file, text);
    return file;
  }
}
