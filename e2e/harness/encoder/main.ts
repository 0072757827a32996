/**
 * Browser harness for e2e/encoder.spec.ts: exposes the encoder package to the test page as `window.facmicHarness`.
 * Built with Vite's JS API by the test; served with the model folder and ONNX Runtime's files from 127.0.0.1.
 */
import { chooseEncoderDevice, createEncoder, createMemoryFeatureCache, detectCapabilities, type ClipDtype, type ClipTower, type EncoderDeviceRequest, type EncoderInfo } from '@facmic/encoder';
import * as ort from 'onnxruntime-web/webgpu';
import { ORT_WASM_FILE_NAMES } from '../../../packages/encoder/src/platform/ort-names.ts';

function jsHeap(): number {
  return (performance as { memory?: { usedJSHeapSize: number } }).memory?.usedJSHeapSize ?? 0;
}

export interface HarnessRun {
  readonly info: EncoderInfo;
  readonly dim: number;
  readonly features: number[];
  readonly indices: number[];
  readonly errors: { index: number; name: string; message: string }[];
  readonly textFeatures: number[];
  readonly cachedOnSecondPass: number;
  /** Features of the first image given as an ImageBitmap (decoded by the page) instead of a File. */
  readonly bitmapFeatures: number[];
  readonly timings: { decodeMs: number; preprocessMs: number; inferenceMs: number; totalMs: number };
}

export interface HarnessBench {
  readonly device: string;
  readonly dtype: string;
  readonly modelHash: string;
  readonly crossOriginIsolated: boolean;
  /** Row-major [images, dim]. */
  readonly features: number[];
  /** Peak `performance.memory.usedJSHeapSize` seen between batches (bytes; 0 where the browser has none). */
  readonly peakJsHeap: number;
  readonly images: number;
  readonly failed: number;
  readonly imagesPerSecond: number;
  readonly timings: { readMs: number; decodeMs: number; preprocessMs: number; inferenceMs: number; totalMs: number };
}

export interface HarnessApi {
  capabilities(): Promise<{ caps: unknown; auto: string; reason: string }>;
  run(options: { device: EncoderDeviceRequest; model: string; images: string[]; prompts: string[] }): Promise<HarnessRun>;
  /** Encodes with the default (IndexedDB) feature cache and returns the cache counters. */
  encodeWithDefaultCache(options: { model: string; images: string[] }): Promise<{ hits: number; misses: number; encoded: number; cache: string }>;
  /** Encodes the images once, no feature cache, files fetched before the clock starts (bench.ts). */
  bench(options: { device: EncoderDeviceRequest; model: string; images: string[]; batchSize: number; dtype?: ClipDtype; towers?: ClipTower[] }): Promise<HarnessBench>;
  /**
   * GFLOP/s of ONNX Runtime Web's wasm backend (the build transformers.js loads) on one fp32 MatMul model [m,k]x[k,n]:
   * the ceiling of this browser's kernels on this CPU, for bench.ts to set beside onnxruntime-node's.
   */
  matmul(options: { model: string; m: number; k: number; n: number; threads: number; runs: number }): Promise<{ gflops: number; threads: number; crossOriginIsolated: boolean }>;
}

