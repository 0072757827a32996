/**
 * What the privacy simulation (`simulate-private.ts`) runs a federation on: the coordinator's encoder, the
 * federation's classes / reference set / global test set, and each Node site's data. Two sources:
 *  - synthetic: the synthetic encoder generates every site's images and the coordinator's reference and test sets;
 *  - image data (`--data DIR`, loaded by `data/image-data.ts`): the last site is the global site, whose whole
 *    features are the unlabelled reference set and the labelled global test set (as the paper's code and the plain
 *    `simulate`); the others are Node sites training on their features, split 80/10/10 by the one rule
 *    (`splitFeatureSet`, seed `seed * 1009 + k`, as `simulate`). The coordinator's encoder then only answers the
 *    class prompts, with the text features the loader computed.
 */
import { PAPER_SPLIT, rowCount, splitFeatureSet } from '@facmic/learning/plain';
import { bytesToBase64, encodeTensors, promptsFor, DEFAULT_PROMPT_TEMPLATE, type EncoderIdentity, type GlobalTestSource, type ReferenceSource } from '@facmic/protocol';
import { createSyntheticEncoder, type FeatureEncoder, type NodeSiteData } from '@facmic/coordinator';
import type { ImageData } from './data/image-data.ts';

export interface PrivateFederationSource {
  /** First words of the run's header line. */
  readonly description: string;
  readonly dim: number;
  readonly classNames: readonly string[];
  readonly promptTemplate: string;
  readonly reference: ReferenceSource;
  readonly globalTest: GlobalTestSource;
  readonly encoder: FeatureEncoder;
  readonly sites: readonly { readonly name: string; readonly data: NodeSiteData }[];
}

export class PrivateDataError extends Error {}

export interface SyntheticFederationOptions {
  readonly sites: number;
  readonly dim: number;
  readonly noise: number;
  readonly perClass: number;
  readonly seed: number;
}

/** N synthetic hospitals (site k has `perClass + 5k` training images per class) and a generated reference / test set. */
export function syntheticFederation(options: SyntheticFederationOptions): PrivateFederationSource {
  const { seed } = options;
  return {
    description: `synthetic (seed ${seed}, D = ${options.dim}, noise ${options.noise})`,
    dim: options.dim,
    classNames: ['glioma', 'meningioma', 'no tumor', 'pituitary'],
    promptTemplate: DEFAULT_PROMPT_TEMPLATE,
    reference: { kind: 'generated', count: 64 },
    globalTest: { kind: 'generated', perClass: 50 },
    encoder: createSyntheticEncoder({ dim: options.dim, noise: options.noise }),
    sites: Array.from({ length: options.sites }, (_, k) => ({
      name: `hospital-${k + 1}`,
      data: { kind: 'generated', trainPerClass: options.perClass + 5 * k, testPerClass: 5, seed: seed * 1000 + k },
    })),
  };
}

/**
 * A coordinator encoder that knows only features computed beforehand: `prompts[i]` answers row i of `text`; any
 * other prompt, and every image, is refused (the federation's reference and test sets come as features).
 */
export function precomputedEncoder(identity: EncoderIdentity, prompts: readonly string[], text: Float32Array, note: string): FeatureEncoder {
  const dim = identity.featureDim;
  if (text.length !== prompts.length * dim) throw new PrivateDataError(`text features: ${text.length} values for ${prompts.length} prompts of dimension ${dim}`);
  const rows = new Map(prompts.map((prompt, i) => [prompt, i]));
  return {
    identity,
    source: 'tiny',
    note,
    encodeTexts(asked) {
      const out = new Float32Array(asked.length * dim);
      for (const [i, prompt] of asked.entries()) {
        const row = rows.get(prompt);
        if (row === undefined) return Promise.reject(new Error(`no precomputed text features for the prompt "${prompt}"`));
        out.set(text.subarray(row * dim, (row + 1) * dim), i * dim);
      }
      return Promise.resolve(out);
    },
    encodeImages: () => Promise.reject(new Error('this encoder holds precomputed features only; it encodes no images')),
    generateImages: () => {
      throw new Error('this encoder holds precomputed features only; it generates no images');
    },
    dispose: () => Promise.resolve(),
  };
}

/** The federation of `--data`: the last site is the global site, the others train. */
export function imageDataFederation(data: ImageData, seed: number): PrivateFederationSource {
  const { dim, classNames } = data;
  if (data.sites.length < 3) throw new PrivateDataError(`--data needs at least 3 sites (2 training sites and the global site, the last), found ${data.sites.length}`);
  const global = data.sites[data.sites.length - 1] as ImageData['sites'][number];
  const globalCount = rowCount(global.data);
  if (globalCount < 2) throw new PrivateDataError(`the global site ${global.name} has ${globalCount} images; its features are the reference and test sets, which need at least 2`);
  const sites = data.sites.slice(0, -1).map((site, k) => {
    const split = splitFeatureSet(site.data, seed * 1009 + k, PAPER_SPLIT);
    if (split.train.labels.length === 0) throw new PrivateDataError(`training site ${site.name} has no training images`);
    const data: NodeSiteData = { kind: 'features', data: { train: split.train, test: split.test.labels.length > 0 ? split.test : null } };
    return { name: site.name, data };
  });
  const reference = encodeTensors({ features: { shape: [globalCount, dim], data: global.data.features } }).bytes;
  const globalTest = encodeTensors({
    features: { shape: [globalCount, dim], data: global.data.features },
    labels: { shape: [globalCount], data: Float32Array.from(global.data.labels) },
  }).bytes;
  // The federation's prompts are its template over its class names; each answers the loader's text features of that
  // class (encoded from the prompt as --prompt-names rendered it).
  const promptTemplate = DEFAULT_PROMPT_TEMPLATE;
  const identity: EncoderIdentity = { modelId: data.modelId, hash: data.modelHash, featureDim: dim };
  return {
    description: `${data.description}; global site ${global.name} (${globalCount} images: reference and test set)`,
    dim,
    classNames,
    promptTemplate,
    reference: { kind: 'features', data: bytesToBase64(reference) },
    globalTest: { kind: 'features', data: bytesToBase64(globalTest) },
    encoder: precomputedEncoder(identity, promptsFor(promptTemplate, classNames), data.textFeatures.features, `${data.modelId}: features encoded by the simulation`),
    sites,
  };
}
