import { describe, expect, it } from 'vitest';
import { applyClassMapping, editDistance, isIdentityMapping, suggestClass, suggestClassMapping } from './class-mapping.ts';

const CLASSES = ['glioma', 'meningioma', 'no tumor', 'pituitary'];

describe('class mapping', () => {
  it('computes edit distances', () => {
    expect(editDistance('kitten', 'sitting')).toBe(3);
    expect(editDistance('', 'abc')).toBe(3);
    expect(editDistance('same', 'same')).toBe(0);
  });

  it('matches case, punctuation, filler words, containment and small typos', () => {
    expect(suggestClass('Glioma', CLASSES)).toBe(0);
    expect(suggestClass('no_tumor', CLASSES)).toBe(2);
    expect(suggestClass('glioma_tumor', CLASSES)).toBe(0);
    expect(suggestClass('Meningioma images', CLASSES)).toBe(1);
    expect(suggestClass('menigioma', CLASSES)).toBe(1);
    expect(suggestClass('pituitary-adenoma', CLASSES)).toBe(3);
  });

  it('leaves unknown folders unmapped', () => {
    expect(suggestClass('x-rays', CLASSES)).toBeNull();
    expect(suggestClass('misc', CLASSES)).toBeNull();
  });

  it('tells when no mapping step is needed', () => {
    expect(isIdentityMapping(suggestClassMapping(['glioma', 'No Tumor'], CLASSES), CLASSES)).toBe(true);
    expect(isIdentityMapping(suggestClassMapping(['glioma_tumor'], CLASSES), CLASSES)).toBe(false);
  });

  it('labels files, merges folders mapped to one class, and reports missing classes and left-out folders', () => {
    const folders = [
      { name: 'g1', files: [{ path: 'r/g1/a.png', size: 1, file: 1 }] },
      { name: 'g2', files: [{ path: 'r/g2/b.png', size: 1, file: 2 }, { path: 'r/g2/c.png', size: 1, file: 3 }] },
      { name: 'other', files: [{ path: 'r/other/d.png', size: 1, file: 4 }] },
    ];
    const mapped = applyClassMapping(folders, { g1: 0, g2: 0, other: null }, CLASSES);
    expect(mapped.files.map((f) => [f.file, f.label])).toEqual([
      [1, 0],
      [2, 0],
      [3, 0],
    ]);
    expect(mapped.countsPerClass).toEqual([3, 0, 0, 0]);
    expect(mapped.missingClasses).toEqual(['meningioma', 'no tumor', 'pituitary']);
    expect(mapped.leftOut).toEqual([{ folder: 'other', count: 1 }]);
  });
});
