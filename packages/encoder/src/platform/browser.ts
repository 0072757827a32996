/**
 * Browser side of the platform (window or worker): createImageBitmap + OffscreenCanvas decode images, SHA-256 comes
 * from `crypto.subtle` (or plain TypeScript outside secure contexts), model files are fetched by us first (with
 * progress), hashed, kept in Cache Storage `facmic-models` (in memory when Cache Storage is unavailable) and handed to
 * transformers.js through its custom-cache hook, so each file is downloaded once and the hash covers exactly the bytes
 * ONNX Runtime loads. ONNX Runtime's wasm files come from our own server (`wasmPaths`, default `/ort/`).
 */
import { openIndexedDbFeatureCache } from '../cache/indexeddb-cache.ts';
import { createMemoryFeatureCache } from '../cache/memory-cache.ts';
import { orientedSize, readImageHeader } from '../image/header.ts';
import { shortestEdgeSize } from '../image/preprocess.ts';
import type { DecodedPixels } from '../image/preprocess.ts';
import { downloadResumable, remoteSize } from '../model/resumable-download.ts';
import { describeModelSource, modelFileUrl, transformersRemote } from '../model/source.ts';
import type { FeatureCache, ImageSource, ModelLoadProgress, ModelSource } from '../types.ts';
import { digestSha256Hex } from '../util/sha256.ts';
import { ORT_WASM_FILE_NAMES } from './ort-names.ts';
import { HUGE_IMAGE_OVERSAMPLING, HUGE_IMAGE_PIXELS, type Platform, type PrepareModelOptions, type PreparedModel } from './types.ts';

const MODEL_CACHE_NAME = 'facmic-models';
const HASH_HEADER = 'x-facmic-sha256';

/** The same bytes as a view on a plain ArrayBuffer (what DOM APIs accept). */
function plainBytes(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  return bytes.buffer instanceof ArrayBuffer ? new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength) : new Uint8Array(bytes);
}

// `crypto.subtle` only exists in secure contexts (https, localhost); elsewhere the digest is plain TypeScript.
const digest = digestSha256Hex;

async function openModelCache(): Promise<Cache | undefined> {
  if (typeof caches === 'undefined') return undefined;
  try {
    return await caches.open(MODEL_CACHE_NAME);
  } catch {
    // Cache Storage can be visible yet refused (private windows, some iframes).
    return undefined;
  }
}

/**
 * The store transformers.js reads model files from (`env.customCache`): our prefetched files, by URL. Unknown keys
 * (ONNX Runtime's wasm, which transformers.js caches too) go to Cache Storage when it exists.
 */
function createModelStore(cache: Cache | undefined) {
  const memory = new Map<string, Uint8Array>();
  return {
    memory,
    async match(key: string): Promise<Response | undefined> {
      const bytes = memory.get(key);
      if (bytes) return new Response(plainBytes(bytes).slice(), { headers: { 'content-length': String(bytes.length) } });
      return (await cache?.match(key)) ?? undefined;
    },
    async put(key: string, response: Response): Promise<void> {
      if (cache) await cache.put(key, response);
    },
  };
}

async function cachedEntry(url: string, cache: Cache | undefined): Promise<{ hash: string; size: number } | undefined> {
  const cached = await cache?.match(url);
  const hash = cached?.headers.get(HASH_HEADER);
  if (!cached || !hash) return undefined;
  await cached.body?.cancel();
  return { hash, size: Number(cached.headers.get('content-length') ?? '0') };
}

async function prefetch(
  url: string,
  file: string,
  size: number | undefined,
  cache: Cache | undefined,
  store: ReturnType<typeof createModelStore>,
  onProgress: ((p: ModelLoadProgress) => void) | undefined,
): Promise<string> {
  const known = await cachedEntry(url, cache);
  if (known) {
    onProgress?.({ file, loadedBytes: known.size, totalBytes: known.size, phase: 'cached' });
    return known.hash;
  }
  // In ranges kept in Cache Storage as they arrive: a closed tab resumes where it stopped.
  const bytes = await downloadResumable({
    url,
    size,
    cache,
    fetch: (input, init) => fetch(input, init),
    onProgress: (loaded, total) => {
      onProgress?.({ file, loadedBytes: loaded, totalBytes: total, phase: 'download' });
    },
  });
  onProgress?.({ file, loadedBytes: bytes.length, totalBytes: bytes.length, phase: 'hash' });
  const hash = await digest(bytes);
  const headers = { 'content-length': String(bytes.length), [HASH_HEADER]: hash };
  let stored = false;
  if (cache) {
    try {
      await cache.put(url, new Response(plainBytes(bytes), { headers }));
      stored = true;
    } catch {
      // Quota exceeded: keep this session's copy in memory instead.
    }
  }
  if (!stored) store.memory.set(url, bytes);
  return hash;
}

function isRgbaImage(source: ImageSource): source is Extract<ImageSource, { width: number; data: unknown }> {
  return typeof source === 'object' && 'width' in source && 'data' in source && !(source instanceof Uint8Array);
}