/** Fetches the images as Files (what a folder picker gives), a few at a time. */
async function fetchFiles(images: readonly string[]): Promise<{ name: string; source: File }[]> {
  const out: { name: string; source: File }[] = new Array<{ name: string; source: File }>(images.length);
  let next = 0;
  const worker = async () => {
    while (next < images.length) {
      const index = next++;
      const url = images[index] ?? '';
      const response = await fetch(url);
      if (!response.ok) throw new Error(`GET ${url}: HTTP ${response.status}`);
      const name = decodeURIComponent(url.slice(url.lastIndexOf('/') + 1));
      out[index] = { name, source: new File([await response.blob()], name) };
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
  return out;
}

const api: HarnessApi = {
  async capabilities() {
    const caps = await detectCapabilities();
    const auto = chooseEncoderDevice(caps);
    return { caps, auto: auto.choice, reason: auto.reason };
  },
  async run({ device, model, images, prompts }) {
    const cache = createMemoryFeatureCache();
    const encoder = await createEncoder({ model, device, cache, wasmPaths: '/ort/' });
    try {
      // Images are fetched as Files, as a folder picker would give them.
      const files = await fetchFiles(images);
      const result = await encoder.encodeImages(files);
      const again = await encoder.encodeImages(files);
      const text = await encoder.encodeTexts(prompts);
      const first = files[0];
      const bitmap = first ? await createImageBitmap(first.source, { imageOrientation: 'from-image' }) : undefined;
      const fromBitmap = bitmap ? await encoder.encodeImages([bitmap]) : undefined;
      bitmap?.close();
      return {
        info: encoder.info,
        dim: result.dim,
        features: Array.from(result.features),
        indices: [...result.indices],
        errors: result.errors.map((e) => ({ ...e })),
        textFeatures: Array.from(text.features),
        cachedOnSecondPass: again.cached,
        bitmapFeatures: fromBitmap ? Array.from(fromBitmap.features) : [],
        timings: result.timings,
      };
    } finally {
      await encoder.dispose();
    }
  },
  async encodeWithDefaultCache({ model, images }) {
    const encoder = await createEncoder({ model, device: 'wasm', wasmPaths: '/ort/' });
    try {
      await encoder.encodeImages(await fetchFiles(images));
      const databases = await indexedDB.databases();
      return { ...encoder.cacheCounters(), cache: databases.map((d) => d.name).join(',') };
    } finally {
      await encoder.dispose();
    }
  },
  async bench({ device, model, images, batchSize, dtype, towers }) {
    const encoder = await createEncoder({ model, device, cache: false, wasmPaths: '/ort/', batchSize, ...(dtype ? { dtype } : {}), ...(towers ? { towers } : {}) });
    try {
      const files = await fetchFiles(images);
      let peakJsHeap = jsHeap();
      const result = await encoder.encodeImages(files, { onProgress: () => { peakJsHeap = Math.max(peakJsHeap, jsHeap()); } });
      const seconds = result.timings.totalMs / 1000;
      return {
        device: encoder.info.device,
        dtype: encoder.info.dtype,
        modelHash: encoder.info.modelHash,
        crossOriginIsolated: globalThis.crossOriginIsolated,
        features: Array.from(result.features),
        peakJsHeap,
        images: files.length,
        failed: result.errors.length,
        imagesPerSecond: files.length / seconds,
        timings: result.timings,
      };
    } finally {
      await encoder.dispose();
    }
  },
  async matmul({ model, m, k, n, threads, runs }) {
    ort.env.wasm.wasmPaths = { mjs: new URL(`/ort/${ORT_WASM_FILE_NAMES.mjs}`, location.href).href, wasm: new URL(`/ort/${ORT_WASM_FILE_NAMES.wasm}`, location.href).href };
    ort.env.wasm.numThreads = threads;
    ort.env.wasm.proxy = false;
    const bytes = new Uint8Array(await (await fetch(model)).arrayBuffer());
    const session = await ort.InferenceSession.create(bytes, { executionProviders: ['wasm'] });
    try {
      const x = new ort.Tensor('float32', new Float32Array(m * k).fill(0.5), [m, k]);
      await session.run({ x });
      const t = performance.now();
      for (let i = 0; i < runs; i++) await session.run({ x });
      const seconds = (performance.now() - t) / 1000;
      return { gflops: (2 * m * k * n * runs) / seconds / 1e9, threads: ort.env.wasm.numThreads, crossOriginIsolated: globalThis.crossOriginIsolated };
    } finally {
      await session.release();
    }
  },
};

declare global {
  interface Window {
    facmicHarness: HarnessApi;
  }
}

window.facmicHarness = api;
const status = document.getElementById('status');
if (status) status.textContent = 'ready';
