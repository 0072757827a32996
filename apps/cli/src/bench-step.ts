/**
 * npm run bench:step -- [--backend wasm|cpu|all] [--dim 512] [--batch 32] [--classes 4] [--steps 20] [--warmup 3]
 *   [--method facmic|fedclip]
 *
 * Wall time of one local training step (FACMIC: contrastive + LMMD against a reference batch, explicit backward,
 * Adam) on random features, median over `--steps` steps after `--warmup` steps. Default: wasm and cpu.
 *
 * npm run bench:step -- --round [--backend wasm] [--repeats 3] [--train 800] [--method facmic|fedclip]: wall time of one
 * whole local round as the sites run it (`trainLocal`, 199 steps of 32 from the endless streams, the reference stream
 * too), on `--train` random training rows and 512 reference rows; median over `--repeats` rounds after one warm-up step.
 *
 * npm run bench:step -- --aggregation N [--dim 512]: instead, wall time of one FedAvg of N facmic updates (plain
 * typed arrays, float64 accumulation, validation included; what the coordinator runs), median of 5.
 */
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import type { ClientUpdate } from '@facmic/learning';
import { AdamL2, DEFAULT_STEPS_PER_ROUND, FeatureAttention, FedAvg, SeededRandom, initialModuleState, isCounterEntry, localStep, trainLocal } from '@facmic/learning';
import { isNodeBackendName, useTfBackend, type NodeBackendName } from '@facmic/coordinator/tf-backend';

function positive(value: string | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 1) throw new Error(`--${name} must be a positive integer`);
  return parsed;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[middle] as number) : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

async function benchmark(backend: NodeBackendName, options: { dim: number; batch: number; classes: number; steps: number; warmup: number; lmmd: boolean; kind: 'facmic' | 'fedclip' }): Promise<{ backend: string; median: number; min: number; max: number }> {
  const active = await useTfBackend(backend);
  const { dim, batch, classes } = options;
  const random = new SeededRandom(1);
  const module = FeatureAttention.create(options.kind, dim, 1);
  const optimizer = new AdamL2();
  const text = tf.tensor2d(Float32Array.from({ length: classes * dim }, () => random.normal()), [classes, dim]);
  const times: number[] = [];
  for (let step = 0; step < options.warmup + options.steps; step++) {
    const source = tf.tensor2d(Float32Array.from({ length: batch * dim }, () => random.normal()), [batch, dim]);
    const reference = tf.tensor2d(Float32Array.from({ length: batch * dim }, () => random.normal()), [batch, dim]);
    const labels = Int32Array.from({ length: batch }, () => random.nextInt(classes));
    const started = performance.now();
    await localStep(module, optimizer, text, { source, labels, reference }, { lmmd: options.lmmd });
    const elapsed = performance.now() - started;
    if (step >= options.warmup) times.push(elapsed);
    source.dispose();
    reference.dispose();
  }
  text.dispose();
  optimizer.dispose();
  module.dispose();
  return { backend: active, median: median(times), min: Math.min(...times), max: Math.max(...times) };
}

async function benchmarkRound(backend: NodeBackendName, options: { dim: number; batch: number; classes: number; repeats: number; train: number; lmmd: boolean; kind: 'facmic' | 'fedclip' }): Promise<void> {
  const active = await useTfBackend(backend);
  const { dim, batch, classes } = options;
  const random = new SeededRandom(3);
  const matrix = (rows: number) => Float32Array.from({ length: rows * dim }, () => random.normal());
  const data = { dim, features: matrix(options.train), labels: Int32Array.from({ length: options.train }, () => random.nextInt(classes)) };
  const reference = { dim, features: matrix(512) };
  const text = { dim, features: matrix(classes) };
  const module = FeatureAttention.create(options.kind, dim, 1);
  const optimizer = new AdamL2();
  const run = (steps: number, seed: number) => trainLocal(module, data, { textFeatures: text, lmmd: options.lmmd, reference: options.lmmd ? reference : null, seed, batchSize: batch, steps, optimizer });
  await run(1, 0);
  const times: number[] = [];
  for (let repeat = 0; repeat < options.repeats; repeat++) {
    const started = performance.now();
    await run(DEFAULT_STEPS_PER_ROUND, repeat + 1);
    times.push(performance.now() - started);
  }
  optimizer.dispose();
  module.dispose();
  console.log(`${active.padEnd(5)} one round of ${DEFAULT_STEPS_PER_ROUND} steps: median ${(median(times) / 1000).toFixed(2)} s (min ${(Math.min(...times) / 1000).toFixed(2)}, max ${(Math.max(...times) / 1000).toFixed(2)}) over ${options.repeats} rounds; ${(median(times) / DEFAULT_STEPS_PER_ROUND).toFixed(1)} ms a step`);
}

