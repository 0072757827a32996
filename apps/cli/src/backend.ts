/**
 * tfjs backend initialisation for Node (the CLI, and the coordinator if it wants it). Only apps choose a backend.
 *
 * - `wasm`: @tensorflow/tfjs-backend-wasm, its .wasm files loaded from the installed package's dist folder (a file
 *   path: nothing is fetched). Single-threaded SIMD in Node.
 * - `cpu`: @tensorflow/tfjs-backend-cpu (plain JavaScript; slower, used as the reference).
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

let wasmPathsSet = false;

/** The folder holding tfjs-backend-wasm's .wasm files, with a trailing separator. */
export function wasmDistFolder(): string {
  const require = createRequire(import.meta.url);
  return path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm')) + path.sep;
}

/**
 * Makes `name` the active tfjs backend and returns the name tfjs reports. Throws if the backend cannot start.
 */
export async function initNodeBackend(name: NodeBackendName): Promise<string> {
  if (name === 'wasm' && !wasmPathsSet) {
    setWasmPaths(wasmDistFolder());
    wasmPathsSet = true;
  }
  // PROD silences tfjs's console advice to install tfjs-node (which cannot install here).
  tf.env().set('PROD', true);
  const ok = await tf.setBackend(name);
  if (!ok) throw new Error(`tfjs backend "${name}" failed to initialise`);
  await tf.ready();
  return tf.getBackend();
}
