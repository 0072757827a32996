import { describe, expect, it } from 'vitest';
import type { LabeledFile } from './class-mapping.ts';
import { filesToHash, findDuplicates } from './duplicate-images.ts';

const file = (path: string, size: number, label: number): LabeledFile<null> => ({ path, size, label, file: null });

describe('exact duplicate files', () => {
  const files = [
    file('root/glioma/a.png', 100, 0),
    file('root/glioma/a copy.png', 100, 0),
    file('root/glioma/b.png', 100, 0),
    file('root/glioma/c.png', 250, 0),
    file('root/pituitary/b again.png', 100, 1),
    file('root/pituitary/d.png', 300, 1),
    file('root/pituitary/e.png', 100, 1),
  ];
  const digests: Record<string, string> = {
    'root/glioma/a.png': 'A',
    'root/glioma/a copy.png': 'A',
    'root/glioma/b.png': 'B',
    'root/pituitary/b again.png': 'B',
    'root/pituitary/e.png': 'E',
  };

  it('hashes only files whose size another file shares', () => {
    expect(filesToHash(files).map((f) => f.path)).toEqual(['root/glioma/a.png', 'root/glioma/a copy.png', 'root/glioma/b.png', 'root/pituitary/b again.png', 'root/pituitary/e.png']);
  });

  it('keeps one file per image of a class, and leaves out an image filed under two classes', () => {
    const report = findDuplicates(files, (path) => digests[path]);
    expect(report.copies).toEqual([{ path: 'root/glioma/a.png', keptPath: 'root/glioma/a copy.png' }]);
    expect(report.inSeveralClasses).toEqual([{ paths: ['root/glioma/b.png', 'root/pituitary/b again.png'], labels: [0, 1] }]);
    expect(report.kept.map((f) => f.path)).toEqual(['root/glioma/a copy.png', 'root/glioma/c.png', 'root/pituitary/d.png', 'root/pituitary/e.png']);
  });

  it('treats files without a digest (not hashed yet) as distinct', () => {
    expect(findDuplicates(files, () => undefined).kept).toHaveLength(files.length);
  });
});
