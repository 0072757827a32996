import { rowCount, splitFeatureSet } from '@facmic/learning/plain';
import { base64ToBytes, decodeTensors, type EncoderIdentity } from '@facmic/protocol';
import { describe, expect, it } from 'vitest';
import type { ImageData } from './data/image-data.ts';
import { imageDataFederation, precomputedEncoder, PrivateDataError, syntheticFederation } from './private-federation.ts';

const DIM = 3;

/** Site k has `sizes[k]` rows; row i of site k holds k*100 + i in every column (so rows can be traced). */
function imageData(sizes: readonly number[]): ImageData {
  const sites = sizes.map((size, k) => ({
    name: `client_${k}`,
    data: {
      dim: DIM,
      features: Float32Array.from({ length: size * DIM }, (_, j) => k * 100 + Math.floor(j / DIM)),
      labels: Int32Array.from({ length: size }, (_, i) => i % 2),
    },
  }));
  return {
    description: 'test data',
    dim: DIM,
    classNames: ['glioma_tumor', 'no_tumor'],
    textFeatures: { dim: DIM, features: Float32Array.of(1, 2, 3, 4, 5, 6) },
    sites,
    errors: [],
    encoded: 0,
    cached: 0,
    modelId: 'facmic-tiny-clip',
    modelHash: 'abc123',
  };
}

function features(source: { kind: string; data?: string }) {
  if (source.kind !== 'features' || source.data === undefined) throw new Error(`expected features, got ${source.kind}`);
  return decodeTensors(base64ToBytes(source.data)).tensors;
}

describe('imageDataFederation', () => {
  it('trains the first sites on their 80/10/10 split and gives the last site to the coordinator as reference and test set', async () => {
    const data = imageData([20, 30, 40, 10]);
    const federation = imageDataFederation(data, 7);
    expect(federation.sites.map((s) => s.name)).toEqual(['client_0', 'client_1', 'client_2']);
    for (const [k, site] of federation.sites.entries()) {
      const expected = splitFeatureSet((data.sites[k] as ImageData['sites'][number]).data, 7 * 1009 + k);
      if (site.data.kind !== 'features') throw new Error('expected features');
      expect(Array.from(site.data.data.train.features)).toEqual(Array.from(expected.train.features));
      expect(site.data.data.test?.labels).toEqual(expected.test.labels);
      expect(rowCount(site.data.data.train)).toBe(expected.train.labels.length);
    }
    const reference = features(federation.reference);
    expect(reference.features?.shape).toEqual([10, DIM]);
    expect(Array.from(reference.features?.data ?? []).slice(0, 4)).toEqual([300, 300, 300, 301]);
    const test = features(federation.globalTest);
    expect(test.features?.shape).toEqual([10, DIM]);
    expect(Array.from(test.labels?.data ?? [])).toEqual([0, 1, 0, 1, 0, 1, 0, 1, 0, 1]);
    expect(federation.encoder.identity).toEqual({ modelId: 'facmic-tiny-clip', hash: 'abc123', featureDim: DIM });
    expect(federation.classNames).toEqual(['glioma_tumor', 'no_tumor']);
    // The coordinator asks for its template over the class names, in any order.
    const text = await federation.encoder.encodeTexts(['a picture of a no_tumor', 'a picture of a glioma_tumor']);
    expect(Array.from(text)).toEqual([4, 5, 6, 1, 2, 3]);
  });

  it('refuses too few sites, an empty global site and a training site without training images', () => {
    expect(() => imageDataFederation(imageData([20, 10]), 1)).toThrow(PrivateDataError);
    expect(() => imageDataFederation(imageData([20, 20, 1]), 1)).toThrow(/global site client_2 has 1 images/);
    expect(() => imageDataFederation(imageData([20, 0, 10]), 1)).toThrow(/client_1 has no training images/);
  });
});

describe('precomputedEncoder', () => {
  const identity: EncoderIdentity = { modelId: 'm', hash: 'h', featureDim: 2 };

  it('refuses unknown prompts, images, and text features of the wrong size', async () => {
    const encoder = precomputedEncoder(identity, ['a', 'b'], Float32Array.of(1, 2, 3, 4), 'note');
    await expect(encoder.encodeTexts(['b', 'c'])).rejects.toThrow(/prompt "c"/);
    await expect(encoder.encodeImages([{ name: 'x', source: 'x.png' }])).rejects.toThrow(/no images/);
    expect(() => encoder.generateImages(['a'], 1, 's', 1)).toThrow(/no images/);
    expect(() => precomputedEncoder(identity, ['a', 'b'], Float32Array.of(1, 2, 3), 'note')).toThrow(/3 values for 2 prompts/);
  });
});

describe('syntheticFederation', () => {
  it('gives site k perClass + 5k generated training images per class', () => {
    const federation = syntheticFederation({ sites: 3, dim: 8, noise: 0.6, perClass: 10, seed: 2 });
    expect(federation.sites.map((s) => (s.data.kind === 'generated' ? s.data.trainPerClass : null))).toEqual([10, 15, 20]);
    expect(federation.sites.map((s) => s.name)).toEqual(['hospital-1', 'hospital-2', 'hospital-3']);
    expect(federation.encoder.identity.featureDim).toBe(8);
  });
});
