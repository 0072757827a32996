/**
 * Real images as the simulation's data source: a folder of sites (`client_0..client_k`, each a class-folder tree), or
 * one class-folder tree split into sites (`iid` or `dirichlet:<alpha>`, seeded). Images are encoded once by the frozen
 * CLIP (features cached by file content, so later runs skip them) and class prompts give the text features.
 */
import type { Encoder, EncodeProgress } from '@facmic/encoder';
import type { SimulationData, SiteFeatures } from '../simulation/types.ts';
import { findSiteFolders, scanImageFolder, type ImageFolderItem } from '@facmic/encoder/node';
import { describePartition, partitionIndices, type PartitionSpec } from './partition.ts';

export const DEFAULT_PROMPT = 'a picture of a {class}';

export interface ImageDataOptions {
  readonly dir: string;
  readonly encoder: Encoder;
  /** Sites to split a single class-folder tree into (ignored with `client_*` folders). */
  readonly sites: number;
  readonly partition: PartitionSpec;
  readonly seed: number;
  /** Prompt per class; `{class}` becomes the class name (see `promptNames`). */
  readonly promptTemplate?: string;
  /** How a folder name enters the prompt: `words` (default: `_`/`-` become spaces) or `raw` (as is, as the paper). */
  readonly promptNames?: PromptNames;
  readonly onProgress?: (progress: EncodeProgress) => void;
  readonly log?: (line: string) => void;
}

export interface ImageData extends SimulationData {
  /** Images that could not be decoded (left out). */
  readonly errors: readonly { readonly path: string; readonly message: string }[];
  readonly encoded: number;
  readonly cached: number;
  /** The encoder's model id (e.g. the tiny random CLIP fixture's). */
  readonly modelId: string;
  /** The encoder's content hash (its identity, as sites compare it). */
  readonly modelHash: string;
}

/**
 * `words`: "a picture of a glioma tumor" for the folder `glioma_tumor` (facmic's default, plain English for CLIP);
 * `raw`: "a picture of a glioma_tumor", the folder name as is, as the paper's code prompts.
 */
export const PROMPT_NAMES = ['words', 'raw'] as const;
export type PromptNames = (typeof PROMPT_NAMES)[number];

export function isPromptNames(value: string): value is PromptNames {
  return (PROMPT_NAMES as readonly string[]).includes(value);
}

export function classPrompt(template: string, className: string, names: PromptNames = 'words'): string {
  return template.replaceAll('{class}', names === 'raw' ? className : className.replace(/[_-]+/g, ' ').trim());
}

interface SiteImages {
  readonly name: string;
  readonly items: readonly { readonly path: string; readonly label: number }[];
}

async function collectSites(options: ImageDataOptions): Promise<{ classNames: string[]; sites: SiteImages[]; how: string }> {
  const siteFolders = await findSiteFolders(options.dir);
  if (siteFolders) {
    const scanned = await Promise.all(siteFolders.map(async (site) => ({ name: site.name, folder: await scanImageFolder(site.path) })));
    const classNames = [...new Set(scanned.flatMap((s) => s.folder.classNames))].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    const sites = scanned.map(({ name, folder }) => {
      if (folder.classNames.length === 0) throw new Error(`${folder.root} is not a class-folder tree (no class subfolders)`);
      return { name, items: folder.items.map((item) => ({ path: item.path, label: classNames.indexOf(folder.classNames[item.label] ?? '') })) };
    });
    return { classNames, sites, how: `${sites.length} site folders` };
  }
  const folder = await scanImageFolder(options.dir);
  if (folder.classNames.length === 0) throw new Error(`${folder.root} has neither client_* site folders nor class folders`);
  if (folder.skipped.length > 0) options.log?.(`skipping ${folder.skipped.length} non-image files (e.g. ${folder.skipped[0] ?? ''})`);
  const parts = partitionIndices(
    folder.items.map((item) => item.label),
    options.sites,
    options.partition,
    options.seed,
  );
  const sites = parts.map((indices, k) => ({
    name: `site_${k}`,
    items: indices.map((i) => folder.items[i]).filter((item): item is ImageFolderItem => item !== undefined),
  }));
  return { classNames: [...folder.classNames], sites, how: `${sites.length} sites by ${describePartition(options.partition)}, seed ${options.seed}` };
}

export async function loadImageData(options: ImageDataOptions): Promise<ImageData> {
  const { classNames, sites, how } = await collectSites(options);
  if (classNames.length < 2) throw new Error(`need at least 2 classes, found ${classNames.length} in ${options.dir}`);
  const all = sites.flatMap((site, k) => site.items.map((item) => ({ ...item, site: k })));
  const result = await options.encoder.encodeImages(
    all.map((item) => ({ name: item.path, source: item.path })),
    options.onProgress ? { onProgress: options.onProgress } : {},
  );
  const dim = result.dim;
  const rowsBySite = sites.map(() => ({ rows: [] as number[], labels: [] as number[] }));
  result.indices.forEach((inputIndex, row) => {
    const item = all[inputIndex];
    if (!item) return;
    rowsBySite[item.site]?.rows.push(row);
    rowsBySite[item.site]?.labels.push(item.label);
  });
  const siteFeatures: SiteFeatures[] = sites.map((site, k) => {
    const { rows, labels } = rowsBySite[k] ?? { rows: [], labels: [] };
    const features = new Float32Array(rows.length * dim);
    rows.forEach((row, i) => {
      features.set(result.features.subarray(row * dim, (row + 1) * dim), i * dim);
    });
    return { name: site.name, data: { dim, features, labels: Int32Array.from(labels) } };
  });
  const template = options.promptTemplate ?? DEFAULT_PROMPT;
  const text = await options.encoder.encodeTexts(classNames.map((c) => classPrompt(template, c, options.promptNames ?? 'words')));
  const info = options.encoder.info;
  return {
    description: `${options.dir}: ${result.indices.length} images, ${classNames.length} classes, ${how}; encoder ${info.modelId} (${info.modelHash.slice(0, 12)}) on ${info.device}`,
    dim,
    classNames,
    textFeatures: { dim, features: text.features },
    sites: siteFeatures,
    errors: result.errors.map((e) => ({ path: e.name, message: e.message })),
    encoded: result.encoded,
    cached: result.cached,
    modelId: info.modelId,
    modelHash: info.modelHash,
  };
}