function benchmarkAggregation(updates: number, dim: number): void {
  const base = initialModuleState('facmic', dim, 1);
  const random = new SeededRandom(2);
  const clients: ClientUpdate[] = Array.from({ length: updates }, () => {
    const state = Object.fromEntries(Object.entries(base).map(([name, tensor]) => [name, { shape: tensor.shape, data: tensor.data.map((v) => (isCounterEntry(name) ? v : v + 0.01 * (random.next() - 0.5))) }]));
    return { state, numSamples: 1 + random.nextInt(500) };
  });
  const strategy = new FedAvg();
  const times: number[] = [];
  for (let repeat = 0; repeat < 6; repeat++) {
    const started = performance.now();
    strategy.aggregateTrain(clients);
    if (repeat > 0) times.push(performance.now() - started);
  }
  const floats = Object.values(base).reduce((sum, tensor) => sum + tensor.data.length, 0);
  console.log(`FedAvg of ${updates} facmic updates (D=${dim}, ${floats} floats each): median ${median(times).toFixed(0)} ms (min ${Math.min(...times).toFixed(0)}, max ${Math.max(...times).toFixed(0)}) over 5 runs after 1 warm-up`);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      backend: { type: 'string', default: 'all' },
      dim: { type: 'string' },
      batch: { type: 'string' },
      classes: { type: 'string' },
      steps: { type: 'string' },
      warmup: { type: 'string' },
      method: { type: 'string', default: 'facmic' },
      aggregation: { type: 'string' },
      round: { type: 'boolean' },
      repeats: { type: 'string' },
      train: { type: 'string' },
    },
  });
  if (values.aggregation !== undefined) {
    benchmarkAggregation(positive(values.aggregation, 1, 'aggregation'), positive(values.dim, 512, 'dim'));
    return;
  }
  const backends: NodeBackendName[] = values.backend === 'all' ? ['wasm', 'cpu'] : isNodeBackendName(values.backend) ? [values.backend] : [];
  if (backends.length === 0) throw new Error('--backend must be wasm, cpu or all');
  if (values.method !== 'facmic' && values.method !== 'fedclip') throw new Error('--method must be facmic or fedclip');
  const options = {
    dim: positive(values.dim, 512, 'dim'),
    batch: positive(values.batch, 32, 'batch'),
    classes: positive(values.classes, 4, 'classes'),
    steps: positive(values.steps, 20, 'steps'),
    warmup: positive(values.warmup, 3, 'warmup'),
    lmmd: values.method === 'facmic',
    kind: values.method,
  } as const;
  if (values.round === true) {
    const round = { ...options, repeats: positive(values.repeats, 3, 'repeats'), train: positive(values.train, 800, 'train') };
    console.log(`one local round: ${options.kind}${options.lmmd ? ' + LMMD' : ''}, D=${options.dim}, ${DEFAULT_STEPS_PER_ROUND} steps of ${options.batch} over ${round.train} training rows (+ reference batches of ${options.batch} from 512 rows), C=${options.classes}`);
    for (const backend of values.backend === 'all' ? (['wasm'] as const) : backends) await benchmarkRound(backend, round);
    return;
  }
  console.log(`one local step: ${options.kind}${options.lmmd ? ' + LMMD' : ''}, D=${options.dim}, batch ${options.batch} (+ reference batch ${options.batch}), C=${options.classes}; median of ${options.steps} after ${options.warmup} warm-up`);
  for (const backend of backends) {
    const result = await benchmark(backend, options);
    console.log(`${result.backend.padEnd(5)} median ${result.median.toFixed(1)} ms  (min ${result.min.toFixed(1)}, max ${result.max.toFixed(1)})`);
  }
}

await main();
