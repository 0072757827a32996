import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createEncoder, createMemoryFeatureCache, decodeFeatureFile, type Encoder } from '@facmic/encoder';
import { ensureTinyClip, findSiteFolders, generateImageFolder, scanImageFolder } from '@facmic/encoder/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main as encodeMain } from '../encode.ts';
import { classPrompt, loadImageData } from './image-data.ts';
import { formatProgress } from './progress.ts';

let root: string;
let modelDir: string;
let encoder: Encoder;

beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'facmic-cli-data-'));
  modelDir = (await ensureTinyClip(path.join(root, 'models', 'facmic-tiny-clip'))).dir;
  await generateImageFolder(path.join(root, 'tree'), { classes: 3, perClass: 8, site: 'a', seed: 1, format: 'mixed' });
  for (const [k, site] of ['north', 'south', 'east'].entries()) {
    await generateImageFolder(path.join(root, 'sites', `client_${k}`), { classes: k === 2 ? 2 : 3, perClass: 4, site, seed: 2 });
  }
  await writeFile(path.join(root, 'tree', 'rings', 'README.txt'), 'not an image');
  await writeFile(path.join(root, 'tree', 'stripes', 'broken.png'), 'not a png either');
  encoder = await createEncoder({ model: { kind: 'folder', path: modelDir }, cache: createMemoryFeatureCache() });
});

afterAll(async () => {
  await encoder.dispose();
});

describe('image folders', () => {
  it('scans a class-folder tree into sorted classes and labelled images, reporting non-images', async () => {
    const folder = await scanImageFolder(path.join(root, 'tree'));
    expect(folder.classNames).toEqual(['blobs', 'rings', 'stripes']);
    expect(folder.items).toHaveLength(25);
    expect(folder.items[0]).toMatchObject({ relative: 'blobs/a-0000.png', label: 0 });
    expect(folder.skipped).toEqual(['rings/README.txt']);
    expect(await findSiteFolders(path.join(root, 'tree'))).toBeUndefined();
    expect((await findSiteFolders(path.join(root, 'sites')))?.map((s) => s.name)).toEqual(['client_0', 'client_1', 'client_2']);
  });

  it('refuses loose images beside class folders', async () => {
    const mixed = path.join(root, 'mixed');
    await mkdir(path.join(mixed, 'a'), { recursive: true });
    await writeFile(path.join(mixed, 'loose.png'), 'x');
    await expect(scanImageFolder(mixed)).rejects.toThrow(/mixes class folders/);
  });
});

describe('the image data source of the simulation', () => {
  it('splits one class-folder tree into sites and leaves undecodable files out', async () => {
    const data = await loadImageData({ dir: path.join(root, 'tree'), encoder, sites: 3, partition: { kind: 'iid' }, seed: 5 });
    expect(data.classNames).toEqual(['blobs', 'rings', 'stripes']);
    expect(data.dim).toBe(512);
    expect(data.sites.map((s) => s.name)).toEqual(['site_0', 'site_1', 'site_2']);
    expect(data.sites.reduce((n, s) => n + s.data.labels.length, 0)).toBe(24);
    for (const site of data.sites) expect(site.data.features).toHaveLength(site.data.labels.length * 512);
    expect(data.errors.map((e) => path.basename(e.path))).toEqual(['broken.png']);
    expect(data.textFeatures.features).toHaveLength(3 * 512);
    expect(classPrompt('a picture of a {class}', 'glioma_tumor')).toBe('a picture of a glioma tumor');
    expect(classPrompt('a picture of a {class}', 'glioma_tumor', 'raw')).toBe('a picture of a glioma_tumor');
    expect(classPrompt('a picture of a {class}', 'no-tumor', 'words')).toBe('a picture of a no tumor');
  });

  it('uses client_* folders as sites with one label set across them, served from the cache the second time', async () => {
    const first = await loadImageData({ dir: path.join(root, 'sites'), encoder, sites: 99, partition: { kind: 'iid' }, seed: 1 });
    expect(first.sites.map((s) => s.name)).toEqual(['client_0', 'client_1', 'client_2']);
    expect(first.classNames).toEqual(['blobs', 'rings', 'stripes']);
    expect(Array.from(first.sites[2]!.data.labels)).toEqual([1, 1, 1, 1, 2, 2, 2, 2]);
    const second = await loadImageData({ dir: path.join(root, 'sites'), encoder, sites: 99, partition: { kind: 'iid' }, seed: 1 });
    expect(second.encoded).toBe(0);
    expect(second.cached).toBe(32);
  });
});

describe('npm run encode', () => {
  it('writes a features file with labels, the model hash and the error list', async () => {
    const out = path.join(root, 'out', 'tree.features');
    const code = await encodeMain([path.join(root, 'tree'), '--model', modelDir, '--out', out, '--no-feature-cache', '--batch-size', '4']);
    expect(code).toBe(0);
    const { header, features } = decodeFeatureFile(new Uint8Array(await readFile(out)));
    expect(header).toMatchObject({ format: 'facmic-features', dim: 512, count: 24, classNames: ['blobs', 'rings', 'stripes'] });
    expect(header.model).toMatchObject({ id: 'facmic-tiny-clip', hash: encoder.info.modelHash, device: 'cpu' });
    expect(header.items[0]).toEqual({ path: 'blobs/a-0000.png', label: 0 });
    expect(header.errors.map((e) => e.path)).toEqual(['stripes/broken.png']);
    expect(features).toHaveLength(24 * 512);
    const direct = await encoder.encodeImages([path.join(root, 'tree', 'blobs', 'a-0000.png')]);
    expect(Array.from(features.subarray(0, 512))).toEqual(Array.from(direct.features));
  });

  it('formats progress with count, rate, ETA and counters', () => {
    expect(formatProgress({ done: 5, total: 10, cached: 1, encoded: 4, failed: 0, elapsedMs: 2000, imagesPerSecond: 2.5, etaMs: 2000 }, 10)).toBe(
      '[====>     ] 5/10 2.5 img/s ETA 0:02 (cached 1, encoded 4, failed 0)',
    );
  });
});
