import { mkdtemp, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from './models-fetch.ts';

describe('npm run models:tiny / models:fetch', () => {
  it('writes the generated fixture with --tiny and refuses a folder as a hub id', async () => {
    const out = await mkdtemp(path.join(tmpdir(), 'facmic-models-'));
    expect(await main(['--tiny', '--out', out])).toBe(0);
    expect((await readdir(path.join(out, 'facmic-tiny-clip', 'onnx'))).sort()).toEqual(['text_model.onnx', 'vision_model.onnx']);
    await expect(main(['./some/folder', '--out', out])).rejects.toThrow(/is a folder/);
    await expect(main(['--out', out])).rejects.toThrow(/one hub id/);
  });
});
