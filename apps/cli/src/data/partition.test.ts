import { describe, expect, it } from 'vitest';
import { describePartition, parsePartition, partitionIndices } from './partition.ts';

const labels = Array.from({ length: 400 }, (_, i) => i % 4);

describe('site partitions', () => {
  it('parses iid and dirichlet:<alpha>, and refuses anything else', () => {
    expect(parsePartition('iid')).toEqual({ kind: 'iid' });
    expect(parsePartition('dirichlet:0.5')).toEqual({ kind: 'dirichlet', alpha: 0.5 });
    expect(describePartition(parsePartition('dirichlet:2'))).toBe('dirichlet(alpha=2)');
    for (const bad of ['dirichlet:0', 'dirichlet:-1', 'dirichlet:', 'random', 'dirichlet:abc']) expect(() => parsePartition(bad)).toThrow(/--partition/);
  });

  it('iid: every sample once, equal site sizes, deterministic in the seed', () => {
    const parts = partitionIndices(labels, 4, { kind: 'iid' }, 3);
    expect(parts.map((p) => p.length)).toEqual([100, 100, 100, 100]);
    expect(parts.flat().sort((a, b) => a - b)).toEqual(labels.map((_, i) => i));
    expect(partitionIndices(labels, 4, { kind: 'iid' }, 3)).toEqual(parts);
    expect(partitionIndices(labels, 4, { kind: 'iid' }, 4)).not.toEqual(parts);
  });

  it('dirichlet: every sample once, label mixes skewed more for a small alpha', () => {
    const skew = (alpha: number) => {
      const parts = partitionIndices(labels, 4, { kind: 'dirichlet', alpha }, 7);
      expect(parts.flat().sort((a, b) => a - b)).toEqual(labels.map((_, i) => i));
      // Mean over sites of the largest class share.
      return parts.reduce((sum, p) => {
        const counts = [0, 1, 2, 3].map((c) => p.filter((i) => labels[i] === c).length);
        return sum + Math.max(...counts) / p.length;
      }, 0) / parts.length;
    };
    expect(skew(0.1)).toBeGreaterThan(skew(100));
    expect(skew(100)).toBeLessThan(0.4);
  });

  it('refuses splits that cannot give every site samples', () => {
    expect(() => partitionIndices([0, 1, 0], 4, { kind: 'iid' }, 1)).toThrow(/cannot give 4 sites/);
  });
});
