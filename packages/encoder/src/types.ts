import type { ClipDtype, ClipTower } from './model/source.ts';
/**
 * Public types of the encoder package. Everything here is plain data, shared by Node and the browser.
 */

/** Where ONNX Runtime runs the frozen CLIP: WebGPU or WASM in a browser, CPU (onnxruntime-node) in Node. */
export type EncoderDevice = 'webgpu' | 'wasm' | 'cpu';

/** What a caller asks for: `auto` lets the device policy decide; a device name forces it. */
export type EncoderDeviceRequest = 'auto' | EncoderDevice;

/** The TensorFlow.js backends an app may register for the learning core. */
export type TfjsBackendName = 'webgpu' | 'webgl' | 'wasm' | 'cpu';

/** A decision of the device policy, with the reason shown to the user. */
export interface DeviceChoice<T extends string> {
  readonly choice: T;
  readonly reason: string;
  /** True when the caller forced this choice instead of letting the policy decide. */
  readonly forced: boolean;
}

/**
 * Where the CLIP model files come from.
 * - `hub`: a Hugging Face hub id, files at `<host>/<id>/resolve/<revision>/<file>`.
 * - `mirror`: a coordinator's model mirror, files at `<baseUrl><id>/<file>` (the layout `models:fetch` writes).
 * - `folder`: a local folder holding the files directly (Node only).
 */
export type ModelSource =
  | { readonly kind: 'hub'; readonly id: string; readonly host?: string; readonly revision?: string }
  | { readonly kind: 'mirror'; readonly baseUrl: string; readonly id: string }
  | { readonly kind: 'folder'; readonly path: string };

/** Progress while model files are fetched and hashed. */
export interface ModelLoadProgress {
  readonly file: string;
  readonly loadedBytes: number;
  /** Unknown (0) when the server sends no length. */
  readonly totalBytes: number;
  /**
   * `size` comes first, once, before anything is downloaded: `loadedBytes` already in the browser's Cache Storage,
   * `totalBytes` still to download (file is empty). Then per file `cached`, or `download` ... `hash`, and `session`.
   */
  readonly phase: 'size' | 'download' | 'cached' | 'hash' | 'session';
}

/** What a loaded encoder is, for display and for a federation to compare sites. */
export interface EncoderInfo {
  /** Model id (`Xenova/clip-vit-base-patch16`, `facmic-tiny-clip`, or a folder's name). */
  readonly modelId: string;
  /** Human-readable description of the source (URL or path). */
  readonly source: string;
  /**
   * The identity a federation compares: the vision tower's hash when it is loaded (`visionHash`), else the text
   * tower's. A tower's hash is SHA-256 (hex) over the UTF-8 text `config.json <sha256>\n<tower file> <sha256>\n`
   * (`towerHash`), the tower file being the one of the dtype (`onnx/vision_model_quantized.onnx` for q8). Same in
   * Node and browser. Feature caches are keyed by it.
   */
  readonly modelHash: string;
  readonly visionHash?: string;
  readonly textHash?: string;
  readonly dtype: ClipDtype;
  readonly towers: readonly ClipTower[];
  /** SHA-256 (hex) of each identity file, by path. */
  readonly files: Readonly<Record<string, string>>;
  /** Size of `image_embeds` / `text_embeds` (512 for CLIP ViT-B/16 and for the tiny fixture). */
  readonly projectionDim: number;
  /** Side of the square model input (224). */
  readonly imageSize: number;
  readonly device: EncoderDevice;
  readonly deviceReason: string;
  readonly deviceForced: boolean;
  readonly runtime: RuntimeKind;
}

export type RuntimeKind = 'node' | 'browser-window' | 'browser-worker';

/** An image as 8-bit RGBA pixels, row-major (what a canvas `ImageData` holds). */
export interface RgbaImage {
  readonly width: number;
  readonly height: number;
  readonly data: Uint8Array | Uint8ClampedArray;
}

/**
 * One image to encode. Node: a file path, a Buffer/Uint8Array or ArrayBuffer of encoded bytes, or RGBA pixels.
 * Browser: a File/Blob, an ImageBitmap, encoded bytes, or RGBA pixels.
 */
export type ImageSource = string | Uint8Array | ArrayBuffer | Blob | ImageBitmap | RgbaImage;

/** An image with the name used for it in error lists (defaults: the path, the File name, or `#<index>`). */
export interface NamedImage {
  readonly name: string;
  readonly source: ImageSource;
}

/** An image that could not be decoded; the others are encoded regardless. */
export interface ImageError {
  /** Position of the image in the input list. */
  readonly index: number;
  readonly name: string;
  readonly message: string;
}

