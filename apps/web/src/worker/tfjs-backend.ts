/**
 * The web app's choice of tfjs backend, made inside the ML worker. Packages never import a backend; this module loads
 * only the one the device policy picked, and falls back along the device policy's order (`TFJS_FALLBACK_ORDER`:
 * webgpu → wasm → webgl → cpu) when it fails to start, saying why.
 */
import { TFJS_FALLBACK_ORDER, type TfjsBackendName } from '@facmic/encoder';
import * as tf from '@tensorflow/tfjs-core';
import wasmPlainUrl from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm?url';
import wasmSimdUrl from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm?url';
import wasmThreadedSimdUrl from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm?url';

export interface TfjsBackendResult {
  readonly backend: TfjsBackendName;
  /** Why this backend runs, including any that failed before it. */
  readonly notes: readonly string[];
}

async function registerBackend(name: TfjsBackendName): Promise<void> {
  switch (name) {
    case 'webgpu':
      await import('@tensorflow/tfjs-backend-webgpu');
      return;
    case 'webgl':
      await import('@tensorflow/tfjs-backend-webgl');
      return;
    case 'wasm': {
      const wasm = await import('@tensorflow/tfjs-backend-wasm');
      // Single-threaded on purpose: the coordinator serves pages cross-origin isolated (so ONNX Runtime's wasm, which
      // encodes the images, uses threads), and tfjs's threaded wasm hangs under COOP/COEP in a worker; the
      // single-threaded SIMD build is fast enough for a 512x512 module.
      tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
      wasm.setWasmPaths({
        'tfjs-backend-wasm.wasm': wasmPlainUrl,
        'tfjs-backend-wasm-simd.wasm': wasmSimdUrl,
        'tfjs-backend-wasm-threaded-simd.wasm': wasmThreadedSimdUrl,
      });
      return;
    }
    case 'cpu':
      await import('@tensorflow/tfjs-backend-cpu');
      return;
  }
}

/**
 * Starts `preferred`, or the next backend in the fallback order that starts. Only webgpu is tried when a WebGPU adapter
 * was found by the device policy; the caller passes what it decided.
 */
export async function startTfjsBackend(preferred: TfjsBackendName): Promise<TfjsBackendResult> {
  const notes: string[] = [];
  const order = TFJS_FALLBACK_ORDER.slice(TFJS_FALLBACK_ORDER.indexOf(preferred));
  for (const name of order) {
    try {
      await registerBackend(name);
      const ok = await tf.setBackend(name);
      await tf.ready();
      if (ok && tf.getBackend() === name) return { backend: name, notes };
      notes.push(`${name} did not start`);
    } catch (error) {
      notes.push(`${name} failed: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  throw new Error(`no TensorFlow.js backend could start (${notes.join('; ')})`);
}
