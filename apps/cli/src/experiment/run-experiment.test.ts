import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { generateSyntheticData } from '../simulation/index.ts';
import { readSimulationData, writeSimulationData } from './data-file.ts';
import type { ExperimentConfig } from './run-experiment.ts';
import { runExperiment } from './run-experiment.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'facmic-experiment-'));
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

const data = generateSyntheticData({ sites: 3, classes: 3, dim: 16, samplesPerSite: 40, seed: 2 });

function config(methods: ExperimentConfig['axes']['methods'], overrides: Partial<ExperimentConfig['settings']> = {}): ExperimentConfig {
  return {
    out: path.join(dir, 'grid'),
    jobs: 2,
    axes: { methods, seeds: [1], batchSizes: [8], partitions: ['synthetic'], lmmdWeights: [1] },
    settings: { data: 'synthetic test', rounds: 1, localSteps: 2, localEpochs: null, learningRate: 1e-3, globalSplit: false, backend: 'cpu', ...overrides },
  };
}

describe('runExperiment', () => {
  it('keeps simulation data intact on disk', () => {
    const file = path.join(dir, 'data.bin');
    writeSimulationData(file, data);
    expect(readSimulationData(file)).toEqual(data);
  });

  it('resumes: a finished cell is never run again, and a finished grid does no work', async () => {
    let loads = 0;
    const lines: string[] = [];
    const io = { loadData: () => { loads += 1; return Promise.resolve({ data, modelId: null }); }, log: (line: string) => { lines.push(line); } };
    const first = await runExperiment(config(['zeroshot', 'facmic']), io);
    expect(first).toMatchObject({ cells: 2, ran: 2, skipped: 0 });
    expect(first.failed).toEqual([]);
    const cellFile = path.join(dir, 'grid', 'cells', 'synthetic_facmic_b8_l1_s1.json');
    const written = statSync(cellFile).mtimeMs;
    // A bigger grid in the same folder runs only the new cell, on the features already on disk.
    const second = await runExperiment(config(['zeroshot', 'facmic', 'facmic-oracle']), io);
    expect(second).toMatchObject({ cells: 3, ran: 1, skipped: 2 });
    expect(statSync(cellFile).mtimeMs).toBe(written);
    expect(loads).toBe(1);
    const third = await runExperiment(config(['zeroshot', 'facmic', 'facmic-oracle']), io);
    expect(third).toMatchObject({ cells: 3, ran: 0, skipped: 3, written: [] });
    expect(lines.at(-1)).toMatch(/all 3 cells are already finished .*nothing to do/);
    const files = readdirSync(path.join(dir, 'grid'));
    for (const name of ['runs.csv', 'rounds.csv', 'summary.csv', 'summary.md', 'accuracy-curves.svg', 'accuracy-vs-batch-size.svg', 'pseudo-label-accuracy.svg']) expect(files).toContain(name);
    expect(readFileSync(path.join(dir, 'grid', 'runs.csv'), 'utf8').trim().split('\n')).toHaveLength(4);
    expect(readFileSync(path.join(dir, 'grid', 'accuracy-curves.svg'), 'utf8')).toMatch(/^<svg/);
    // A smaller grid over the same finished cells runs nothing, but its report covers only its own cells.
    const subset = await runExperiment(config(['facmic']), io);
    expect(subset).toMatchObject({ cells: 1, ran: 0, skipped: 1 });
    expect(subset.written.map((file) => path.basename(file))).toContain('summary.md');
    expect(lines.at(-1)).toMatch(/no cell to run, the report is written for this grid \(the report there covered 3 other cells\)/);
    expect(readFileSync(path.join(dir, 'grid', 'runs.csv'), 'utf8').trim().split('\n')).toHaveLength(2);
    expect(await runExperiment(config(['facmic']), io)).toMatchObject({ ran: 0, written: [] });
    expect(lines.at(-1)).toMatch(/all 1 cells are already finished .*nothing to do/);
    // Other settings in the same folder are refused rather than mixed in.
    await expect(runExperiment(config(['facmic'], { rounds: 2 }), io)).rejects.toThrow(/other settings \(rounds: 1 there, 2 now\)/);
  }, 120_000);
});
