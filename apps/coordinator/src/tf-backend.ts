/**
 * The coordinator's tfjs backend (only apps choose one). The coordinator itself only predicts (global test set), for
 * which the plain-JavaScript CPU backend is enough; virtual hospitals train, and use WASM (SIMD, single thread),
 * whose .wasm files are read from the installed package: nothing is fetched.
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';

export type NodeTfBackend = 'cpu' | 'wasm';

let wasmPathsSet = false;
let ready: Promise<string> | null = null;

/** Makes `name` the active backend (once per process; later calls return the first choice). */
export function initTfBackend(name: NodeTfBackend): Promise<string> {
  ready ??= (async () => {
    if (name === 'wasm' && !wasmPathsSet) {
      const require = createRequire(import.meta.url);
      setWasmPaths(path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm')) + path.sep);
      wasmPathsSet = true;
    }
    tf.env().set('PROD', true);
    if (!(await tf.setBackend(name))) throw new Error(`tfjs backend "${name}" failed to initialise`);
    await tf.ready();
    return tf.getBackend();
  })();
  return ready;
}
