import { appendFile, mkdtemp, readdir, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createFileFeatureCache } from './file-cache.ts';

const MODEL = 'ab'.repeat(32);
const hash = (i: number) => i.toString(16).padStart(64, '0');
const vector = (i: number) => Float32Array.from({ length: 8 }, (_, d) => i + d / 10);

describe('file feature cache', () => {
  it('persists features per model and drops a record cut short by a crash', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'facmic-cache-'));
    const first = await createFileFeatureCache(dir);
    await first.putMany(MODEL, [1, 2, 3].map((i) => ({ imageHash: hash(i), features: vector(i) })));
    await first.putMany(MODEL, [3, 4].map((i) => ({ imageHash: hash(i), features: vector(i) })));
    await first.close();
    const file = join(dir, `${MODEL}.features`);
    expect(await readdir(dir)).toEqual([`${MODEL}.features`]);
    const complete = (await stat(file)).size;
    expect(complete).toBe(16 + 4 * (32 + 8 * 4));
    await appendFile(file, Buffer.alloc(20, 9));

    const second = await createFileFeatureCache(dir);
    const got = await second.getMany(MODEL, [hash(1), hash(4), hash(5)]);
    expect(Array.from(got[0]!)).toEqual(Array.from(vector(1)));
    expect(Array.from(got[1]!)).toEqual(Array.from(vector(4)));
    expect(got[2]).toBeUndefined();
    expect((await stat(file)).size).toBe(complete);
    expect(await second.getMany('cd'.repeat(32), [hash(1)])).toEqual([undefined]);
    await expect(second.putMany(MODEL, [{ imageHash: hash(9), features: new Float32Array(3) }])).rejects.toThrow(/differs/);
  });

  it('refuses a file that is not a cache instead of overwriting it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'facmic-cache-'));
    await writeFile(join(dir, `${MODEL}.features`), 'something else entirely');
    const cache = await createFileFeatureCache(dir);
    await expect(cache.getMany(MODEL, [hash(1)])).rejects.toThrow(/not a facmic feature cache/);
  });
});
