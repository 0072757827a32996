import { describe, expect, it } from 'vitest';
import { hashSeed, seededRandom, seededShuffle, splitCounts, splitLocal } from './local-split.ts';

interface Item {
  path: string;
  label: number;
}

function items(perClass: readonly number[]): Item[] {
  return perClass.flatMap((n, label) => Array.from({ length: n }, (_, i) => ({ path: `c${label}/${String(i).padStart(4, '0')}.png`, label })));
}

const split = (list: readonly Item[], seed: string) => splitLocal(list, (i) => i.label, (i) => i.path, seed);

describe('local split', () => {
  it('gives 80/10/10 per class as in the paper', () => {
    expect(splitCounts(100)).toEqual({ train: 80, validation: 10, test: 10 });
    expect(splitCounts(10)).toEqual({ train: 8, validation: 1, test: 1 });
    expect(splitCounts(3)).toEqual({ train: 1, validation: 1, test: 1 });
    expect(splitCounts(2)).toEqual({ train: 2, validation: 0, test: 0 });
    expect(splitCounts(0)).toEqual({ train: 0, validation: 0, test: 0 });
  });

  it('is stratified, complete and disjoint', () => {
    const list = items([50, 20, 7]);
    const { train, validation, test } = split(list, 'site-a');
    expect(train.length + validation.length + test.length).toBe(list.length);
    expect(new Set([...train, ...validation, ...test].map((i) => i.path)).size).toBe(list.length);
    const perClass = (part: readonly Item[], label: number) => part.filter((i) => i.label === label).length;
    expect([perClass(test, 0), perClass(test, 1), perClass(test, 2)]).toEqual([5, 2, 1]);
    expect([perClass(validation, 0), perClass(validation, 1), perClass(validation, 2)]).toEqual([5, 2, 1]);
  });

  it('depends on the seed, not on the order the browser lists the files', () => {
    const list = items([40, 40]);
    const a = split(list, 'seed-1');
    const b = split([...list].reverse(), 'seed-1');
    const c = split(list, 'seed-2');
    expect(b.test.map((i) => i.path)).toEqual(a.test.map((i) => i.path));
    expect(c.test.map((i) => i.path)).not.toEqual(a.test.map((i) => i.path));
  });

  it('shuffles with a reproducible generator', () => {
    expect(hashSeed('abc')).toBe(hashSeed('abc'));
    expect(hashSeed('abc')).not.toBe(hashSeed('abd'));
    const r = seededRandom(1);
    const values = Array.from({ length: 1000 }, r);
    expect(Math.min(...values)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...values)).toBeLessThan(1);
    expect(seededShuffle([1, 2, 3, 4, 5], seededRandom(7))).toEqual(seededShuffle([1, 2, 3, 4, 5], seededRandom(7)));
    expect([...seededShuffle([1, 2, 3, 4, 5], seededRandom(7))].sort()).toEqual([1, 2, 3, 4, 5]);
  });
});
