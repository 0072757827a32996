/**
 * `createEncoder`: the frozen CLIP of FACMIC, through transformers.js (`CLIPVisionModelWithProjection`,
 * `CLIPTextModelWithProjection`, `AutoProcessor`, `AutoTokenizer`), the same code in Node and in the browser.
 *
 * Images: bytes are read and hashed (SHA-256, the cache key together with the model hash), cached features are
 * served without decoding, the rest are decoded (platform), resized and centre-cropped to the processor's size here
 * (Pillow's algorithm, identical on both platforms), then the processor rescales and normalises and the vision model
 * runs, `batchSize` images at a time so memory stays bounded. An image that cannot be read or decoded lands in the
 * error list; the others go on.
 */
import { platform } from '#platform';
import { chooseEncoderDevice, detectCapabilities, recommendedThreads } from './device-policy.ts';
import { applyGeometry, expandToRgb, geometryPlanFromConfig, toPixels, type GeometryPlan } from './image/preprocess.ts';
import type { RgbImage } from './image/resample.ts';
import { towerHash } from './model/hash.ts';
import { CLIP_DTYPES, DEFAULT_MODEL_ID, modelFilesFor, parseModelSource, towerFile, towerIdentityFiles, type ClipDtype, type ClipTower } from './model/source.ts';
import type { TransformersEnvLike } from './platform/types.ts';
import { nextBatchSize } from './batch-size.ts';
import type * as TransformersModule from '@huggingface/transformers';
import type {
  CacheCounters,
  CreateEncoderOptions,
  EncodedImages,
  EncodedTexts,
  EncodeImagesOptions,
  EncodeProgress,
  Encoder,
  EncoderInfo,
  FeatureCache,
  ImageError,
  ImageSource,
  ModelSource,
  NamedImage,
  RgbaImage,
} from './types.ts';

export const DEFAULT_BATCH_SIZE = 8;

const CLIP_TOWERS: readonly ClipTower[] = ['vision', 'text'];
export const DEFAULT_WASM_PATHS = '/ort/';


/** The CLIP image processor inside the `AutoProcessor`: its config and its call (rescale, normalise, stack). */
interface ImageProcessorLike {
  readonly config: Record<string, unknown>;
  (images: unknown): Promise<{ pixel_values: TensorLike }>;
}

interface TensorLike {
  readonly dims: readonly number[];
  readonly data: unknown;
}

/** transformers.js keeps its settings in one global `env`: loads are serialised so each sees its own settings. */
let loadChain: Promise<unknown> = Promise.resolve();

function withLoadLock<T>(task: () => Promise<T>): Promise<T> {
  const run = loadChain.then(task, task);
  loadChain = run.catch(() => undefined);
  return run;
}

function isNamedImage(item: ImageSource | NamedImage): item is NamedImage {
  return typeof item === 'object' && 'source' in item && 'name' in item;
}

function isRgbaImage(source: ImageSource): source is RgbaImage {
  return typeof source === 'object' && 'width' in source && 'data' in source && !(source instanceof Uint8Array);
}

function isImageBitmap(source: ImageSource): source is ImageBitmap {
  return typeof ImageBitmap !== 'undefined' && source instanceof ImageBitmap;
}

