/**
 * `npx tsx apps/coordinator/src/bench/offload-probe.ts`: where should an update's decode, check and accumulation run?
 * It measures, for D=512 float16 updates, the main thread's time per update
 * - inline: decode + check against the module (names, shapes, finite values) + add to the float64 running sum, as
 *   `submission-check.ts` and `round-ingest.ts` do on the main thread;
 * - offloaded to a `worker_threads` worker: what is left on the main thread (copying the update into the message,
 *   since a Socket.IO Buffer is a slice of a pooled buffer and cannot be transferred, and handling the answer), and
 *   the round trip until the worker's answer (what the ack would wait for).
 * It also reports the total CPU per update of both ways (on a 2-core machine the worker competes with the sites).
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { buildSync } from 'esbuild';
import { AGGREGATION_STRATEGIES, isCounterEntry, moduleTensorSpec } from '@facmic/learning/plain';
import { decodeTensors, encodeTensors, type TensorSet } from '@facmic/protocol';

const DIM = 512;
const UPDATES = 200;
const spec = moduleTensorSpec('facmic', DIM);
const counters = Object.keys(spec).filter(isCounterEntry);

function randomUpdate(seed: number): Uint8Array {
  let s = seed;
  const state: TensorSet = {};
  for (const [name, shape] of Object.entries(spec)) {
    const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
    if (isCounterEntry(name)) data.fill(3);
    else for (let i = 0; i < data.length; i++) data[i] = ((s = (Math.imul(s, 1664525) + 1013904223) | 0) / 2 ** 31) * 0.5;
    state[name] = { shape: [...shape], data };
  }
  return encodeTensors(state, { dtype: 'float16', float32Names: counters }).bytes;
}
const updates = Array.from({ length: 20 }, (_, k) => randomUpdate(k + 1));
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] as number;
const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

// ---- inline -----------------------------------------------------------------------------------------------------
const accumulator = AGGREGATION_STRATEGIES.fedavg().createAccumulator();
for (let k = 0; k < 20; k++) accumulator.add({ state: decodeTensors(updates[k % 20] as Uint8Array, { expected: spec, copy: false }).tensors, numSamples: 10 });
const inline: number[] = [];
const inlineCpu0 = cpuMs();
for (let k = 0; k < UPDATES; k++) {
  const t = performance.now();
  const decoded = decodeTensors(updates[k % 20] as Uint8Array, { expected: spec, copy: false });
  accumulator.add({ state: decoded.tensors, numSamples: 10 + k });
  inline.push(performance.now() - t);
}
const inlineCpu = (cpuMs() - inlineCpu0) / UPDATES;

// ---- worker -----------------------------------------------------------------------------------------------------
// The worker runs the same TypeScript, bundled once (workers do not inherit tsx's loader).
const workerFile = join(process.cwd(), 'node_modules', '.cache', 'facmic-load', 'offload-worker.mjs');
buildSync({ entryPoints: [fileURLToPath(new URL('./offload-worker.ts', import.meta.url))], bundle: true, platform: 'node', format: 'esm', target: 'node20', outfile: workerFile, logLevel: 'error' });
const worker = new Worker(workerFile);
const ask = (bytes: Uint8Array) =>
  new Promise<number>((resolve) => {
    const t = performance.now();
    worker.once('message', () => { resolve(performance.now() - t); });
    // A Socket.IO Buffer shares its ArrayBuffer with other data: the update is copied into the message.
    worker.postMessage(bytes.slice());
  });
for (let k = 0; k < 20; k++) await ask(updates[k] as Uint8Array);
const mainSide: number[] = [];
const roundTrip: number[] = [];
const workerCpu0 = cpuMs();
for (let k = 0; k < UPDATES; k++) {
  const bytes = updates[k % 20] as Uint8Array;
  const t = performance.now();
  const answered = ask(bytes);
  mainSide.push(performance.now() - t);
  roundTrip.push(await answered);
}
const workerCpu = (cpuMs() - workerCpu0) / UPDATES;
await worker.terminate();

const f = (v: number) => v.toFixed(2);
process.stdout.write(
  [
    `D=${DIM} float16 updates (${((updates[0] as Uint8Array).byteLength / 2 ** 20).toFixed(2)} MiB), ${UPDATES} each way`,
    `inline on the main thread (decode + check + accumulate): median ${f(median(inline))} ms, max ${f(Math.max(...inline))} ms; process CPU ${f(inlineCpu)} ms per update`,
    `worker_threads: main thread median ${f(median(mainSide))} ms (copy + post), round trip median ${f(median(roundTrip))} ms; process CPU ${f(workerCpu)} ms per update (both threads)`,
  ].join('\n') + '\n',
);
