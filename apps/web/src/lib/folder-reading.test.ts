import { describe, expect, it } from 'vitest';
import { fileExtension } from '@facmic/encoder/image-files';
import { commonRoot, detectClassLevel, scanFolder } from './folder-reading.ts';
import type { PickedFile } from './folder-reading.ts';

const picked = (path: string, size = 10): PickedFile<string> => ({ path, size, file: path });
const CLASSES = ['glioma', 'meningioma', 'no tumor', 'pituitary'];

describe('folder reading', () => {
  it('reads extensions in lower case and none for dot files', () => {
    expect(fileExtension('a/b/IMG.JPG')).toBe('jpg');
    expect(fileExtension('a/.hidden')).toBe('');
    expect(fileExtension('a/b.c/noext')).toBe('');
  });

  it('finds the common top folder of a picked directory', () => {
    expect(commonRoot(['mri/glioma/a.png', 'mri/pituitary/b.png'])).toBe('mri');
    expect(commonRoot(['a/x.png', 'b/y.png'])).toBe('');
    expect(commonRoot(['loose.png'])).toBe('');
  });

  it('groups images by the folder directly inside the chosen one', () => {
    const scan = scanFolder(
      [picked('mri/glioma/1.png'), picked('mri/glioma/2.jpg'), picked('mri/pituitary/a/3.webp'), picked('mri/no_tumor/4.jpeg')],
      CLASSES,
    );
    expect(scan.rootName).toBe('mri');
    expect(scan.classLevel).toBe(0);
    expect(scan.folders.map((f) => [f.name, f.files.length])).toEqual([
      ['glioma', 2],
      ['no_tumor', 1],
      ['pituitary', 1],
    ]);
    expect(scan.ignored).toEqual([]);
  });

  it('lists non-images, empty files and loose files with a reason, and skips system files silently', () => {
    const scan = scanFolder(
      [picked('mri/glioma/1.png'), picked('mri/glioma/notes.txt'), picked('mri/glioma/0.png', 0), picked('mri/readme.png'), picked('mri/.DS_Store'), picked('mri/glioma/README')],
      CLASSES,
    );
    expect(scan.folders).toHaveLength(1);
    expect(Object.fromEntries(scan.ignored.map((i) => [i.path, i.reason]))).toEqual({
      'mri/glioma/notes.txt': 'not an image (.txt)',
      'mri/glioma/0.png': 'empty file',
      'mri/readme.png': 'not inside a class folder',
      'mri/glioma/README': 'not an image (no file extension)',
    });
  });

  it('finds classes one level down when the folder holds Training/Testing', () => {
    const files = ['data/Training/glioma_tumor/1.jpg', 'data/Training/pituitary_tumor/2.jpg', 'data/Testing/glioma_tumor/3.jpg'].map((p) => picked(p));
    const scan = scanFolder(files, CLASSES);
    expect(scan.classLevel).toBe(1);
    expect(scan.folders.map((f) => [f.name, f.files.length])).toEqual([
      ['glioma_tumor', 2],
      ['pituitary_tumor', 1],
    ]);
  });

  it('prefers the shallowest level on a tie and level 0 when nothing matches', () => {
    expect(detectClassLevel([['cats', 'a.png'], ['dogs', 'b.png']], CLASSES)).toBe(0);
    expect(detectClassLevel([['glioma', 'glioma', 'a.png']], CLASSES)).toBe(0);
  });
});
