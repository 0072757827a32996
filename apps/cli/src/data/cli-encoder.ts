/**
 * The encoder the CLI commands use: which model (flag, fetched real model, or the generated fixture) and which
 * feature cache.
 */
import { access, stat } from 'node:fs/promises';
import path from 'node:path';
import { createEncoder, DEFAULT_MODEL_ID, parseModelSource, TINY_CLIP_ID, type ClipDtype, type ClipTower, type Encoder, type FeatureCache, type ModelSource } from '@facmic/encoder';
import { createFileFeatureCache, DEFAULT_FEATURE_CACHE_DIR, DEFAULT_TINY_CLIP_DIR, ensureTinyClip } from '@facmic/encoder/node';

export interface CliEncoderOptions {
  /** `--model`: a hub id, a mirror URL, a folder, or `facmic-tiny-clip` (the generated fixture). */
  readonly model?: string | undefined;
  /** `--host`: hub address for hub ids. */
  readonly host?: string | undefined;
  /** Feature cache folder, or false for none (default `.cache/facmic/features`). */
  readonly featureCache?: string | false | undefined;
  readonly batchSize?: number | undefined;
  /** Towers to load (default both). */
  readonly towers?: readonly ClipTower[] | undefined;
  readonly dtype?: ClipDtype | undefined;
  /** Where messages for the user go (stderr). */
  readonly log: (line: string) => void;
}

/** Where `npm run models:fetch -- Xenova/clip-vit-base-patch16` puts the real model. */
export const FETCHED_DEFAULT_MODEL_DIR = path.join('models', DEFAULT_MODEL_ID);

async function exists(file: string): Promise<boolean> {
  try {
    await access(file);
    return true;
  } catch {
    return false;
  }
}

async function isDirectory(file: string): Promise<boolean> {
  try {
    return (await stat(file)).isDirectory();
  } catch {
    return false;
  }
}

async function tinyClipSource(): Promise<ModelSource> {
  const { dir } = await ensureTinyClip(DEFAULT_TINY_CLIP_DIR);
  return { kind: 'folder', path: dir };
}

/**
 * Creates the encoder for a CLI run. Without `--model`: the real CLIP ViT-B/16 from `models/` when fetched, else from
 * the hub; when the hub cannot be reached, the generated fixture, with a warning (its weights are random).
 */
export async function createCliEncoder(options: CliEncoderOptions): Promise<Encoder> {
  const cache: FeatureCache | false = options.featureCache === false ? false : await createFileFeatureCache(path.resolve(options.featureCache ?? DEFAULT_FEATURE_CACHE_DIR));
  const common = {
    cache,
    ...(options.batchSize !== undefined ? { batchSize: options.batchSize } : {}),
    ...(options.towers !== undefined ? { towers: options.towers } : {}),
    ...(options.dtype !== undefined ? { dtype: options.dtype } : {}),
  };
  if (options.model !== undefined) {
    // An existing folder wins over the hub id it may look like (`models/facmic-tiny-clip`).
    const source =
      options.model === TINY_CLIP_ID
        ? await tinyClipSource()
        : (await isDirectory(options.model))
          ? ({ kind: 'folder', path: options.model } as const)
          : parseModelSource(options.model, options.host !== undefined ? { host: options.host } : {});
    return createEncoder({ model: source, ...common });
  }
  if (await exists(path.join(FETCHED_DEFAULT_MODEL_DIR, 'config.json'))) {
    return createEncoder({ model: { kind: 'folder', path: FETCHED_DEFAULT_MODEL_DIR }, ...common });
  }
  try {
    options.log(`no --model: fetching ${DEFAULT_MODEL_ID} from the hub (or run npm run models:fetch -- ${DEFAULT_MODEL_ID})`);
    return await createEncoder({ model: parseModelSource(DEFAULT_MODEL_ID, options.host !== undefined ? { host: options.host } : {}), ...common });
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    options.log(`WARNING: cannot get ${DEFAULT_MODEL_ID}: ${reason}`);
    options.log(`WARNING: using the generated ${TINY_CLIP_ID} fixture instead. Its weights are random: results only test the pipeline.`);
    return createEncoder({ model: await tinyClipSource(), ...common });
  }
}
