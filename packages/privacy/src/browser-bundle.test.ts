/**
 * The package runs in the hospital page's Web Worker: it must bundle for the browser with nothing Node-only in it.
 * Builds it with the web app's bundler (Vite, browser target) and inspects the output.
 */
import { fileURLToPath } from 'node:url';
import { build, type Rolldown } from 'vite';
import { describe, expect, it } from 'vitest';

describe('browser bundle', () => {
  it('bundles for the browser without Node built-ins, Buffer or process', async () => {
    const output = (await build({
      configFile: false,
      logLevel: 'silent',
      build: {
        write: false,
        minify: false,
        target: 'es2022',
        lib: { entry: fileURLToPath(new URL('./index.ts', import.meta.url)), formats: ['es'], fileName: 'privacy' },
      },
    })) as Rolldown.RolldownOutput[] | Rolldown.RolldownOutput;
    const chunks = (Array.isArray(output) ? output : [output]).flatMap((result) => result.output).filter((item): item is Rolldown.OutputChunk => item.type === 'chunk');
    const code = chunks.map((chunk) => chunk.code).join('\n');
    expect(code).toContain('crypto.subtle');
    expect(code).toContain('AES-CTR');
    // A Node built-in would show as Vite's browser-external stub (or an import of node:*).
    expect(code).not.toMatch(/from ["']node:|require\(["']|__vite[-_]browser[-_]external/);
    expect(code).not.toMatch(/\bBuffer\.|\bprocess\./);
    expect(code).not.toMatch(/@tensorflow/);
  });
});
