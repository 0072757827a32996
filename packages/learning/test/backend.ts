/**
 * Test-only backend selection. The package never picks a tfjs backend; its tests must, to run at all.
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
// eslint-disable-next-line no-restricted-imports -- tests choose a backend; package code never does
import '@tensorflow/tfjs-backend-cpu';
// eslint-disable-next-line no-restricted-imports -- tests choose a backend; package code never does
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';

let wasmPathsSet = false;

export async function useBackend(name: 'cpu' | 'wasm'): Promise<void> {
  if (name === 'wasm' && !wasmPathsSet) {
    setWasmPaths(path.dirname(createRequire(import.meta.url).resolve('@tensorflow/tfjs-backend-wasm')) + path.sep);
    wasmPathsSet = true;
  }
  tf.env().set('PROD', true);
  if (!(await tf.setBackend(name))) throw new Error(`tfjs backend ${name} failed to start`);
  await tf.ready();
}
