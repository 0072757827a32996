/**
 * The hospital's local split into train / validation / test (80/10/10 as in the paper), stratified by class and
 * seeded, so the same folder and seed always give the same split (a reload keeps it, and a report can be reproduced).
 */

export interface SplitFractions {
  readonly train: number;
  readonly validation: number;
  readonly test: number;
}

export const PAPER_SPLIT: SplitFractions = { train: 0.8, validation: 0.1, test: 0.1 };

export type SplitPart = 'train' | 'validation' | 'test';

export interface LocalSplit<T> {
  readonly train: readonly T[];
  readonly validation: readonly T[];
  readonly test: readonly T[];
}

/** FNV-1a hash of a string to 32 bits: turns a text seed into a number. */
export function hashSeed(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

/** mulberry32: a small, fast, seeded generator of numbers in [0, 1). */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function seededShuffle<T>(items: readonly T[], random: () => number): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const a = out[i] as T;
    out[i] = out[j] as T;
    out[j] = a;
  }
  return out;
}

/**
 * How many of a class's `n` images go to validation and test. Each gets its rounded share, at least one as soon as
 * the class has three images, and training always keeps at least one image.
 */
export function splitCounts(n: number, fractions: SplitFractions = PAPER_SPLIT): { train: number; validation: number; test: number } {
  if (n < 3) return { train: n, validation: 0, test: 0 };
  const total = fractions.train + fractions.validation + fractions.test;
  const validation = Math.max(1, Math.round((n * fractions.validation) / total));
  const test = Math.max(1, Math.round((n * fractions.test) / total));
  const train = Math.max(1, n - validation - test);
  return { train, validation: n - train - test, test };
}

/**
 * Splits items by class with a seed. Items are first ordered by `key` so the order in which the browser lists files
 * does not change the split.
 */
export function splitLocal<T>(
  items: readonly T[],
  labelOf: (item: T) => number,
  keyOf: (item: T) => string,
  seed: string,
  fractions: SplitFractions = PAPER_SPLIT,
): LocalSplit<T> {
  const byLabel = new Map<number, T[]>();
  for (const item of items) {
    const label = labelOf(item);
    const list = byLabel.get(label);
    if (list) list.push(item);
    else byLabel.set(label, [item]);
  }
  const train: T[] = [];
  const validation: T[] = [];
  const test: T[] = [];
  for (const label of [...byLabel.keys()].sort((a, b) => a - b)) {
    const sorted = [...(byLabel.get(label) ?? [])].sort((a, b) => (keyOf(a) < keyOf(b) ? -1 : keyOf(a) > keyOf(b) ? 1 : 0));
    const shuffled = seededShuffle(sorted, seededRandom(hashSeed(`${seed}:${label}`)));
    const counts = splitCounts(shuffled.length, fractions);
    train.push(...shuffled.slice(0, counts.train));
    validation.push(...shuffled.slice(counts.train, counts.train + counts.validation));
    test.push(...shuffled.slice(counts.train + counts.validation));
  }
  return { train, validation, test };
}
