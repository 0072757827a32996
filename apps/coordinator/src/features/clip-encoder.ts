/**
 * The coordinator's CLIP encoder (`@facmic/encoder` in Node, ONNX Runtime on the CPU). Which model:
 * 1. `FACMIC_MODEL` when set: a folder, a hub id (looked up in the models folder first), or a mirror URL;
 * 2. else the paper's model (`Xenova/clip-vit-base-patch16`) when the models folder holds it (`npm run models:fetch`);
 * 3. else the generated tiny CLIP (`models/facmic-tiny-clip`, written on first start): random weights, so accuracy
 *    only shows that the pipeline works, not what FACMIC achieves.
 * The federation's `encoder.modelId` is the model's path under the models folder when it lies there, so browsers
 * load it from the coordinator's mirror at `/models/<modelId>/`.
 */
import { existsSync } from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';
import { createEncoder, DEFAULT_MODEL_ID, generateImages, isHubId, TINY_CLIP_ID, towerFile, type Encoder } from '@facmic/encoder';
import type { EncoderDtype } from '@facmic/protocol';
import { ensureTinyClip } from '@facmic/encoder/node';
import type { Logger } from '../logger.ts';
import type { EncodedImageFeatures, EncoderImage, EncoderSourceKind, FeatureEncoder, LabelledImage } from './feature-encoder.ts';

export interface ClipEncoderOptions {
  /** `FACMIC_MODEL`, or null. */
  model: string | null;
  /** The models mirror folder (`FACMIC_MODELS_DIR`, default `./models`). */
  modelsDir: string;
  logger: Logger;
}

interface ResolvedModel {
  source: EncoderSourceKind;
  /** What createEncoder loads: a folder path or a hub id / URL. */
  model: string;
  /** Id under the models folder, when the model is there. */
  mirrorId: string | null;
}

/** Decides which model to load (see the file comment). */
export async function resolveModel(options: { model: string | null; modelsDir: string }): Promise<ResolvedModel> {
  const modelsDir = resolve(options.modelsDir);
  const inModels = (folder: string): string | null => {
    const rel = relative(modelsDir, resolve(folder));
    return rel !== '' && !rel.startsWith('..') && !rel.startsWith(sep) ? rel.split(sep).join('/') : null;
  };
  if (options.model !== null) {
    const value = options.model.trim();
    if (isHubId(value) && existsSync(join(modelsDir, value, 'config.json'))) {
      return { source: 'env', model: join(modelsDir, value), mirrorId: value };
    }
    if (value === TINY_CLIP_ID) {
      const { dir } = await ensureTinyClip(join(modelsDir, TINY_CLIP_ID));
      return { source: 'env', model: dir, mirrorId: TINY_CLIP_ID };
    }
    const isFolder = /^(?:[/.~]|[A-Za-z]:[\\/])/.test(value);
    return { source: 'env', model: isFolder ? resolve(value) : value, mirrorId: isFolder ? inModels(value) : null };
  }
  const paper = join(modelsDir, DEFAULT_MODEL_ID);
  if (existsSync(join(paper, 'config.json'))) return { source: 'mirror', model: paper, mirrorId: DEFAULT_MODEL_ID };
  const { dir } = await ensureTinyClip(join(modelsDir, TINY_CLIP_ID));
  return { source: 'tiny', model: dir, mirrorId: TINY_CLIP_ID };
}

const NOTES: Record<EncoderSourceKind, string> = {
  env: 'the model named by FACMIC_MODEL.',
  mirror: "the paper's CLIP ViT-B/16 from the models folder: accuracy comparable to the paper.",
  tiny: 'the generated tiny CLIP (random weights): the whole pipeline runs, but accuracy says nothing about FACMIC. Run `npm run models:fetch` for the real model.',
};

/**
 * The dtype a federation gets when its settings name none: q8 when the model publishes `_quantized` files (as
 * `Xenova/clip-vit-base-patch16` and the generated ViT-B/16 do): 89 MB instead of 345 MB for a hospital, about twice
 * as fast on a CPU, features within cosine 0.99 of fp32 (`npm run bench:encode`). fp32 otherwise (the tiny CLIP).
 */
export function recommendedDtype(modelDir: string | null): EncoderDtype {
  return modelDir !== null && existsSync(join(modelDir, towerFile('vision', 'q8'))) ? 'q8' : 'fp32';
}

async function loadClipFeatureEncoder(resolved: ResolvedModel, dtype: EncoderDtype, shared: Map<EncoderDtype, Promise<FeatureEncoder>>): Promise<FeatureEncoder> {
  const encoder: Encoder = await createEncoder({ model: resolved.model, device: 'cpu', cache: false, dtype, towers: ['vision', 'text'] });
  const info = encoder.info;
  const modelId = resolved.mirrorId ?? info.modelId;
  const note = `${modelId} ${dtype} (${info.projectionDim}-d, vision hash ${info.modelHash.slice(0, 12)}): ${NOTES[resolved.source]}`;
  const self: FeatureEncoder = {
    identity: { modelId, hash: info.modelHash, featureDim: info.projectionDim, dtype, ...(info.textHash !== undefined ? { textHash: info.textHash } : {}) },
    source: resolved.source,
    note,
    async encodeTexts(prompts) {
      const encoded = await encoder.encodeTexts(prompts);
      return encoded.features;
    },
    async encodeImages(images: readonly EncoderImage[], onProgress): Promise<EncodedImageFeatures> {
      const encoded = await encoder.encodeImages(
        images.map((image) => ({ name: image.name, source: image.source })),
        onProgress ? { onProgress: (p) => { onProgress(p.done, p.total); } } : {},
      );
      return { features: encoded.features, indices: [...encoded.indices], errors: encoded.errors.map((e) => ({ index: e.index, name: e.name, message: e.message })) };
    },
    generateImages(classNames, perClass, site, seed): LabelledImage[] {
      return generateImages({ classes: classNames, perClass, site, seed }).map((g) => ({ name: g.name, label: g.label, source: g.image }));
    },
    withDtype(other) {
      let loading = shared.get(other);
      if (!loading) {
        loading = loadClipFeatureEncoder(resolved, other, shared);
        shared.set(other, loading);
        loading.catch(() => shared.delete(other));
      }
      return loading;
    },
    /** Disposes every dtype's encoder of this model. */
    async dispose() {
      const others = [...shared.entries()].filter(([d]) => d !== dtype).map(([, other]) => other);
      shared.clear();
      await encoder.dispose();
      for (const other of others) await (await other.catch(() => null))?.dispose();
    },
  };
  return self;
}

export async function createClipFeatureEncoder(options: ClipEncoderOptions): Promise<FeatureEncoder> {
  const resolved = await resolveModel(options);
  const dtype = recommendedDtype(existsSync(resolved.model) ? resolved.model : null);
  const shared = new Map<EncoderDtype, Promise<FeatureEncoder>>();
  const encoder = loadClipFeatureEncoder(resolved, dtype, shared);
  shared.set(dtype, encoder);
  return encoder;
}