export interface EncodeProgress {
  /** Images finished (encoded, served from the cache, or failed). */
  readonly done: number;
  readonly total: number;
  readonly cached: number;
  readonly encoded: number;
  readonly failed: number;
  readonly elapsedMs: number;
  /** Throughput so far, images per second (0 before the first image). */
  readonly imagesPerSecond: number;
  /** Estimated time to finish, milliseconds (NaN until it can be estimated). */
  readonly etaMs: number;
}

export interface EncodeImagesOptions {
  readonly onProgress?: (progress: EncodeProgress) => void;
  readonly signal?: AbortSignal;
  /**
   * Images per model run. Default: adaptive, about `TARGET_BATCH_MS` of work per run (the first run is one image),
   * at most the encoder's `batchSize`. Memory stays bounded by it; features are stored after each run.
   */
  readonly batchSize?: number;
}

/** Where the time of one `encodeImages` call went, milliseconds. */
export interface EncodeTimings {
  /** Reading bytes and SHA-256 for the cache key. */
  readonly readMs: number;
  /** Decoding to pixels (sharp in Node, createImageBitmap in the browser). */
  readonly decodeMs: number;
  /** Resize, centre crop, rescale and normalise to `pixel_values`. */
  readonly preprocessMs: number;
  /** ONNX Runtime, vision model. */
  readonly inferenceMs: number;
  readonly totalMs: number;
}

export interface EncodedImages {
  /** Feature size (projection dim). */
  readonly dim: number;
  /** Raw (not normalised) `image_embeds`, row-major `[indices.length, dim]`. */
  readonly features: Float32Array;
  /** Input position of each feature row; images listed in `errors` have no row. */
  readonly indices: readonly number[];
  readonly errors: readonly ImageError[];
  readonly cached: number;
  readonly encoded: number;
  readonly timings: EncodeTimings;
}

export interface EncodedTexts {
  readonly dim: number;
  /** Raw (not normalised) `text_embeds`, row-major `[prompts.length, dim]`. */
  readonly features: Float32Array;
}

/** Counters of the feature cache, cumulative over the encoder's life. */
export interface CacheCounters {
  /** Images whose features came from the cache. */
  readonly hits: number;
  /** Images looked up and not found. */
  readonly misses: number;
  /** Images that went through the vision model. */
  readonly encoded: number;
}

/** A store of image features keyed by (model hash, SHA-256 of the image bytes). */
export interface FeatureCache {
  /** A short description for logs (`memory`, `file:/path`, `indexeddb:facmic-features`). */
  readonly description: string;
  /** Features for each key, or undefined where absent. */
  getMany(modelHash: string, imageHashes: readonly string[]): Promise<(Float32Array | undefined)[]>;
  putMany(modelHash: string, entries: readonly { readonly imageHash: string; readonly features: Float32Array }[]): Promise<void>;
  close(): Promise<void>;
}

export interface CreateEncoderOptions {
  /** Default: hub id `Xenova/clip-vit-base-patch16` (the paper's backbone). A string is parsed by `parseModelSource`. */
  readonly model?: ModelSource | string;
  /** Default `auto`: the device policy decides (WebGPU only on a real adapter). */
  readonly device?: EncoderDeviceRequest;
  /**
   * Feature cache. Default: IndexedDB `facmic-features` in the browser, the folder `.cache/facmic/features` (relative
   * to the working directory) in Node. `false`: no cache.
   */
  readonly cache?: FeatureCache | false;
  /** Browser: base URL of ONNX Runtime's wasm/mjs files, served by our own server (default `/ort/`). */
  readonly wasmPaths?: string;
  /** Node: where hub and mirror downloads are kept (default `.cache/facmic/models`). */
  readonly modelCacheDir?: string;
  /** Most images per model run (default 8); runs are smaller when the model is slow (see `EncodeImagesOptions`). */
  readonly batchSize?: number;
  /** Which towers to fetch and load (default both). A hospital needs only `['vision']`. */
  readonly towers?: readonly ClipTower[];
  /** Weight type of the ONNX files (default fp32): `fp16` and `q8` (`_quantized`) are smaller and `q8` faster on CPUs. */
  readonly dtype?: ClipDtype;
  readonly onLoadProgress?: (progress: ModelLoadProgress) => void;
}

export interface Encoder {
  readonly info: EncoderInfo;
  encodeImages(images: readonly (ImageSource | NamedImage)[], options?: EncodeImagesOptions): Promise<EncodedImages>;
  encodeTexts(prompts: readonly string[]): Promise<EncodedTexts>;
  cacheCounters(): CacheCounters;
  dispose(): Promise<void>;
}
