/**
 * @facmic/encoder/node: helpers that need Node (files, sockets): ONNX Runtime's wasm folder for `/ort/`, model
 * downloads (`models:fetch`), the tiny CLIP fixture on disk, generated image folders, the image-folder scanner, the file
 * feature cache.
 */
export type { OrtWasmFiles } from './node/ort-files.ts';
export { ORT_WASM_FILES, ortWasmFiles } from './node/ort-files.ts';
export type { DownloadProgress, FetchedFile, FetchModelOptions, FetchModelResult, RemoteModelSource } from './node/download.ts';
export { fetchModel, MODEL_MANIFEST, sha256File } from './node/download.ts';
export type { EnsureTinyClipResult } from './node/tiny-clip-files.ts';
export { DEFAULT_TINY_CLIP_DIR, ensureTinyClip, writeTinyClip } from './node/tiny-clip-files.ts';
export type { EnsureVitClipResult, VitClipWriteOptions } from './node/vit-clip-files.ts';
export { DEFAULT_VIT_CLIP_DIR, ensureVitClip, writeVitClip } from './node/vit-clip-files.ts';
export type { GeneratedFile, GenerateImageFolderOptions } from './node/image-folder.ts';
export { generateImageFolder } from './node/image-folder.ts';
export type { ImageFile, ImageFileListing, ImageFolder, ImageFolderItem } from './node/image-files.ts';
export { findSiteFolders, listImageFiles, scanImageFolder } from './node/image-files.ts';
export { createFileFeatureCache } from './cache/file-cache.ts';
export { DEFAULT_FEATURE_CACHE_DIR, DEFAULT_MODEL_CACHE_DIR } from './platform/node.ts';
