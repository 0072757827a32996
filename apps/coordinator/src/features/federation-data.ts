/**
 * Turns a federation request's data sources into feature files: the class prompts' text features and the unlabelled
 * reference features shipped to sites, and the optional labelled global test set the coordinator scores every global
 * model on. The coordinator encodes the prompts itself (sites then never need the text tower to train).
 */
import { stat } from 'node:fs/promises';
import { listImageFiles } from '@facmic/encoder/node';
import {
  base64ToBytes,
  decodeTensors,
  encodeTensors,
  FEATURE_TENSOR_NAMES,
  promptsFor,
  TensorEncodingError,
  type FederationSettings,
  type GlobalTestSource,
  type ReferenceSource,
} from '@facmic/protocol';
import { RefusalError } from '../outcome.ts';
import type { EncoderImage, FeatureEncoder, LabelledImage } from './feature-encoder.ts';

/**
 * Tensor names of the global test file. `referenceLabels` [N] (optional): the reference rows' true classes, when the
 * coordinator knows them (a generated reference set, or a folder with one sub-folder per class); the reference set
 * stays unlabelled for the sites, the coordinator uses them only to score the pseudo labels.
 */
export const GLOBAL_TEST_TENSORS = { features: 'features', labels: 'labels', referenceLabels: 'referenceLabels' } as const;

export interface FederationData {
  /** Tensor file: `text` [C, D], `reference` [N, D]. */
  features: Uint8Array;
  featuresChecksum: string;
  referenceCount: number;
  /** Tensor file: `features` [M, D], `labels` [M]; or null. */
  globalTest: Uint8Array | null;
  globalTestCount: number;
}

/** A class or folder name compared without case, and with `_`, `-` and spaces alike (`no_tumor` = `No tumor`). */
export function normalizeClassName(name: string): string {
  return name.toLowerCase().replace(/[\s_-]+/g, ' ').trim();
}

/**
 * Images of a folder with one sub-folder per class (matched to `classNames` by {@link normalizeClassName}), in class
 * order; images outside a matching folder are left out.
 */
export async function listLabelledImages(dir: string, classNames: readonly string[]): Promise<LabelledImage[]> {
  const byClass = classNames.map((): LabelledImage[] => []);
  for (const file of (await listImageFiles(dir)).files) {
    const label = classOfRelativePath(file.relative, classNames);
    if (label >= 0) byClass[label]?.push({ name: file.path, source: file.path, label });
  }
  return byClass.flat();
}

async function checkFolder(path: string, what: string): Promise<void> {
  try {
    if (!(await stat(path)).isDirectory()) throw new Error('not a folder');
  } catch {
    throw new RefusalError('BAD_REQUEST', `${what}: ${path} is not a readable folder on the coordinator`);
  }
}

/** The class index of a file by its first folder ({@link normalizeClassName}), or -1 outside a class folder. */
function classOfRelativePath(relative: string, classNames: readonly string[]): number {
  const slash = relative.indexOf('/');
  return slash < 0 ? -1 : classNames.map(normalizeClassName).indexOf(normalizeClassName(relative.slice(0, slash)));
}

/** The labels of the encoded rows, or null unless every encoded image has one. */
function labelsOfEncoded(labels: readonly number[], indices: readonly number[]): Int32Array | null {
  const out = Int32Array.from(indices.map((i) => labels[i] ?? -1));
  return out.every((label) => label >= 0) ? out : null;
}

