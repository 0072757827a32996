import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REDUCED_VIT_CLIP_SHAPE, VIT_CLIP_ID } from '@facmic/encoder';
import { ensureVitClip } from '@facmic/encoder/node';
import { afterAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../logger.ts';
import { createClipFeatureEncoder } from './clip-encoder.ts';
import { encoderForDtype } from './feature-encoder.ts';

const root = mkdtempSync(join(tmpdir(), 'facmic-clip-encoder-'));
afterAll(() => {
  rmSync(root, { recursive: true, force: true });
});

describe('the coordinator encoder per dtype', () => {
  it('pins q8 by default for a model with _quantized files, and each dtype has its own vision hash and text hash', async () => {
    const dir = (await ensureVitClip(join(root, 'models', VIT_CLIP_ID), { shape: REDUCED_VIT_CLIP_SHAPE })).dir;
    const encoder = await createClipFeatureEncoder({ model: dir, modelsDir: join(root, 'models'), logger: silentLogger });
    try {
      expect(encoder.identity).toMatchObject({ modelId: VIT_CLIP_ID, dtype: 'q8', featureDim: 512 });
      expect(encoder.identity.textHash).toMatch(/^[0-9a-f]{64}$/);
      expect(await encoderForDtype(encoder, undefined)).toBe(encoder);
      expect(await encoderForDtype(encoder, 'q8')).toBe(encoder);
      const fp32 = await encoderForDtype(encoder, 'fp32');
      expect(fp32.identity.dtype).toBe('fp32');
      expect(fp32.identity.hash).not.toBe(encoder.identity.hash);
      expect(fp32.identity.textHash).not.toBe(encoder.identity.textHash);
      expect(await encoderForDtype(encoder, 'fp32')).toBe(fp32);
      expect((await fp32.encodeTexts(['no tumor'])).length).toBe(512);
    } finally {
      await encoder.dispose();
    }
  });
});
