/**
 * The project's one train / validation / test split, used by `simulate`, the browser hospital and the Node virtual
 * hospital alike (so the same folder and seed give the same split everywhere).
 *
 * The rule is the paper's (`prepare_data_dg_clip.py`): a seeded shuffle of all of the site's rows, then the first
 * floor(0.8 n) rows train, the next floor(0.1 n) validate, and the rest test. It is NOT stratified by class: that keeps
 * the sizes of every part exactly the paper's for the same site (so a site's steps, its aggregation weight and its
 * test-set size are what the paper's code gives), and one rule for any label distribution. The cost: a class with
 * very few images may be missing from a small site's validation or test part (the hospital page shows the counts).
 * See the learning README.
 */
import type { FeatureSet } from './features.ts';
import { rowCount, selectRows } from './features.ts';
import { SeededRandom } from './prng.ts';

export interface SplitFractions {
  readonly train: number;
  readonly validation: number;
  readonly test: number;
}

/** 80 / 10 / 10, as the paper. */
export const PAPER_SPLIT: SplitFractions = { train: 0.8, validation: 0.1, test: 0.1 };

export type SplitPart = keyof SplitFractions;

/** Row indices (into the caller's list) of each part, each part in shuffled order. */
export interface RowSplit {
  readonly train: Int32Array;
  readonly validation: Int32Array;
  readonly test: Int32Array;
}

export interface ItemSplit<T> {
  readonly train: readonly T[];
  readonly validation: readonly T[];
  readonly test: readonly T[];
}

/** A numeric seed, or a text one (a hospital's name or token, say) hashed by `textSeed`. */
export type SplitSeed = number | string;

function checkFractions(fractions: SplitFractions): void {
  const { train, validation, test } = fractions;
  if (![train, validation, test].every((f) => Number.isFinite(f) && f >= 0) || Math.abs(train + validation + test - 1) > 1e-9) {
    throw new RangeError(`split fractions must be non-negative and sum to 1, got ${train}/${validation}/${test}`);
  }
}

/** Sizes of the parts for `count` rows: floor(n * train), floor(n * validation), the rest. */
export function splitSizes(count: number, fractions: SplitFractions = PAPER_SPLIT): { train: number; validation: number; test: number } {
  if (!Number.isInteger(count) || count < 0) throw new RangeError(`row count must be a non-negative integer, got ${count}`);
  checkFractions(fractions);
  const train = Math.floor(count * fractions.train);
  const validation = Math.floor(count * fractions.validation);
  return { train, validation, test: count - train - validation };
}

/** Splits rows 0..count-1 with a seeded shuffle (see the file comment). */
export function splitRows(count: number, seed: SplitSeed, fractions: SplitFractions = PAPER_SPLIT): RowSplit {
  const sizes = splitSizes(count, fractions);
  const random = typeof seed === 'string' ? SeededRandom.fromText(seed) : new SeededRandom(seed);
  const order = random.permutation(count);
  return {
    train: order.slice(0, sizes.train),
    validation: order.slice(sizes.train, sizes.train + sizes.validation),
    test: order.slice(sizes.train + sizes.validation),
  };
}

/**
 * Splits items. With `keyOf`, the items are first sorted by key (a file path, say), so the order in which a browser or
 * a file system lists them does not change the split.
 */
export function splitItems<T>(items: readonly T[], seed: SplitSeed, keyOf?: (item: T) => string, fractions: SplitFractions = PAPER_SPLIT): ItemSplit<T> {
  let ordered = items;
  if (keyOf !== undefined) {
    const keyed = items.map((item) => ({ item, key: keyOf(item) }));
    keyed.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    ordered = keyed.map((entry) => entry.item);
  }
  const rows = splitRows(ordered.length, seed, fractions);
  const pick = (part: Int32Array): T[] => Array.from(part, (row) => ordered[row] as T);
  return { train: pick(rows.train), validation: pick(rows.validation), test: pick(rows.test) };
}

/** A labelled feature set split by the one rule. */
export interface FeatureSplit {
  readonly train: FeatureSet;
  readonly validation: FeatureSet;
  readonly test: FeatureSet;
}

/** Splits a labelled feature set by the one rule (its rows in their stored order are the items). */
export function splitFeatureSet(set: FeatureSet, seed: SplitSeed, fractions: SplitFractions = PAPER_SPLIT): FeatureSplit {
  const rows = splitRows(rowCount(set), seed, fractions);
  return { train: selectRows(set, rows.train), validation: selectRows(set, rows.validation), test: selectRows(set, rows.test) };
}
