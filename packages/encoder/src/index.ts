/**
 * @facmic/encoder: FACMIC's frozen CLIP through transformers.js, the same API in Node and in the browser.
 *
 * - `createEncoder({ model, device, cache })` -> `{ info, encodeImages, encodeTexts, cacheCounters, dispose }`
 * - the device policy (`detectCapabilities`, `chooseEncoderDevice`, `chooseTfjsBackend`): the one place that decides
 *   WebGPU / WASM / CPU for ONNX Runtime and for tfjs, with reasons
 * - model sources (hub id, mirror URL, folder) and the model hash
 * - feature caches (memory, IndexedDB; a folder via `@facmic/encoder/node`)
 * - the generated `facmic-tiny-clip` fixture and generated class images
 *
 * Node-only helpers (ORT wasm folder, model download, fixture and image folders, file cache) are in
 * `@facmic/encoder/node`.
 */
export type * from './types.ts';
export { createEncoder, DEFAULT_BATCH_SIZE, DEFAULT_WASM_PATHS } from './encoder.ts';
export { nextBatchSize, TARGET_BATCH_MS } from './batch-size.ts';
export type { Capabilities } from './device-policy.ts';
export { chooseEncoderDevice, chooseTfjsBackend, detectCapabilities, recommendedThreads, TFJS_FALLBACK_ORDER } from './device-policy.ts';
export {
  CLIP_DTYPES,
  DEFAULT_MODEL_ID,
  describeModelSource,
  HUB_HOST,
  isHubId,
  MODEL_IDENTITY_FILES,
  modelFileUrl,
  modelIdOf,
  OPTIONAL_MODEL_FILES,
  parseModelSource,
  modelFilesFor,
  REQUIRED_MODEL_FILES,
  towerFile,
  towerIdentityFiles,
} from './model/source.ts';
export type { ClipDtype, ClipTower } from './model/source.ts';
export { combineModelHash, towerHash } from './model/hash.ts';
export { createMemoryFeatureCache } from './cache/memory-cache.ts';
export { openIndexedDbFeatureCache } from './cache/indexeddb-cache.ts';
export { ORT_WASM_FILE_NAMES } from './platform/ort-names.ts';
export {
  buildTinyClipFiles,
  CLIP_IMAGE_MEAN,
  CLIP_IMAGE_STD,
  PROJECTION_DIM,
  TINY_CLIP_DEFAULT_SEED,
  TINY_CLIP_GENERATOR_VERSION,
  TINY_CLIP_ID,
} from './fixture/tiny-clip.ts';
export type { VitClipShape } from './fixture/vit-clip.ts';
export { REDUCED_VIT_CLIP_SHAPE, VIT_B16_SHAPE, VIT_CLIP_DEFAULT_SEED, VIT_CLIP_GENERATOR_VERSION, VIT_CLIP_ID } from './fixture/vit-clip.ts';
export type { GeneratedImage, GenerateImagesOptions, SiteAppearance } from './generated-images.ts';
export { classNames, encodeRgbaPng, generateImageFiles, generateImages, PATTERNS, renderImage, siteAppearance } from './generated-images.ts';
export type { DecodedPixels, GeometryPlan } from './image/preprocess.ts';
export { applyGeometry, expandToRgb, geometryPlanFromConfig, toPixels, toRgb } from './image/preprocess.ts';
export type { PixelImage, RgbImage } from './image/resample.ts';
export { RESAMPLE, resizeRgb } from './image/resample.ts';
export type { PngImage } from './image/png.ts';
export { encodePng } from './image/png.ts';
export { fileExtension, IMAGE_EXTENSIONS, isImagePath } from './image/image-files.ts';
export type { ImageHeader } from './image/header.ts';
export { readImageHeader } from './image/header.ts';
export type { FeatureFileHeader, FeatureFileItem } from './feature-file.ts';
export { decodeFeatureFile, encodeFeatureFile, FEATURE_FILE_MAGIC, FEATURE_FILE_VERSION } from './feature-file.ts';
export { digestSha256Hex } from './util/sha256.ts';
