import { describe, expect, it } from 'vitest';
import { SeededRandom, textSeed } from './prng.ts';
import { PAPER_SPLIT, splitFeatureSet, splitItems, splitRows, splitSizes } from './split.ts';

describe('the one split', () => {
  it('cuts floor(0.8 n) / floor(0.1 n) / the rest, as the paper', () => {
    expect(splitSizes(100)).toEqual({ train: 80, validation: 10, test: 10 });
    expect(splitSizes(236)).toEqual({ train: 188, validation: 23, test: 25 });
    expect(splitSizes(53)).toEqual({ train: 42, validation: 5, test: 6 });
    expect(splitSizes(9)).toEqual({ train: 7, validation: 0, test: 2 });
    expect(splitSizes(0)).toEqual({ train: 0, validation: 0, test: 0 });
    expect(splitSizes(10, { train: 0.5, validation: 0.25, test: 0.25 })).toEqual({ train: 5, validation: 2, test: 3 });
    expect(() => splitSizes(10, { train: 0.5, validation: 0.2, test: 0.2 })).toThrow(/sum to 1/);
    expect(() => splitSizes(-1)).toThrow(RangeError);
  });

  it('is a seeded shuffle of all rows (not stratified), complete and disjoint', () => {
    const split = splitRows(53, 3);
    const all = [...split.train, ...split.validation, ...split.test].sort((a, b) => a - b);
    expect(all).toEqual(Array.from({ length: 53 }, (_, i) => i));
    const order = new SeededRandom(3).permutation(53);
    expect([...split.train, ...split.validation, ...split.test]).toEqual([...order]);
    expect(splitRows(53, 3)).toEqual(split);
    expect([...splitRows(53, 4).test]).not.toEqual([...split.test]);
  });

  it('takes text seeds through textSeed', () => {
    expect(splitRows(40, 'hospital-a')).toEqual(splitRows(40, textSeed('hospital-a')));
    expect([...splitRows(40, 'hospital-a').test]).not.toEqual([...splitRows(40, 'hospital-b').test]);
  });

  it('depends on the seed, not on the order in which the items are listed', () => {
    const items = Array.from({ length: 80 }, (_, i) => ({ path: `c${i % 2}/${String(i).padStart(3, '0')}.png` }));
    const a = splitItems(items, 'seed-1', (item) => item.path);
    const b = splitItems([...items].reverse(), 'seed-1', (item) => item.path);
    expect(b).toEqual(a);
    expect(a.train).toHaveLength(64);
    expect(a.validation).toHaveLength(8);
    expect(a.test).toHaveLength(8);
    expect(splitItems(items, 'seed-2', (item) => item.path).test).not.toEqual(a.test);
  });

  it('splits a feature set into its rows', () => {
    const count = 20;
    const set = { dim: 2, features: Float32Array.from({ length: count * 2 }, (_, i) => i), labels: Int32Array.from({ length: count }, (_, i) => i % 3) };
    const split = splitFeatureSet(set, 7, PAPER_SPLIT);
    const rows = splitRows(count, 7);
    expect([...split.test.labels]).toEqual([...rows.test].map((row) => row % 3));
    expect([...split.test.features]).toEqual([...rows.test].flatMap((row) => [2 * row, 2 * row + 1]));
    expect(split.train.labels).toHaveLength(16);
  });
});

describe('SeededRandom additions', () => {
  it('hashes text seeds with FNV-1a', () => {
    expect(textSeed('')).toBe(0x811c9dc5);
    expect(textSeed('a')).toBe(0xe40c292c);
    expect(SeededRandom.fromText('abc').nextUint32()).toBe(new SeededRandom(textSeed('abc')).nextUint32());
  });

  it('draws Irwin-Hall normals with mean 0 and variance 1, bounded', () => {
    const random = new SeededRandom(11);
    let sum = 0;
    let squares = 0;
    let largest = 0;
    for (let i = 0; i < 40_000; i++) {
      const value = random.irwinHallNormal();
      sum += value;
      squares += value * value;
      largest = Math.max(largest, Math.abs(value));
    }
    expect(Math.abs(sum / 40_000)).toBeLessThan(0.03);
    expect(Math.abs(squares / 40_000 - 1)).toBeLessThan(0.05);
    expect(largest).toBeLessThanOrEqual(3 * Math.SQRT2);
  });
});
