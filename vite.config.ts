import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

/** Builds the web app (`apps/web`) into `dist/web`, which the coordinator serves. */
export default defineConfig({
  root: 'apps/web',
  plugins: [react()],
  build: { outDir: '../../dist/web', emptyOutDir: true },
  worker: { format: 'es' },
});
