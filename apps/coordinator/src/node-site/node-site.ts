/**
 * A hospital site in Node: the platform-free `@facmic/site` loop fed with features from an encoder (the frozen CLIP
 * of `@facmic/encoder`, or the synthetic one in tests). Used by the tests, `npm run simulate:coordinator` and the
 * virtual hospitals of the demo. The caller initialises a tfjs backend first (`initTfBackend`).
 */
import type { FeatureSet } from '@facmic/learning';
import { SeededRandom, splitItems } from '@facmic/learning/plain';
import type { FederationConfig, TensorDtype } from '@facmic/protocol';
import { createSiteClient, type SiteClient, type SiteClientOptions, type SiteData } from '@facmic/site';
import type { FeatureEncoder, LabelledImage } from '../features/feature-encoder.ts';
import { listLabelledImages } from '../features/federation-data.ts';

export type NodeSiteData =
  /** Generated class images (`encoder.generateImages`), with this site's acquisition shift. */
  | { kind: 'generated'; trainPerClass: number | readonly number[]; testPerClass: number; seed: number }
  /**
   * A folder with one sub-folder per class, split by the project's one rule (`splitItems` of @facmic/learning/plain:
   * seeded, 80/10/10, the validation part kept aside), as `simulate` and the browser hospital split it. With `shard`,
   * the site keeps only its share of each class (image i goes to shard i mod count, after a seeded shuffle); with
   * `limitPerClass`, at most that many images of each class.
   */
  | { kind: 'folder'; path: string; seed: number; limitPerClass?: number; shard?: { index: number; count: number } }
  /** Features encoded elsewhere. */
  | { kind: 'features'; data: SiteData };

export interface NodeSiteOptions {
  coordinatorUrl: string;
  federationId: string;
  token: string;
  /** Name used for generated images' site shift and in logs. */
  name: string;
  encoder: FeatureEncoder;
  data: NodeSiteData;
  weightsDtype?: TensorDtype;
  seed?: number;
  connection?: SiteClientOptions['connection'];
  signal?: AbortSignal;
  /** Measurements only: the delta and weight this site encodes for secure aggregation (`SiteClientOptions`). */
  onSecureInput?: SiteClientOptions['onSecureInput'];
}


async function encodeSet(encoder: FeatureEncoder, images: LabelledImage[], onProgress?: (done: number, total: number) => void): Promise<FeatureSet> {
  const encoded = await encoder.encodeImages(images, onProgress);
  return { dim: encoder.identity.featureDim, features: encoded.features, labels: Int32Array.from(encoded.indices.map((i) => (images[i] as LabelledImage).label)) };
}

/** Encodes a Node site's data for a federation (labels follow `federation.classNames`). */
export async function loadNodeSiteData(
  federation: FederationConfig,
  options: Pick<NodeSiteOptions, 'encoder' | 'data' | 'name'>,
  onProgress?: (fraction: number) => void,
): Promise<SiteData> {
  const { encoder, data } = options;
  if (data.kind === 'features') return data.data;
  if (data.kind === 'generated') {
    const perClass = data.trainPerClass;
    const train: LabelledImage[] = [];
    federation.classNames.forEach((className, label) => {
      const count = typeof perClass === 'number' ? perClass : (perClass[label % perClass.length] ?? 0);
      const images = encoder.generateImages([className], count, options.name, data.seed);
      for (const image of images) train.push({ ...image, label });
    });
    const test = data.testPerClass > 0 ? encoder.generateImages(federation.classNames, data.testPerClass, options.name, data.seed + 7777) : [];
    const trainSet = await encodeSet(encoder, train, (done, total) => onProgress?.(done / (total + test.length)));
    const testSet = test.length > 0 ? await encodeSet(encoder, test, (done) => onProgress?.((train.length + done) / (train.length + test.length))) : null;
    return { train: trainSet, test: testSet };
  }
  const all = await listLabelledImages(data.path, federation.classNames);
  const kept: LabelledImage[] = [];
  for (let label = 0; label < federation.classNames.length; label++) {
    let images = all.filter((image) => image.label === label).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    const shard = data.shard;
    if (shard) images = new SeededRandom(data.seed * 1009 + label).shuffle(images).filter((_, i) => i % shard.count === shard.index);
    if (data.limitPerClass !== undefined) images = images.slice(0, data.limitPerClass);
    kept.push(...images);
  }
  const split = splitItems(kept, data.seed, (image) => image.name);
  const train = [...split.train];
  const test = [...split.test];
  if (train.length < 2) throw new Error(`${data.path} holds fewer than 2 training images for the classes ${federation.classNames.join(', ')}`);
  const total = train.length + test.length;
  const trainSet = await encodeSet(encoder, train, (done) => onProgress?.(done / total));
  const testSet = test.length > 0 ? await encodeSet(encoder, test, (done) => onProgress?.((train.length + done) / total)) : null;
  return { train: trainSet, test: testSet };
}

export function createNodeSite(options: NodeSiteOptions): SiteClient {
  return createSiteClient({
    coordinatorUrl: options.coordinatorUrl,
    federationId: options.federationId,
    token: options.token,
    encoder: { modelId: options.encoder.identity.modelId, hash: options.encoder.identity.hash },
    loadData: ({ federation, progress }) => loadNodeSiteData(federation, options, (fraction) => { progress(fraction); }),
    clientName: `facmic-node-site (${options.name})`,
    ...(options.weightsDtype ? { weightsDtype: options.weightsDtype } : {}),
    ...(options.seed === undefined ? {} : { seed: options.seed }),
    ...(options.connection ? { connection: options.connection } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.onSecureInput ? { onSecureInput: options.onSecureInput } : {}),
  });
}
