import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

/** Builds the web app (`apps/web`) into `dist/web`, which the coordinator serves. */
export default defineConfig({
  root: 'apps/web',
  plugins: [react()],
  build: {
    outDir: '../../dist/web',
    emptyOutDir: true,
    // ONNX Runtime and transformers.js are large by nature (the worker loads them once); timing notes are noise here.
    chunkSizeWarningLimit: 4096,
    rolldownOptions: { checks: { bundlerTimings: false } },
  },
  worker: { format: 'es', rolldownOptions: { checks: { bundlerTimings: false } } },
});
