/** The image-folder scanner: one extension list, sorted output, symbolic links followed, link loops cut. */
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fileExtension, IMAGE_EXTENSIONS, isImagePath } from '../image/image-files.ts';
import { findSiteFolders, listImageFiles, scanImageFolder } from './image-files.ts';

let root: string;

async function touch(file: string): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, 'x');
}

beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'facmic-image-files-'));
  for (const part of ['Training', 'Testing']) {
    for (const cls of ['glioma', 'meningioma']) for (const i of [1, 0]) await touch(path.join(root, 'dataset', part, cls, `${cls}-${i}.jpg`));
  }
  await touch(path.join(root, 'dataset', 'Training', 'glioma', 'notes.txt'));
  await touch(path.join(root, 'dataset', 'Training', 'glioma', '.DS_Store'));
  // A folder of client_* links to the dataset's folders (as one lays out sites without copying images).
  await mkdir(path.join(root, 'sites'));
  await symlink(path.join(root, 'dataset', 'Training'), path.join(root, 'sites', 'client_0'), 'dir');
  await symlink(path.join(root, 'dataset', 'Testing'), path.join(root, 'sites', 'client_1'), 'dir');
  await symlink(path.join(root, 'dataset', 'Training'), path.join(root, 'sites', 'client_10'), 'dir');
  // A loop, a broken link and a linked file.
  await touch(path.join(root, 'loop', 'a', 'one.png'));
  await touch(path.join(root, 'outside.webp'));
  await symlink(path.join(root, 'loop'), path.join(root, 'loop', 'a', 'back'), 'dir');
  await symlink(path.join(root, 'nowhere'), path.join(root, 'loop', 'a', 'dead.png'));
  await symlink(path.join(root, 'outside.webp'), path.join(root, 'loop', 'linked.webp'));
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('the image extension list', () => {
  it('is one list, read the same on every platform', () => {
    expect(IMAGE_EXTENSIONS).toEqual(['png', 'jpg', 'jpeg', 'webp', 'gif', 'bmp']);
    expect(fileExtension('a/b/IMG.JPG')).toBe('jpg');
    expect(fileExtension('a\\b\\scan.PNG')).toBe('png');
    expect([isImagePath('x.bmp'), isImagePath('x.tif'), isImagePath('README')]).toEqual([true, false, false]);
  });
});

describe('listImageFiles', () => {
  it('lists images sorted, reports the other files, leaves hidden files out', async () => {
    const listing = await listImageFiles(path.join(root, 'dataset', 'Training'));
    expect(listing.files.map((f) => f.relative)).toEqual(['glioma/glioma-0.jpg', 'glioma/glioma-1.jpg', 'meningioma/meningioma-0.jpg', 'meningioma/meningioma-1.jpg']);
    expect(listing.files[0]?.path).toBe(path.join(root, 'dataset', 'Training', 'glioma', 'glioma-0.jpg'));
    expect(listing.skipped).toEqual(['glioma/notes.txt']);
  });

  it('follows links to folders and files, visits a folder once when links loop, and skips broken links', async () => {
    const listing = await listImageFiles(path.join(root, 'loop'));
    expect(listing.files.map((f) => f.relative)).toEqual(['a/one.png', 'linked.webp']);
    expect(listing.skipped).toEqual(['a/dead.png']);
  });
});

describe('site and class folders', () => {
  it('finds client_* links as site folders, in numeric order, and scans their class folders', async () => {
    const sites = await findSiteFolders(path.join(root, 'sites'));
    expect(sites?.map((s) => s.name)).toEqual(['client_0', 'client_1', 'client_10']);
    const site = await scanImageFolder(sites?.[1]?.path ?? '');
    expect(site.classNames).toEqual(['glioma', 'meningioma']);
    expect(site.items.map((i) => [i.relative, i.label])).toEqual([
      ['glioma/glioma-0.jpg', 0],
      ['glioma/glioma-1.jpg', 0],
      ['meningioma/meningioma-0.jpg', 1],
      ['meningioma/meningioma-1.jpg', 1],
    ]);
    expect(await findSiteFolders(path.join(root, 'dataset'))).toBeUndefined();
  });
});
