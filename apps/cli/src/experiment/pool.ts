/**
 * Runs grid cells in child processes, `jobs` at a time (each cell is single-threaded tfjs, so one per core helps).
 * A failed cell is reported and leaves no record; the others go on.
 */
import { fork } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { CellJob } from './cell-worker.ts';

const WORKER = fileURLToPath(new URL('./cell-worker.ts', import.meta.url));

/** The TypeScript loader for the children, resolved here so they do not depend on the working directory. */
function tsxLoader(): string {
  return pathToFileURL(createRequire(import.meta.url).resolve('tsx/esm')).href;
}

export interface CellOutcome {
  readonly job: CellJob;
  readonly ok: boolean;
  readonly wallMs: number;
  /** The child's error output when it failed. */
  readonly error: string;
}

function runOne(job: CellJob): Promise<CellOutcome> {
  const started = performance.now();
  return new Promise((resolve) => {
    const child = fork(WORKER, [JSON.stringify(job)], { execArgv: ['--import', tsxLoader()], stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
    let error = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      error = (error + chunk.toString('utf8')).slice(-4000);
    });
    child.on('error', (failure) => {
      error += failure.message;
    });
    child.on('close', (code, signal) => {
      const ok = code === 0;
      resolve({ job, ok, wallMs: performance.now() - started, error: ok ? '' : `${error.trim()}${signal === null ? '' : ` (signal ${signal})`}` || `exit code ${String(code)}` });
    });
  });
}

/** Runs every job, at most `concurrency` at once, calling `onDone` as each ends. */
export async function runCells(jobs: readonly CellJob[], concurrency: number, onDone: (outcome: CellOutcome) => void): Promise<CellOutcome[]> {
  const outcomes: CellOutcome[] = [];
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < jobs.length) {
      const job = jobs[next] as CellJob;
      next += 1;
      const outcome = await runOne(job);
      outcomes.push(outcome);
      onDone(outcome);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, jobs.length)) }, lane));
  return outcomes;
}
