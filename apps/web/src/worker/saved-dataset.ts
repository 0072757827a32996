/**
 * The hospital's prepared dataset (features, labels, split), saved in this browser's IndexedDB after encoding, so a
 * reloaded tab takes part again at once: no folder to pick again, nothing to encode again. Only features are kept
 * (never images), and only in this browser.
 */
import type { SplitPart } from '@facmic/learning/plain';
import type { OptimizerStore, SavedOptimizer } from '@facmic/site';

const DB_NAME = 'facmic-site';
/** 2: the `optimizers` store (Adam's state after the newest round trained, by the same key as the dataset). */
const DB_VERSION = 2;
const STORE = 'datasets';
const OPTIMIZERS = 'optimizers';

export const SPLIT_PARTS: readonly SplitPart[] = ['train', 'validation', 'test'];

export interface SavedDataset {
  /** Which session the dataset belongs to (coordinator, federation and site token hash). */
  readonly key: string;
  /** The encoder that produced the features; a dataset from another encoder is not used. */
  readonly modelHash: string;
  readonly dim: number;
  readonly classNames: readonly string[];
  /** Row-major [names.length, dim]. */
  readonly features: Float32Array;
  readonly labels: Int32Array;
  /** Index into {@link SPLIT_PARTS} per row. */
  readonly parts: Uint8Array;
  readonly names: readonly string[];
  readonly failures: readonly { readonly name: string; readonly message: string }[];
  readonly savedAt: number;
}

async function sha256Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join('');
}

/** The key of a session's saved dataset (the token is hashed, not stored as a key). */
export async function datasetKeyFor(invite: { readonly coordinatorUrl: string; readonly federationId: string; readonly token: string }): Promise<string> {
  return `${invite.coordinatorUrl}|${invite.federationId}|${(await sha256Hex(invite.token)).slice(0, 32)}`;
}

function openDatabase(): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    const request = indexedDB.open(DB_NAME, DB_VERSION);
    request.onupgradeneeded = () => {
      if (!request.result.objectStoreNames.contains(STORE)) request.result.createObjectStore(STORE, { keyPath: 'key' });
      if (!request.result.objectStoreNames.contains(OPTIMIZERS)) request.result.createObjectStore(OPTIMIZERS, { keyPath: 'key' });
    };
    request.onsuccess = () => {
      resolve(request.result);
    };
    request.onerror = () => {
      reject(request.error ?? new Error('IndexedDB could not be opened'));
    };
  });
}

async function withStore<T>(mode: IDBTransactionMode, run: (store: IDBObjectStore) => IDBRequest<T>, name = STORE): Promise<T> {
  const db = await openDatabase();
  try {
    return await new Promise<T>((resolve, reject) => {
      const tx = db.transaction(name, mode);
      const request = run(tx.objectStore(name));
      tx.oncomplete = () => {
        resolve(request.result);
      };
      tx.onerror = () => {
        reject(tx.error ?? new Error('IndexedDB transaction failed'));
      };
      tx.onabort = () => {
        reject(tx.error ?? new Error('IndexedDB transaction aborted (is the disk full?)'));
      };
    });
  } finally {
    db.close();
  }
}

export async function loadSavedDataset(key: string): Promise<SavedDataset | null> {
  const value = await withStore<unknown>('readonly', (store) => store.get(key));
  return isSavedDataset(value) ? value : null;
}

export async function saveDataset(dataset: SavedDataset): Promise<void> {
  await withStore('readwrite', (store) => store.put(dataset));
}

export async function deleteSavedDataset(key: string): Promise<void> {
  await withStore('readwrite', (store) => store.delete(key));
  await withStore('readwrite', (store) => store.delete(key), OPTIMIZERS);
}

/**
 * This session's Adam state, kept next to its features so a reloaded tab continues the paper's one optimiser per site
 * (see @facmic/site's optimizer-state.ts for what happens when it is lost).
 */
export function indexedDbOptimizerStore(key: string): OptimizerStore {
  return {
    load: async () => {
      const value = await withStore<unknown>('readonly', (store) => store.get(key), OPTIMIZERS);
      return isSavedOptimizer(value) ? { round: value.round, state: value.state } : null;
    },
    save: async (saved) => {
      await withStore('readwrite', (store) => store.put({ key, round: saved.round, state: saved.state, savedAt: Date.now() }), OPTIMIZERS);
    },
  };
}

function isSavedOptimizer(value: unknown): value is SavedOptimizer {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Partial<SavedOptimizer>;
  const moments = (m: unknown) => typeof m === 'object' && m !== null && Object.values(m).every((t: unknown) => typeof t === 'object' && t !== null && (t as { data?: unknown }).data instanceof Float32Array && Array.isArray((t as { shape?: unknown }).shape));
  return typeof v.round === 'number' && typeof v.state === 'object' && typeof v.state.step === 'number' && moments(v.state.firstMoments) && moments(v.state.secondMoments);
}

function isSavedDataset(value: unknown): value is SavedDataset {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Partial<SavedDataset>;
  return (
    typeof v.key === 'string' &&
    typeof v.modelHash === 'string' &&
    typeof v.dim === 'number' &&
    v.features instanceof Float32Array &&
    v.labels instanceof Int32Array &&
    v.parts instanceof Uint8Array &&
    Array.isArray(v.names) &&
    v.labels.length === v.names.length &&
    v.parts.length === v.names.length &&
    v.features.length === v.names.length * v.dim
  );
}

/** The rows of one split part as a labelled feature set. */
export function featuresOfPart(dataset: Pick<SavedDataset, 'dim' | 'features' | 'labels' | 'parts'>, part: SplitPart): { dim: number; features: Float32Array; labels: Int32Array } {
  const code = SPLIT_PARTS.indexOf(part);
  const rows: number[] = [];
  dataset.parts.forEach((p, i) => {
    if (p === code) rows.push(i);
  });
  const features = new Float32Array(rows.length * dataset.dim);
  const labels = new Int32Array(rows.length);
  rows.forEach((row, i) => {
    features.set(dataset.features.subarray(row * dataset.dim, (row + 1) * dataset.dim), i * dataset.dim);
    labels[i] = dataset.labels[row] ?? 0;
  });
  return { dim: dataset.dim, features, labels };
}
