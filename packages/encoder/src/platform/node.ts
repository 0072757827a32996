/**
 * Node side of the platform: sharp decodes images (as transformers.js does in Node), node:crypto hashes, model files
 * come from a folder (hub ids and mirrors are first downloaded into the model cache folder), the feature cache is a
 * folder, and ONNX Runtime runs through onnxruntime-node on the CPU.
 */
import { createHash } from 'node:crypto';
import { access, readFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { basename, join, resolve } from 'node:path';
import sharp from 'sharp';
import { createFileFeatureCache } from '../cache/file-cache.ts';
import type { DecodedPixels } from '../image/preprocess.ts';
import { shortestEdgeSize } from '../image/preprocess.ts';
import { describeModelSource } from '../model/source.ts';
import { fetchModel, sha256File } from '../node/download.ts';
import type { FeatureCache, ImageSource, ModelSource } from '../types.ts';
import { HUGE_IMAGE_OVERSAMPLING, HUGE_IMAGE_PIXELS, type Platform, type PrepareModelOptions, type PreparedModel } from './types.ts';

/** Default folders, relative to the working directory. */
export const DEFAULT_FEATURE_CACHE_DIR = '.cache/facmic/features';
export const DEFAULT_MODEL_CACHE_DIR = '.cache/facmic/models';

function isRgbaImage(source: ImageSource): source is Extract<ImageSource, { width: number }> {
  return typeof source === 'object' && 'width' in source && 'data' in source && !(source instanceof Uint8Array);
}

async function prepareFolder(path: string, modelId: string, description: string, options: PrepareModelOptions): Promise<PreparedModel> {
  const dir = resolve(path);
  const missing: string[] = [];
  for (const file of options.files) {
    try {
      await access(join(dir, file));
    } catch {
      missing.push(file);
    }
  }
  if (missing.length > 0) throw new Error(`model folder ${dir} lacks ${missing.join(', ')}`);
  const fileHashes: Record<string, string> = {};
  for (const file of options.identityFiles) fileHashes[file] = await sha256File(join(dir, file));
  return {
    // An absolute path is never a valid hub id, so transformers.js reads it as a folder.
    pathOrId: dir,
    modelId,
    description,
    fileHashes,
    applyEnv(env) {
      env.allowLocalModels = true;
      env.allowRemoteModels = false;
      env.useFSCache = false;
    },
    release() {
      // Nothing is held: onnxruntime-node reads the files itself.
    },
  };
}

export const platform: Platform = {
  name: 'node',

  hardwareConcurrency: () => availableParallelism(),

  sha256(bytes) {
    return Promise.resolve(createHash('sha256').update(bytes).digest('hex'));
  },

  async readImageBytes(source) {
    if (typeof source === 'string') {
      const bytes = await readFile(source);
      // A view, not a copy (new Uint8Array(buffer) would copy).
      return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length);
    }
    if (source instanceof Uint8Array) return source;
    if (source instanceof ArrayBuffer) return new Uint8Array(source);
    if (typeof Blob !== 'undefined' && source instanceof Blob) return new Uint8Array(await source.arrayBuffer());
    if (isRgbaImage(source)) return undefined;
    throw new Error('unsupported image source in Node (use a path, bytes, a Blob or RGBA pixels)');
  },

  async decodeImage(input, minShortEdge): Promise<DecodedPixels> {
    if (!(input instanceof Uint8Array)) throw new Error('ImageBitmap is a browser type');
    if (input.length === 0) throw new Error('empty file (0 bytes)');
    const image = sharp(input, { failOn: 'warning', limitInputPixels: 1 << 30 });
    const meta = await image.metadata();
    if (!meta.width || !meta.height) throw new Error('not an image sharp can read');
    let pipeline = image.rotate();
    if (meta.width * meta.height > HUGE_IMAGE_PIXELS) {
      const swapped = (meta.orientation ?? 1) >= 5;
      const w = swapped ? meta.height : meta.width;
      const h = swapped ? meta.width : meta.height;
      const target = shortestEdgeSize(w, h, minShortEdge * HUGE_IMAGE_OVERSAMPLING);
      pipeline = pipeline.resize(target.width, target.height, { fit: 'fill', kernel: 'lanczos3' });
    }
    const { data, info } = await pipeline.raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
    if (info.channels < 1 || info.channels > 4) throw new Error(`unsupported channel count ${info.channels}`);
    return {
      width: info.width,
      height: info.height,
      channels: info.channels,
      data: new Uint8Array(data.buffer, data.byteOffset, data.length),
    };
  },

  async prepareModel(source: ModelSource, options: PrepareModelOptions) {
    if (source.kind === 'folder') return prepareFolder(source.path, basename(resolve(source.path)), describeModelSource(source), options);
    const { dir } = await fetchModel({
      source,
      outDir: options.modelCacheDir ?? DEFAULT_MODEL_CACHE_DIR,
      files: options.files,
      optional: [],
      onProgress: (p) => {
        if (p.phase === 'progress' || p.phase === 'done' || p.phase === 'present') {
          options.onProgress?.({ file: p.file, loadedBytes: p.loadedBytes, totalBytes: p.totalBytes, phase: p.phase === 'present' ? 'cached' : 'download' });
        }
      },
    });
    return prepareFolder(dir, source.id, describeModelSource(source), options);
  },

  configureOnnx() {
    // onnxruntime-node needs no paths; it uses all cores by default.
  },

  defaultFeatureCache(): Promise<FeatureCache> {
    return createFileFeatureCache(resolve(DEFAULT_FEATURE_CACHE_DIR));
  },
};
