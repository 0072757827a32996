/**
 * Feature cache in the browser's IndexedDB: database `facmic-features`, object store `features`, key
 * `<model hash>:<image sha256>`, value the feature bytes (Float32, little-endian ArrayBuffer).
 */
import type { FeatureCache } from '../types.ts';

const STORE = 'features';

function request<T>(req: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => {
      resolve(req.result);
    };
    req.onerror = () => {
      reject(req.error ?? new Error('IndexedDB request failed'));
    };
  });
}

function done(tx: IDBTransaction): Promise<void> {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => {
      resolve();
    };
    tx.onerror = () => {
      reject(tx.error ?? new Error('IndexedDB transaction failed'));
    };
    tx.onabort = () => {
      reject(tx.error ?? new Error('IndexedDB transaction aborted'));
    };
  });
}

export async function openIndexedDbFeatureCache(name = 'facmic-features'): Promise<FeatureCache> {
  const open = indexedDB.open(name, 1);
  open.onupgradeneeded = () => {
    if (!open.result.objectStoreNames.contains(STORE)) open.result.createObjectStore(STORE);
  };
  const db = await request(open);
  return {
    description: `indexeddb:${name}`,
    async getMany(modelHash, imageHashes) {
      if (imageHashes.length === 0) return [];
      const store = db.transaction(STORE, 'readonly').objectStore(STORE);
      const values = await Promise.all(imageHashes.map((h) => request(store.get(`${modelHash}:${h}`) as IDBRequest<unknown>)));
      return values.map((v) => (v instanceof ArrayBuffer ? new Float32Array(v) : undefined));
    },
    async putMany(modelHash, entries) {
      if (entries.length === 0) return;
      const tx = db.transaction(STORE, 'readwrite');
      const store = tx.objectStore(STORE);
      for (const { imageHash, features } of entries) store.put(features.slice().buffer, `${modelHash}:${imageHash}`);
      await done(tx);
    },
    close() {
      db.close();
      return Promise.resolve();
    },
  };
}