async function encodeAll(encoder: FeatureEncoder, images: readonly EncoderImage[], what: string): Promise<{ features: Float32Array; indices: number[] }> {
  if (images.length === 0) throw new RefusalError('BAD_REQUEST', `${what}: no images`);
  let encoded;
  try {
    encoded = await encoder.encodeImages(images);
  } catch (error) {
    throw new RefusalError('ENCODER_UNAVAILABLE', `${what}: the encoder failed: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (encoded.indices.length === 0) {
    const first = encoded.errors[0];
    throw new RefusalError('BAD_REQUEST', `${what}: no image could be read${first ? ` (${first.name}: ${first.message})` : ''}`);
  }
  return { features: encoded.features, indices: encoded.indices };
}

function decodeFeatureUpload(data: string, names: readonly string[], what: string) {
  try {
    const decoded = decodeTensors(base64ToBytes(data));
    for (const name of names) if (!decoded.tensors[name]) throw new RefusalError('BAD_REQUEST', `${what}: the tensor file has no "${name}"`);
    return decoded.tensors;
  } catch (error) {
    if (error instanceof TensorEncodingError) throw new RefusalError('BAD_REQUEST', `${what}: ${error.message}`);
    if (error instanceof RefusalError) throw error;
    throw new RefusalError('BAD_REQUEST', `${what}: not base64 of a tensor file`);
  }
}

/** The reference features, and their true classes where the coordinator knows them (never sent to sites). */
async function referenceFeatures(
  source: ReferenceSource,
  settings: FederationSettings,
  encoder: FeatureEncoder,
  seed: number,
): Promise<{ features: Float32Array; labels: Int32Array | null }> {
  const dim = encoder.identity.featureDim;
  const what = 'reference set';
  switch (source.kind) {
    case 'generated': {
      const perClass = Math.ceil(source.count / settings.classNames.length);
      const images = encoder.generateImages(settings.classNames, perClass, 'reference', seed).slice(0, source.count);
      const encoded = await encodeAll(encoder, images, what);
      return { features: encoded.features, labels: labelsOfEncoded(images.map((image) => image.label), encoded.indices) };
    }
    case 'folder': {
      await checkFolder(source.path, what);
      const { files } = await listImageFiles(source.path);
      const encoded = await encodeAll(encoder, files.map((file) => ({ name: file.path, source: file.path })), what);
      return { features: encoded.features, labels: labelsOfEncoded(files.map((file) => classOfRelativePath(file.relative, settings.classNames)), encoded.indices) };
    }
    case 'images': {
      const images = source.images.map((image) => ({ name: image.name, source: base64ToBytes(image.data) }));
      return { features: (await encodeAll(encoder, images, what)).features, labels: null };
    }
    case 'features': {
      const tensors = decodeFeatureUpload(source.data, ['features'], what);
      const features = tensors.features as { shape: number[]; data: Float32Array };
      if (features.shape.length !== 2 || features.shape[1] !== dim) {
        throw new RefusalError('BAD_REQUEST', `${what}: features must be [N, ${dim}] for this encoder, got [${features.shape.join(', ')}]`);
      }
      return { features: features.data, labels: null };
    }
  }
}

async function globalTestFeatures(
  source: GlobalTestSource,
  settings: FederationSettings,
  encoder: FeatureEncoder,
  seed: number,
): Promise<{ features: Float32Array; labels: Float32Array }> {
  const dim = encoder.identity.featureDim;
  const what = 'global test set';
  const encodeLabelled = async (images: LabelledImage[]) => {
    const encoded = await encodeAll(encoder, images, what);
    return { features: encoded.features, labels: Float32Array.from(encoded.indices.map((i) => (images[i] as LabelledImage).label)) };
  };
  switch (source.kind) {
    case 'generated':
      return encodeLabelled(encoder.generateImages(settings.classNames, source.perClass, 'global-test', seed + 1));
    case 'folder': {
      await checkFolder(source.path, what);
      const images = await listLabelledImages(source.path, settings.classNames);
      if (images.length === 0) throw new RefusalError('BAD_REQUEST', `${what}: ${source.path} has no sub-folder named after a class (${settings.classNames.join(', ')})`);
      return encodeLabelled(images);
    }
    case 'images': {
      const images: LabelledImage[] = source.images.map((image) => {
        const label = settings.classNames.indexOf(image.label);
        if (label < 0) throw new RefusalError('BAD_REQUEST', `${what}: ${image.name} has label "${image.label}", not a class of this federation`);
        return { name: image.name, source: base64ToBytes(image.data), label };
      });
      return encodeLabelled(images);
    }
    case 'features': {
      const tensors = decodeFeatureUpload(source.data, [GLOBAL_TEST_TENSORS.features, GLOBAL_TEST_TENSORS.labels], what);
      const features = tensors[GLOBAL_TEST_TENSORS.features] as { shape: number[]; data: Float32Array };
      const labels = tensors[GLOBAL_TEST_TENSORS.labels] as { shape: number[]; data: Float32Array };
      if (features.shape.length !== 2 || features.shape[1] !== dim) throw new RefusalError('BAD_REQUEST', `${what}: features must be [N, ${dim}]`);
      if (labels.shape.length !== 1 || labels.shape[0] !== features.shape[0]) throw new RefusalError('BAD_REQUEST', `${what}: labels must be [N]`);
      for (const label of labels.data) {
        if (!Number.isInteger(label) || label < 0 || label >= settings.classNames.length) throw new RefusalError('BAD_REQUEST', `${what}: label ${label} is not a class index`);
      }
      return { features: features.data, labels: labels.data };
    }
  }
}

/** Encodes prompts, reference and global test set for a new federation. */
export async function buildFederationData(settings: FederationSettings, encoder: FeatureEncoder, seed: number): Promise<FederationData> {
  const dim = encoder.identity.featureDim;
  const prompts = promptsFor(settings.promptTemplate, settings.classNames);
  let text: Float32Array;
  try {
    text = await encoder.encodeTexts(prompts);
  } catch (error) {
    throw new RefusalError('ENCODER_UNAVAILABLE', `encoding the class prompts failed: ${error instanceof Error ? error.message : String(error)}`);
  }
  const { features: reference, labels: referenceLabels } = await referenceFeatures(settings.reference, settings, encoder, seed);
  const referenceCount = reference.length / dim;
  if (referenceCount < 2) throw new RefusalError('BAD_REQUEST', 'the reference set needs at least 2 images');
  const { bytes: features, checksum: featuresChecksum } = encodeTensors({
    [FEATURE_TENSOR_NAMES.text]: { shape: [prompts.length, dim], data: text },
    [FEATURE_TENSOR_NAMES.reference]: { shape: [referenceCount, dim], data: reference },
  });
  let globalTest: Uint8Array | null = null;
  let globalTestCount = 0;
  if (settings.globalTest) {
    const test = await globalTestFeatures(settings.globalTest, settings, encoder, seed);
    globalTestCount = test.labels.length;
    globalTest = encodeTensors({
      [GLOBAL_TEST_TENSORS.features]: { shape: [globalTestCount, dim], data: test.features },
      [GLOBAL_TEST_TENSORS.labels]: { shape: [globalTestCount], data: test.labels },
      ...(referenceLabels ? { [GLOBAL_TEST_TENSORS.referenceLabels]: { shape: [referenceCount], data: Float32Array.from(referenceLabels) } } : {}),
    }).bytes;
  }
  return { features, featuresChecksum, referenceCount, globalTest, globalTestCount };
}
