import type { FeatureCache } from '../types.ts';

/** A feature cache in memory, for tests and for pages without IndexedDB. */
export function createMemoryFeatureCache(): FeatureCache {
  const store = new Map<string, Float32Array>();
  return {
    description: 'memory',
    getMany(modelHash, imageHashes) {
      return Promise.resolve(imageHashes.map((h) => store.get(`${modelHash}:${h}`)?.slice()));
    },
    putMany(modelHash, entries) {
      for (const { imageHash, features } of entries) store.set(`${modelHash}:${imageHash}`, features.slice());
      return Promise.resolve();
    },
    close() {
      return Promise.resolve();
    },
  };
}