export const platform: Platform = {
  name: 'browser',

  hardwareConcurrency: () => (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator?.hardwareConcurrency ?? 1,

  sha256: digest,

  async readImageBytes(source) {
    if (typeof source === 'string') {
      const response = await fetch(source);
      if (!response.ok) throw new Error(`GET ${source}: HTTP ${response.status}`);
      return new Uint8Array(await response.arrayBuffer());
    }
    if (source instanceof Uint8Array) return source;
    if (source instanceof ArrayBuffer) return new Uint8Array(source);
    if (source instanceof Blob) return new Uint8Array(await source.arrayBuffer());
    if (typeof ImageBitmap !== 'undefined' && source instanceof ImageBitmap) return undefined;
    if (isRgbaImage(source)) return undefined;
    throw new Error('unsupported image source (use a File/Blob, bytes, a URL, an ImageBitmap or RGBA pixels)');
  },

  async decodeImage(input, minShortEdge): Promise<DecodedPixels> {
    let bitmap: ImageBitmap;
    let owned = false;
    if (input instanceof Uint8Array) {
      if (input.length === 0) throw new Error('empty file (0 bytes)');
      const options: ImageBitmapOptions = { imageOrientation: 'from-image' };
      const header = readImageHeader(input);
      if (header && header.width * header.height > HUGE_IMAGE_PIXELS) {
        const shown = orientedSize(header);
        const target = shortestEdgeSize(shown.width, shown.height, minShortEdge * HUGE_IMAGE_OVERSAMPLING);
        options.resizeWidth = target.width;
        options.resizeHeight = target.height;
        options.resizeQuality = 'high';
      }
      try {
        bitmap = await createImageBitmap(new Blob([plainBytes(input)]), options);
      } catch (error) {
        throw new Error(`cannot decode image: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
      }
      owned = true;
    } else {
      bitmap = input;
    }
    try {
      const { width, height } = bitmap;
      const canvas = new OffscreenCanvas(width, height);
      const ctx = canvas.getContext('2d', { willReadFrequently: true });
      if (!ctx) throw new Error('no 2d context on OffscreenCanvas');
      // Transparent pixels over black, as toRgb does in Node.
      ctx.fillStyle = '#000';
      ctx.fillRect(0, 0, width, height);
      ctx.drawImage(bitmap, 0, 0);
      const data = ctx.getImageData(0, 0, width, height).data;
      return { width, height, channels: 4, data };
    } finally {
      if (owned) bitmap.close();
    }
  },

  async prepareModel(source: ModelSource, options: PrepareModelOptions): Promise<PreparedModel> {
    if (source.kind === 'folder') {
      throw new Error(`a browser cannot read the folder ${source.path}; serve it and use its URL (a mirror) instead`);
    }
    const cache = await openModelCache();
    const store = createModelStore(cache);
    const fileHashes: Record<string, string> = {};
    // The size first: what is already in Cache Storage, and what is still to download (HEAD requests).
    const sizes = new Map<string, number | undefined>();
    let cachedBytes = 0;
    let downloadBytes = 0;
    for (const file of options.files) {
      const url = modelFileUrl(source, file);
      const known = await cachedEntry(url, cache);
      if (known) {
        cachedBytes += known.size;
      } else {
        const size = await remoteSize(url, (input, init) => fetch(input, init));
        sizes.set(file, size);
        downloadBytes += size ?? 0;
      }
    }
    options.onProgress?.({ file: '', loadedBytes: cachedBytes, totalBytes: downloadBytes, phase: 'size' });
    for (const file of options.files) {
      const hash = await prefetch(modelFileUrl(source, file), file, sizes.get(file), cache, store, options.onProgress);
      if (options.identityFiles.includes(file)) fileHashes[file] = hash;
    }
    const remote = transformersRemote(source);
    return {
      pathOrId: source.id,
      modelId: source.id,
      description: describeModelSource(source),
      fileHashes,
      applyEnv(env) {
        env.allowLocalModels = false;
        env.allowRemoteModels = true;
        env.remoteHost = remote.remoteHost;
        env.remotePathTemplate = remote.remotePathTemplate;
        env.useBrowserCache = false;
        env.useCustomCache = true;
        env.customCache = store;
      },
      release() {
        store.memory.clear();
      },
    };
  },

  configureOnnx(env, _device, { wasmPaths, threads }) {
    const wasm = env.backends.onnx.wasm;
    if (!wasm) throw new Error('transformers.js exposes no ONNX Runtime wasm settings');
    const base = wasmPaths.endsWith('/') ? wasmPaths : `${wasmPaths}/`;
    const absolute = new URL(base, (globalThis as { location?: { href: string } }).location?.href).href;
    wasm.wasmPaths = { mjs: `${absolute}${ORT_WASM_FILE_NAMES.mjs}`, wasm: `${absolute}${ORT_WASM_FILE_NAMES.wasm}` };
    wasm.numThreads = threads;
    wasm.proxy = false;
    // transformers.js would otherwise re-import ONNX Runtime's loader from a blob: URL, which a Content-Security-Policy
    // of script-src 'self' refuses; the browser's HTTP cache keeps the files instead.
    env.useWasmCache = false;
  },

  async defaultFeatureCache(): Promise<FeatureCache> {
    if (typeof indexedDB === 'undefined') return createMemoryFeatureCache();
    try {
      return await openIndexedDbFeatureCache();
    } catch {
      return createMemoryFeatureCache();
    }
  },
};
