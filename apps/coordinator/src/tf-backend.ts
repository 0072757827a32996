/**
 * The one tfjs backend set-up for Node (the coordinator, its virtual hospitals, the CLI, benchmarks): only apps
 * choose a backend. `@tensorflow/tfjs-node` cannot be installed here, so Node runs:
 *
 * - `wasm`: @tensorflow/tfjs-backend-wasm, its .wasm files read from the installed package's dist folder (a file
 *   path: nothing is fetched); SIMD, single thread. What virtual hospitals train with.
 * - `cpu`: @tensorflow/tfjs-backend-cpu (plain JavaScript; slower, the reference). Enough for the coordinator, which
 *   only predicts (the global test set).
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';

export type NodeBackendName = 'cpu' | 'wasm';
export const NODE_BACKENDS: readonly NodeBackendName[] = ['wasm', 'cpu'];

export function isNodeBackendName(value: unknown): value is NodeBackendName {
  return value === 'cpu' || value === 'wasm';
}

/** The folder holding tfjs-backend-wasm's .wasm files, with a trailing separator. */
export function wasmDistFolder(): string {
  const require = createRequire(import.meta.url);
  return path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm')) + path.sep;
}

let wasmPathsSet = false;

/** Makes `name` the active tfjs backend (switching from another one, as the CLI's parity replay does). */
export async function useTfBackend(name: NodeBackendName): Promise<string> {
  if (name === 'wasm' && !wasmPathsSet) {
    setWasmPaths(wasmDistFolder());
    wasmPathsSet = true;
  }
  // PROD silences tfjs's console advice to install tfjs-node (which cannot install here).
  tf.env().set('PROD', true);
  if (!(await tf.setBackend(name))) throw new Error(`tfjs backend "${name}" failed to initialise`);
  await tf.ready();
  return tf.getBackend();
}

let processBackend: Promise<string> | null = null;

/** The backend of a long-running process: the first choice wins, later calls return it (no switch under training). */
export function initTfBackend(name: NodeBackendName): Promise<string> {
  processBackend ??= useTfBackend(name);
  return processBackend;
}
