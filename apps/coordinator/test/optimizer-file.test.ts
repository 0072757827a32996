import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { optimizerFileStore } from '../src/node-site/optimizer-file.ts';

describe("a Node site's Adam state file", () => {
  it('keeps the round, the step and every moment, and loads nothing when there is no file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'facmic-adam-'));
    const store = optimizerFileStore(join(dir, 'site.fmst.adam'));
    expect(await store.load()).toBeNull();
    const state = {
      step: 398,
      firstMoments: { '0.weight': { shape: [2, 2], data: Float32Array.of(1, -2, 3, 4e-9) }, '0.bias': { shape: [2], data: Float32Array.of(0.5, 0) } },
      secondMoments: { '0.weight': { shape: [2, 2], data: Float32Array.of(1, 2, 3, 4) }, '0.bias': { shape: [2], data: Float32Array.of(1e-12, 0) } },
    };
    await store.save({ round: 2, state });
    expect(await store.load()).toEqual({ round: 2, state });
  });

  it('refuses a corrupt file (the site then starts a fresh Adam)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'facmic-adam-'));
    const file = join(dir, 'site.fmst.adam');
    await writeFile(file, Uint8Array.of(1, 2, 3));
    await expect(optimizerFileStore(file).load()).rejects.toThrow();
  });
});
