/**
 * The ONNX Runtime Web build transformers.js uses for both `wasm` and `webgpu` (its default is the asyncify build);
 * servers host these two files at `/ort/` (see `ortWasmFiles()` in `@facmic/encoder/node`).
 */
export const ORT_WASM_FILE_NAMES = {
  mjs: 'ort-wasm-simd-threaded.asyncify.mjs',
  wasm: 'ort-wasm-simd-threaded.asyncify.wasm',
} as const;