function defaultName(source: ImageSource, index: number): string {
  if (typeof source === 'string') return source;
  if (typeof File !== 'undefined' && source instanceof File) return source.webkitRelativePath || source.name;
  return `#${index}`;
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function float32(tensor: TensorLike, what: string): Float32Array {
  if (!(tensor.data instanceof Float32Array)) throw new Error(`${what}: expected float32 output`);
  return tensor.data;
}

/** SHA-256 of RGBA pixels with their size, the cache key of images given as pixels. */
async function pixelKey(image: RgbaImage): Promise<string> {
  const header = new TextEncoder().encode(`rgba:${image.width}x${image.height}:`);
  const bytes = new Uint8Array(header.length + image.data.length);
  bytes.set(header, 0);
  bytes.set(image.data, header.length);
  return platform.sha256(bytes);
}

function projectionDimOf(config: unknown): number {
  const c = config as { projection_dim?: unknown; vision_config?: { projection_dim?: unknown } };
  const dim = c.projection_dim ?? c.vision_config?.projection_dim;
  if (typeof dim !== 'number' || !Number.isInteger(dim) || dim < 1) throw new Error('config.json has no projection_dim');
  return dim;
}

interface PendingImage {
  readonly index: number;
  readonly name: string;
  readonly source: ImageSource;
  bytes?: Uint8Array | undefined;
  key?: string;
}

/**
 * Creates an encoder: decides the device, fetches and hashes the model files of the requested towers (default both)
 * in the requested dtype (default fp32), loads them.
 */
export async function createEncoder(options: CreateEncoderOptions = {}): Promise<Encoder> {
  const caps = await detectCapabilities();
  const device = chooseEncoderDevice(caps, options.device ?? 'auto');
  const runtime = caps.runtime === 'node' ? 'node' : 'browser';
  const source: ModelSource =
    typeof options.model === 'string'
      ? parseModelSource(options.model, { runtime })
      : (options.model ?? { kind: 'hub', id: DEFAULT_MODEL_ID });
  const batchSize = options.batchSize ?? DEFAULT_BATCH_SIZE;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new Error(`batchSize must be a positive integer, got ${batchSize}`);

  const transformers: typeof TransformersModule = await import('@huggingface/transformers');
  const env = transformers.env as unknown as TransformersEnvLike;
  platform.configureOnnx(env, device.choice, { wasmPaths: options.wasmPaths ?? DEFAULT_WASM_PATHS, threads: recommendedThreads(caps) });

  const towers: readonly ClipTower[] = options.towers ?? ['vision', 'text'];
  if (towers.length === 0 || towers.some((t) => !(CLIP_TOWERS as readonly string[]).includes(t))) throw new Error(`towers must be vision and/or text, got ${towers.join(', ')}`);
  const dtype: ClipDtype = options.dtype ?? 'fp32';
  if (!CLIP_DTYPES.includes(dtype)) throw new Error(`dtype must be one of ${CLIP_DTYPES.join(', ')}, got ${dtype as string}`);
  const hasVision = towers.includes('vision');
  const hasText = towers.includes('text');
  const prepared = await platform.prepareModel(source, {
    files: modelFilesFor(towers, dtype),
    identityFiles: [...new Set(towers.flatMap((t) => towerIdentityFiles(t, dtype)))],
    ...(options.modelCacheDir !== undefined ? { modelCacheDir: options.modelCacheDir } : {}),
    ...(options.onLoadProgress ? { onProgress: options.onLoadProgress } : {}),
  });
  const modelOptions = { device: device.choice, dtype } as const;
  const loaded = await withLoadLock(async () => {
    try {
      prepared.applyEnv(env);
      const processor = hasVision ? await transformers.AutoImageProcessor.from_pretrained(prepared.pathOrId) : undefined;
      const tokenizer = hasText ? await transformers.AutoTokenizer.from_pretrained(prepared.pathOrId) : undefined;
      let vision: Awaited<ReturnType<typeof transformers.CLIPVisionModelWithProjection.from_pretrained>> | undefined;
      let text: Awaited<ReturnType<typeof transformers.CLIPTextModelWithProjection.from_pretrained>> | undefined;
      if (hasVision) {
        options.onLoadProgress?.({ file: towerFile('vision', dtype), loadedBytes: 0, totalBytes: 0, phase: 'session' });
        vision = await transformers.CLIPVisionModelWithProjection.from_pretrained(prepared.pathOrId, modelOptions);
      }
      if (hasText) {
        options.onLoadProgress?.({ file: towerFile('text', dtype), loadedBytes: 0, totalBytes: 0, phase: 'session' });
        text = await transformers.CLIPTextModelWithProjection.from_pretrained(prepared.pathOrId, modelOptions);
      }
      return { processor, tokenizer, vision, text };
    } finally {
      prepared.release();
    }
  });
  const { processor, tokenizer, vision, text } = loaded;
  const imageProcessor = processor as unknown as ImageProcessorLike | undefined;
  if (hasVision && !imageProcessor) throw new Error(`${prepared.description}: no image processor`);
  const plan: GeometryPlan | undefined = imageProcessor ? geometryPlanFromConfig(imageProcessor.config) : undefined;
  const inputSize = plan ? (plan.crop?.width ?? (plan.resize.kind === 'exact' ? plan.resize.width : 224)) : 224;
  const minShortEdge = plan?.resize.kind === 'shortest-edge' ? plan.resize.shortestEdge : inputSize;
  const projectionDim = projectionDimOf((vision ?? text)?.config);
  const visionHash = hasVision ? towerHash(prepared.fileHashes, 'vision', dtype) : undefined;
  const textHash = hasText ? towerHash(prepared.fileHashes, 'text', dtype) : undefined;

  const info: EncoderInfo = Object.freeze({
    modelId: prepared.modelId,
    source: prepared.description,
    modelHash: visionHash ?? textHash ?? '',
    ...(visionHash !== undefined ? { visionHash } : {}),
    ...(textHash !== undefined ? { textHash } : {}),
    dtype,
    towers: Object.freeze([...towers]),
    files: Object.freeze({ ...prepared.fileHashes }),
    projectionDim,
    imageSize: inputSize,
    device: device.choice,
    deviceReason: device.reason,
    deviceForced: device.forced,
    runtime: caps.runtime,
  });

  const ownsCache = options.cache === undefined;
  const cache: FeatureCache | undefined = options.cache === false ? undefined : (options.cache ?? (await platform.defaultFeatureCache()));
  const counters = { hits: 0, misses: 0, encoded: 0 };
  let disposed = false;

  const ensureOpen = () => {
    if (disposed) throw new Error('encoder was disposed');
  };

  async function runVision(images: readonly RgbImage[]): Promise<Float32Array> {
    if (!vision || !imageProcessor) throw new Error('this encoder was created without the vision tower');
    const raw = images.map((im) => new transformers.RawImage(new Uint8ClampedArray(im.data.buffer, im.data.byteOffset, im.data.length), im.width, im.height, 3));
    const { pixel_values } = await imageProcessor(raw);
    const output = (await vision({ pixel_values })) as { image_embeds?: TensorLike };
    if (!output.image_embeds) throw new Error('vision model returned no image_embeds');
    const data = float32(output.image_embeds, 'image_embeds');
    if (data.length !== images.length * projectionDim) throw new Error(`image_embeds has ${data.length} values, expected ${images.length}x${projectionDim}`);
    return data;
  }

  async function encodeImages(items: readonly (ImageSource | NamedImage)[], encodeOptions: EncodeImagesOptions = {}): Promise<EncodedImages> {
    ensureOpen();
    if (!plan) throw new Error('this encoder was created without the vision tower (towers: text)');
    const started = performance.now();
    const timings = { readMs: 0, decodeMs: 0, preprocessMs: 0, inferenceMs: 0 };
    const fixedSize = encodeOptions.batchSize;
    let size = fixedSize ?? 1;
    const rows: (Float32Array | undefined)[] = new Array<Float32Array | undefined>(items.length);
    const errors: ImageError[] = [];
    let cached = 0;
    let encoded = 0;
    let done = 0;
    const report = () => {
      if (!encodeOptions.onProgress) return;
      const elapsedMs = performance.now() - started;
      const imagesPerSecond = elapsedMs > 0 ? (done * 1000) / elapsedMs : 0;
      const progress: EncodeProgress = {
        done,
        total: items.length,
        cached,
        encoded,
        failed: errors.length,
        elapsedMs,
        imagesPerSecond,
        // From the images that went through the model (cache hits cost nothing), once a first batch is timed.
        etaMs: encoded > 0 ? ((items.length - done) * elapsedMs) / encoded : done === items.length ? 0 : Number.NaN,
      };
      encodeOptions.onProgress(progress);
    };
    const fail = (image: PendingImage, error: unknown) => {
      errors.push({ index: image.index, name: image.name, message: message(error) });
      done++;
    };

    for (let start = 0, next = size; start < items.length; start += size, size = next) {
      encodeOptions.signal?.throwIfAborted();
      ensureOpen();
      const batch: PendingImage[] = items.slice(start, start + size).map((item, offset) => {
        const index = start + offset;
        return isNamedImage(item) ? { index, name: item.name, source: item.source } : { index, name: defaultName(item, index), source: item };
      });

      // Read and hash: the cache key is (model hash, SHA-256 of the file's bytes).
      let t = performance.now();
      const readable: PendingImage[] = [];
      for (const image of batch) {
        try {
          image.bytes = await platform.readImageBytes(image.source);
          // Without a cache there is nothing to look up, so no key is computed.
          if (cache && image.bytes) {
            image.key = await platform.sha256(image.bytes);
          } else if (cache && isRgbaImage(image.source)) {
            image.key = await pixelKey(image.source);
          }
          readable.push(image);
        } catch (error) {
          fail(image, error);
        }
      }
      timings.readMs += performance.now() - t;

      const keys = readable.flatMap((image) => (image.key !== undefined ? [image.key] : []));
      const found = cache && keys.length > 0 ? await cache.getMany(info.modelHash, keys) : [];
      const hits = new Map<string, Float32Array>();
      keys.forEach((key, i) => {
        const hit = found[i];
        if (hit) hits.set(key, hit);
      });
      const misses: PendingImage[] = [];
      for (const image of readable) {
        const hit = image.key !== undefined ? hits.get(image.key) : undefined;
        if (hit && hit.length === projectionDim) {
          rows[image.index] = hit;
          counters.hits++;
          cached++;
          done++;
        } else {
          if (cache && image.key !== undefined) counters.misses++;
          misses.push(image);
        }
      }

      // Decode and preprocess the misses.
      const ready: { image: PendingImage; pixels: RgbImage }[] = [];
      for (const image of misses) {
        try {
          t = performance.now();
          const source = image.source;
          const decoded = image.bytes
            ? await platform.decodeImage(image.bytes, minShortEdge)
            : isImageBitmap(source)
              ? await platform.decodeImage(source, minShortEdge)
              : isRgbaImage(source)
                ? { width: source.width, height: source.height, channels: 4 as const, data: source.data }
                : undefined;
          if (!decoded) throw new Error('nothing to decode');
          image.bytes = undefined;
          const t2 = performance.now();
          timings.decodeMs += t2 - t;
          if (cache && isImageBitmap(source) && image.key === undefined) {
            image.key = await pixelKey({ width: decoded.width, height: decoded.height, data: decoded.data });
          }
          const pixels = expandToRgb(applyGeometry(toPixels(decoded), plan));
          timings.preprocessMs += performance.now() - t2;
          ready.push({ image, pixels });
        } catch (error) {
          fail(image, error);
        }
      }

      if (ready.length > 0) {
        t = performance.now();
        const features = await runVision(ready.map((r) => r.pixels));
        const runMs = performance.now() - t;
        timings.inferenceMs += runMs;
        if (fixedSize === undefined) next = nextBatchSize(runMs / ready.length, batchSize);
        const entries: { imageHash: string; features: Float32Array }[] = [];
        ready.forEach(({ image }, i) => {
          const row = features.slice(i * projectionDim, (i + 1) * projectionDim);
          rows[image.index] = row;
          if (image.key !== undefined) entries.push({ imageHash: image.key, features: row });
        });
        counters.encoded += ready.length;
        encoded += ready.length;
        done += ready.length;
        if (cache && entries.length > 0) await cache.putMany(info.modelHash, entries);
      }
      report();
    }

    const indices: number[] = [];
    const kept: Float32Array[] = [];
    rows.forEach((row, index) => {
      if (row) {
        indices.push(index);
        kept.push(row);
      }
    });
    const features = new Float32Array(indices.length * projectionDim);
    kept.forEach((row, i) => {
      features.set(row, i * projectionDim);
    });
    errors.sort((a, b) => a.index - b.index);
    return {
      dim: projectionDim,
      features,
      indices,
      errors,
      cached,
      encoded,
      timings: { ...timings, totalMs: performance.now() - started },
    };
  }

  async function encodeTexts(prompts: readonly string[]): Promise<EncodedTexts> {
    ensureOpen();
    if (!text || !tokenizer) throw new Error('this encoder was created without the text tower (towers: vision)');
    if (prompts.length === 0) return { dim: projectionDim, features: new Float32Array(0) };
    const inputs = tokenizer([...prompts], { padding: true, truncation: true }) as Record<string, unknown>;
    const output = (await text(inputs)) as { text_embeds?: TensorLike };
    if (!output.text_embeds) throw new Error('text model returned no text_embeds');
    const data = float32(output.text_embeds, 'text_embeds');
    if (data.length !== prompts.length * projectionDim) throw new Error(`text_embeds has ${data.length} values, expected ${prompts.length}x${projectionDim}`);
    return { dim: projectionDim, features: data.slice() };
  }

  return {
    info,
    encodeImages,
    encodeTexts,
    cacheCounters: (): CacheCounters => ({ ...counters }),
    async dispose() {
      if (disposed) return;
      disposed = true;
      await Promise.all([vision?.dispose(), text?.dispose()]);
      if (ownsCache) await cache?.close();
    },
  };
}
