/**
 * Model sources: a Hugging Face hub id, a coordinator's mirror URL, or a local folder (Node), and the files a CLIP
 * model needs for transformers.js.
 */
import type { ModelSource } from '../types.ts';

/** The paper's backbone, converted to ONNX for transformers.js. */
export const DEFAULT_MODEL_ID = 'Xenova/clip-vit-base-patch16';
export const HUB_HOST = 'https://huggingface.co/';

/**
 * Files transformers.js reads to run CLIP with `CLIPVisionModelWithProjection`, `CLIPTextModelWithProjection`,
 * `AutoProcessor` and `AutoTokenizer` at fp32 (checked against the requests it makes).
 */
export const REQUIRED_MODEL_FILES = [
  'config.json',
  'preprocessor_config.json',
  'tokenizer.json',
  'tokenizer_config.json',
  'onnx/vision_model.onnx',
  'onnx/text_model.onnx',
] as const;

/** Files a CLIP repository usually also has; mirrored when present, not needed to run. */
export const OPTIONAL_MODEL_FILES = ['special_tokens_map.json', 'vocab.json', 'merges.txt'] as const;

/** The files whose bytes identified the whole fp32 model before per-tower hashes (`combineModelHash`, `models:fetch`). */
export const MODEL_IDENTITY_FILES = ['config.json', 'onnx/text_model.onnx', 'onnx/vision_model.onnx'] as const;

/** ONNX weight types of the published CLIP exports: fp32, fp16, and 8-bit dynamic quantization (`_quantized`). */
export type ClipDtype = 'fp32' | 'fp16' | 'q8';
export const CLIP_DTYPES: readonly ClipDtype[] = ['fp32', 'fp16', 'q8'];
export type ClipTower = 'vision' | 'text';

/** The model file of a tower in a dtype, as transformers.js names it (the suffixes of its `utils/dtypes.js`). */
export function towerFile(tower: ClipTower, dtype: ClipDtype): string {
  const suffix = dtype === 'fp32' ? '' : dtype === 'fp16' ? '_fp16' : '_quantized';
  return `onnx/${tower}_model${suffix}.onnx`;
}

/**
 * What to fetch for some towers in a dtype: the vision tower needs the preprocessor, the text tower the tokenizer;
 * a hospital (vision only) never requests the text tower or the tokenizer.
 */
export function modelFilesFor(towers: readonly ClipTower[], dtype: ClipDtype): string[] {
  const files = ['config.json'];
  if (towers.includes('vision')) files.push('preprocessor_config.json');
  if (towers.includes('text')) files.push('tokenizer.json', 'tokenizer_config.json');
  for (const tower of towers) files.push(towerFile(tower, dtype));
  return files;
}

/** The identity files of a tower: the config and the tower's ONNX file. */
export function towerIdentityFiles(tower: ClipTower, dtype: ClipDtype): [string, string] {
  return ['config.json', towerFile(tower, dtype)];
}

const REPO_ID = /^(?:[\w\-.]+\/)?[\w\-.]{1,96}$/;

export function isHubId(text: string): boolean {
  return REPO_ID.test(text) && !text.includes('..') && !text.includes('--') && !text.startsWith('.');
}

function withSlash(url: string): string {
  return url.endsWith('/') ? url : `${url}/`;
}

/**
 * Reads a model source from text (a CLI flag, a config value):
 * - `http(s)://host/.../models/<id>` -> the mirror at `http(s)://host/.../models/` serving `<id>` (the id is what follows
 *   the last `/models/`, else the last path segment);
 * - a path (starting with `/`, `.`, `~` or a drive letter) -> a local folder (Node); in a browser a path starting with
 *   `/` is a same-origin mirror URL instead;
 * - anything else must be a hub id such as `Xenova/clip-vit-base-patch16`; `host` then overrides the hub's address.
 */
export function parseModelSource(text: string, options: { runtime?: 'node' | 'browser'; host?: string; base?: string } = {}): ModelSource {
  const value = text.trim();
  if (value === '') throw new Error('model source is empty');
  const runtime = options.runtime ?? 'node';
  if (/^https?:\/\//i.test(value) || (runtime === 'browser' && value.startsWith('/'))) {
    const url = new URL(value, options.base ?? (runtime === 'browser' ? (globalThis as { location?: { href: string } }).location?.href : undefined));
    const path = url.pathname.replace(/\/+$/, '');
    const marker = path.lastIndexOf('/models/');
    const id = marker >= 0 ? path.slice(marker + '/models/'.length) : path.slice(path.lastIndexOf('/') + 1);
    if (!id) throw new Error(`model URL ${value} names no model (expected .../models/<id>)`);
    const basePath = path.slice(0, path.length - id.length);
    return { kind: 'mirror', baseUrl: `${url.origin}${withSlash(basePath)}`, id };
  }
  if (/^(?:[/.~]|[A-Za-z]:[\\/])/.test(value) || value.includes('\\')) {
    return { kind: 'folder', path: value };
  }
  if (!isHubId(value)) throw new Error(`"${value}" is neither a URL, a folder path, nor a hub id like ${DEFAULT_MODEL_ID}`);
  return options.host ? { kind: 'hub', id: value, host: withSlash(options.host) } : { kind: 'hub', id: value };
}

/** URL of one file of a remote source. */
export function modelFileUrl(source: Exclude<ModelSource, { kind: 'folder' }>, file: string): string {
  if (source.kind === 'mirror') return `${withSlash(source.baseUrl)}${source.id}/${file}`;
  const revision = encodeURIComponent(source.revision ?? 'main');
  return `${withSlash(source.host ?? HUB_HOST)}${source.id}/resolve/${revision}/${file}`;
}

/** The `remoteHost` / `remotePathTemplate` pair that makes transformers.js request exactly `modelFileUrl`. */
export function transformersRemote(source: Exclude<ModelSource, { kind: 'folder' }>): { remoteHost: string; remotePathTemplate: string } {
  if (source.kind === 'mirror') return { remoteHost: withSlash(source.baseUrl), remotePathTemplate: '{model}/' };
  return { remoteHost: withSlash(source.host ?? HUB_HOST), remotePathTemplate: '{model}/resolve/{revision}/' };
}

export function describeModelSource(source: ModelSource): string {
  switch (source.kind) {
    case 'hub':
      return `hub ${source.id} at ${source.host ?? HUB_HOST}`;
    case 'mirror':
      return `mirror ${withSlash(source.baseUrl)}${source.id}/`;
    case 'folder':
      return `folder ${source.path}`;
  }
}

export function modelIdOf(source: ModelSource): string {
  if (source.kind !== 'folder') return source.id;
  const parts = source.path.replace(/[\\/]+$/, '').split(/[\\/]/);
  return parts[parts.length - 1] ?? source.path;
}
