/**
 * ONNX Runtime Web's wasm/mjs files, for a server to host at `/ort/` so pages never fetch them from a CDN. The folder is
 * resolved from transformers.js's own location, so it is the onnxruntime-web build transformers.js imports.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { ORT_WASM_FILE_NAMES } from '../platform/ort-names.ts';

/** The build transformers.js loads for both its `wasm` and `webgpu` devices (it defaults to the asyncify build). */
export const ORT_WASM_FILES = [ORT_WASM_FILE_NAMES.mjs, ORT_WASM_FILE_NAMES.wasm] as const;

export interface OrtWasmFiles {
  /** Absolute folder holding the files. */
  readonly dir: string;
  /** onnxruntime-web version found there. */
  readonly version: string;
  /** The version transformers.js declares (they must match). */
  readonly expectedVersion: string;
  /** File names to serve (all of them are in `dir`). */
  readonly files: readonly string[];
}

export function ortWasmFiles(): OrtWasmFiles {
  const transformersEntry = createRequire(import.meta.url).resolve('@huggingface/transformers');
  const transformersDir = dirname(dirname(transformersEntry));
  const transformersPkg = JSON.parse(readFileSync(join(transformersDir, 'package.json'), 'utf8')) as {
    dependencies?: Record<string, string>;
  };
  const expectedVersion = transformersPkg.dependencies?.['onnxruntime-web'] ?? 'unknown';
  const require = createRequire(join(transformersDir, 'package.json'));
  const wasm = require.resolve(`onnxruntime-web/${ORT_WASM_FILES[1]}`);
  const dir = dirname(wasm);
  const ortPkg = JSON.parse(readFileSync(join(dir, '..', 'package.json'), 'utf8')) as { version: string };
  if (expectedVersion !== 'unknown' && !expectedVersion.includes(ortPkg.version) && expectedVersion !== ortPkg.version) {
    throw new Error(`onnxruntime-web ${ortPkg.version} at ${dir} is not the ${expectedVersion} transformers.js depends on; run npm install`);
  }
  return { dir, version: ortPkg.version, expectedVersion, files: [...ORT_WASM_FILES] };
}
