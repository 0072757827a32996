/**
 * What differs between Node and the browser, behind one interface. `#platform` resolves to `node.ts` under the `node`
 * export condition and to `browser.ts` everywhere else (bundlers), as transformers.js does for its own node-only
 * modules; the rest of the package is platform-free.
 */
import type { DecodedPixels } from '../image/preprocess.ts';
import type { EncoderDevice, FeatureCache, ImageSource, ModelLoadProgress, ModelSource } from '../types.ts';

/** The transformers.js `env` object, typed loosely to the fields we set. */
export interface TransformersEnvLike {
  allowRemoteModels: boolean;
  allowLocalModels: boolean;
  remoteHost: string;
  remotePathTemplate: string;
  useBrowserCache: boolean;
  useFSCache: boolean;
  useCustomCache: boolean;
  customCache: unknown;
  useWasmCache: boolean;
  backends: { onnx: { wasm?: { wasmPaths?: unknown; numThreads?: number; proxy?: boolean } } };
}

export interface PreparedModel {
  /** What to pass to `from_pretrained`. */
  readonly pathOrId: string;
  readonly modelId: string;
  readonly description: string;
  /** SHA-256 of each identity file. */
  readonly fileHashes: Readonly<Record<string, string>>;
  /** Points transformers.js at this model's files; called right before loading, under the load lock. */
  applyEnv(env: TransformersEnvLike): void;
  /** Frees what was held for loading. */
  release(): void;
}

export interface PrepareModelOptions {
  /** Files to fetch (`modelFilesFor`): all must exist. */
  readonly files: readonly string[];
  /** Files whose SHA-256 goes into `fileHashes` (a subset of `files`). */
  readonly identityFiles: readonly string[];
  readonly modelCacheDir?: string;
  readonly onProgress?: (progress: ModelLoadProgress) => void;
}

export interface Platform {
  readonly name: 'node' | 'browser';
  hardwareConcurrency(): number;
  sha256(bytes: Uint8Array): Promise<string>;
  /** Encoded bytes of a source (file path, URL in the browser, Blob, bytes); undefined for pixel sources. */
  readImageBytes(source: ImageSource): Promise<Uint8Array | undefined>;
  /**
   * Decodes to pixels, EXIF orientation applied. Images above `HUGE_IMAGE_PIXELS` are scaled down while decoding so the
   * shortest edge is `minShortEdge` (never below), keeping memory bounded.
   */
  decodeImage(input: Uint8Array | ImageBitmap, minShortEdge: number): Promise<DecodedPixels>;
  prepareModel(source: ModelSource, options: PrepareModelOptions): Promise<PreparedModel>;
  configureOnnx(env: TransformersEnvLike, device: EncoderDevice, options: { wasmPaths: string; threads: number }): void;
  defaultFeatureCache(): Promise<FeatureCache>;
}

/** Above this many pixels an image is scaled down while it is decoded (sharp / createImageBitmap). */
export const HUGE_IMAGE_PIXELS = 4096 * 4096;

/** Shortest edge of the decode-time downscale of huge images, as a multiple of the model's resize target. */
export const HUGE_IMAGE_OVERSAMPLING = 4;
