import { defaultClientConditions, defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

/**
 * onnxruntime-web's export condition for a build that loads its wasm from `wasmPaths` (the coordinator's `/ort/`)
 * instead of bundling it: without it the bundle carries a 26 MB wasm file the pages never load.
 */
const ORT_EXTERNAL_WASM = 'onnxruntime-web-use-extern-wasm';

/** Builds the web app (`apps/web`) into `dist/web`, which the coordinator serves. */
export default defineConfig({
  root: 'apps/web',
  plugins: [react()],
  resolve: { conditions: [ORT_EXTERNAL_WASM, ...defaultClientConditions] },
  build: {
    outDir: '../../dist/web',
    emptyOutDir: true,
    // ONNX Runtime and transformers.js are large by nature (the worker loads them once); timing notes are noise here.
    chunkSizeWarningLimit: 4096,
    rolldownOptions: { checks: { bundlerTimings: false } },
  },
  worker: { format: 'es', rolldownOptions: { checks: { bundlerTimings: false } } },
});
