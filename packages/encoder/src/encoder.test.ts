import { createHash } from 'node:crypto';
import { copyFile, mkdir, mkdtemp, rename, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AutoProcessor, AutoTokenizer, CLIPTextModelWithProjection, CLIPVisionModelWithProjection, RawImage } from '@huggingface/transformers';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFileFeatureCache } from './cache/file-cache.ts';
import { createMemoryFeatureCache } from './cache/memory-cache.ts';
import { nextBatchSize } from './batch-size.ts';
import { createEncoder } from './encoder.ts';
import { renderImage } from './generated-images.ts';
import { encodePng } from './image/png.ts';
import { sha256File } from './node/download.ts';
import { generateImageFolder, type GeneratedFile } from './node/image-folder.ts';
import { ensureTinyClip } from './node/tiny-clip-files.ts';
import type { EncodeProgress, Encoder } from './types.ts';

let root: string;
let modelDir: string;
let files: GeneratedFile[];
let encoder: Encoder;

function row(features: Float32Array, dim: number, i: number): Float32Array {
  return features.subarray(i * dim, (i + 1) * dim);
}

function cosine(a: Float32Array, b: Float32Array): number {
  let dot = 0, na = 0, nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i]! * b[i]!;
    na += a[i]! * a[i]!;
    nb += b[i]! * b[i]!;
  }
  return dot / Math.sqrt(na * nb);
}

function distance(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i]! - b[i]!) ** 2;
  return Math.sqrt(s);
}

async function rawPng(image: { width: number; height: number; data: Uint8Array | Uint8ClampedArray }): Promise<Buffer> {
  return sharp(Buffer.from(image.data.buffer, image.data.byteOffset, image.data.length), { raw: { width: image.width, height: image.height, channels: 4 } }).png().toBuffer();
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'facmic-encoder-'));
  modelDir = (await ensureTinyClip(join(root, 'models', 'facmic-tiny-clip'))).dir;
  files = await generateImageFolder(join(root, 'images'), { classes: 4, perClass: 24, site: 'north', seed: 11, format: 'mixed' });
  encoder = await createEncoder({ model: { kind: 'folder', path: modelDir }, cache: false });
});

afterAll(async () => {
  await encoder.dispose();
});

describe('createEncoder on the tiny CLIP fixture (Node)', () => {
  it('loads the fixture through the transformers.js classes the real model uses', async () => {
    const processor = await AutoProcessor.from_pretrained(modelDir);
    const tokenizer = await AutoTokenizer.from_pretrained(modelDir);
    const vision = await CLIPVisionModelWithProjection.from_pretrained(modelDir, { dtype: 'fp32', device: 'cpu' });
    const text = await CLIPTextModelWithProjection.from_pretrained(modelDir, { dtype: 'fp32', device: 'cpu' });
    const image = new RawImage(new Uint8ClampedArray(224 * 224 * 3).fill(120), 224, 224, 3);
    const { image_embeds } = (await vision(await processor(image))) as { image_embeds: { dims: number[] } };
    const { text_embeds } = (await text(tokenizer(['a photo of rings', 'no tumor'], { padding: true, truncation: true }))) as { text_embeds: { dims: number[] } };
    expect(image_embeds.dims).toEqual([1, 512]);
    expect(text_embeds.dims).toEqual([2, 512]);
    await Promise.all([vision.dispose(), text.dispose()]);
  });

  it('describes itself: model id, per-tower hashes, dtype, projection dim, device and reason', async () => {
    const expected: Record<string, string> = {};
    for (const file of ['config.json', 'onnx/vision_model.onnx', 'onnx/text_model.onnx']) expected[file] = await sha256File(join(modelDir, file));
    const hashOf = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');
    const visionHash = hashOf(`config.json ${expected['config.json']}\nonnx/vision_model.onnx ${expected['onnx/vision_model.onnx']}\n`);
    const textHash = hashOf(`config.json ${expected['config.json']}\nonnx/text_model.onnx ${expected['onnx/text_model.onnx']}\n`);
    expect(encoder.info).toMatchObject({
      modelId: 'facmic-tiny-clip',
      modelHash: visionHash,
      visionHash,
      textHash,
      dtype: 'fp32',
      towers: ['vision', 'text'],
      files: expected,
      projectionDim: 512,
      imageSize: 224,
      device: 'cpu',
      deviceForced: false,
      runtime: 'node',
    });
    expect(encoder.info.deviceReason).toMatch(/onnxruntime-node/);
  });

  it('loads only the vision tower for a hospital: no text model or tokenizer needed, same hash and features', async () => {
    const visionOnly = join(root, 'models', 'vision-only');
    await mkdir(join(visionOnly, 'onnx'), { recursive: true });
    for (const file of ['config.json', 'preprocessor_config.json', 'onnx/vision_model.onnx']) await copyFile(join(modelDir, file), join(visionOnly, file));
    const hospital = await createEncoder({ model: { kind: 'folder', path: visionOnly }, cache: false, towers: ['vision'] });
    try {
      expect(hospital.info.modelHash).toBe(encoder.info.modelHash);
      expect(hospital.info.textHash).toBeUndefined();
      expect(hospital.info.towers).toEqual(['vision']);
      const paths = files.slice(0, 3).map((f) => f.path);
      const [a, b] = [await hospital.encodeImages(paths), await encoder.encodeImages(paths)];
      expect([...a.features]).toEqual([...b.features]);
      await expect(hospital.encodeTexts(['no tumor'])).rejects.toThrow(/without the text tower/);
    } finally {
      await hospital.dispose();
    }
    // A dtype the folder lacks is named.
    await expect(createEncoder({ model: { kind: 'folder', path: visionOnly }, cache: false, towers: ['vision'], dtype: 'q8' })).rejects.toThrow(/onnx\/vision_model_quantized\.onnx/);
  });

  it('encodes a class-folder tree to [N, 512] features that a linear probe separates', async () => {
    const result = await encoder.encodeImages(files.map((f) => f.path), { batchSize: 5 });
    expect(result.errors).toEqual([]);
    expect(result.dim).toBe(512);
    expect(result.indices).toEqual(files.map((_, i) => i));
    expect(result.features).toHaveLength(files.length * 512);
    expect(result.features.every(Number.isFinite)).toBe(true);
    expect(result.encoded).toBe(files.length);

    // Nearest class mean on L2-normalised features (a linear classifier): 8 images per class to fit, 16 to test
    // (0.875 measured with this seed; chance is 0.25).
    const normalised = files.map((_, i) => {
      const r = row(result.features, 512, i);
      const n = Math.hypot(...r);
      return r.map((v) => v / n);
    });
    const labels = files.map((f) => f.label);
    const index = files.map((f) => Number(/-(\d+)\.(png|jpg)$/.exec(f.path)?.[1]));
    const means = [0, 1, 2, 3].map((c) => {
      const m = new Float32Array(512);
      normalised.forEach((r, i) => {
        if (labels[i] === c && index[i]! < 8) for (let d = 0; d < 512; d++) m[d]! += r[d]!;
      });
      return m;
    });
    let correct = 0, tested = 0;
    normalised.forEach((r, i) => {
      if (index[i]! < 8) return;
      tested++;
      const scores = means.map((m) => r.reduce((s, v, d) => s + v * m[d]!, 0));
      if (scores.indexOf(Math.max(...scores)) === labels[i]) correct++;
    });
    expect(tested).toBe(64);
    expect(correct / tested).toBeGreaterThanOrEqual(0.85);
  });

  it('encodes prompts to [C, 512], different prompts to different features, independent of batch padding', async () => {
    const prompts = ['a photo of rings', 'a photo of stripes', 'an mri scan of the brain showing a glioma tumor'];
    const all = await encoder.encodeTexts(prompts);
    expect(all.dim).toBe(512);
    expect(all.features).toHaveLength(3 * 512);
    expect(cosine(row(all.features, 512, 0), row(all.features, 512, 1))).toBeLessThan(0.999);
    const alone = await encoder.encodeTexts([prompts[0]!]);
    for (let d = 0; d < 512; d++) expect(alone.features[d]).toBeCloseTo(all.features[d]!, 5);
    expect((await encoder.encodeTexts([])).features).toHaveLength(0);
  });

  it('reports undecodable files in the error list and encodes the rest, 16-bit greyscale included', async () => {
    const dir = join(root, 'awkward');
    await mkdir(dir, { recursive: true });
    const corrupt = join(dir, 'corrupt.jpg');
    await writeFile(corrupt, Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.alloc(500, 7)]));
    const empty = join(dir, 'empty.png');
    await writeFile(empty, Buffer.alloc(0));
    const text = join(dir, 'notes.png');
    await writeFile(text, 'not an image at all');
    const missing = join(dir, 'missing.png');
    // A 16-bit greyscale ramp, and the same ramp at 8 bits.
    const w = 300, h = 200;
    const grey16 = new Uint16Array(w * h).map((_, i) => Math.round((((i % w) + Math.floor(i / w)) / (w + h)) * 65535));
    const grey8 = Uint8Array.from(grey16, (v) => v >>> 8);
    const png16 = join(dir, 'grey16.png');
    await writeFile(png16, encodePng({ width: w, height: h, color: 'grey', bitDepth: 16, data: grey16 }));
    const png8 = join(dir, 'grey8.png');
    await writeFile(png8, encodePng({ width: w, height: h, color: 'grey', bitDepth: 8, data: grey8 }));

    const inputs = [files[0]!.path, corrupt, empty, png16, text, missing, png8, files[1]!.path];
    const result = await encoder.encodeImages(inputs);
    expect(result.errors.map((e) => e.name)).toEqual([corrupt, empty, text, missing]);
    expect(result.errors.map((e) => e.index)).toEqual([1, 2, 4, 5]);
    expect(result.errors[1]!.message).toMatch(/empty/);
    expect(result.indices).toEqual([0, 3, 6, 7]);
    const features16 = row(result.features, 512, 1);
    const features8 = row(result.features, 512, 2);
    expect(cosine(features16, features8)).toBeGreaterThan(0.9999);
  });

  it('handles tiny, thin, transparent, WebP, EXIF-rotated and very large images', async () => {
    const base = renderImage({ label: 1, classCount: 4, index: 0, site: 'x', seed: 5, size: 240 });
    const basePng = await rawPng(base);
    const rotated = await sharp(basePng).rotate(90).png().toBuffer();
    // Stored unrotated, EXIF says "rotate 90 clockwise to display".
    const exif = await sharp(basePng).jpeg({ quality: 95 }).withMetadata({ orientation: 6 }).toBuffer();
    const exifReference = await sharp(rotated).jpeg({ quality: 95 }).toBuffer();
    const alpha = encodePng({ width: 2, height: 2, color: 'rgba', bitDepth: 8, data: Uint8Array.of(255, 0, 0, 255, 0, 255, 0, 128, 0, 0, 255, 0, 9, 9, 9, 255) });
    const huge = await sharp(basePng).resize(8000, 8000, { kernel: 'cubic' }).jpeg({ quality: 85 }).toBuffer();
    const inputs = [
      { name: '1x1', source: encodePng({ width: 1, height: 1, color: 'rgb', bitDepth: 8, data: Uint8Array.of(10, 200, 30) }) },
      { name: '3x500', source: await sharp(basePng).resize(3, 500, { fit: 'fill' }).png().toBuffer() },
      { name: 'alpha', source: alpha },
      { name: 'webp', source: await sharp(basePng).webp({ quality: 90 }).toBuffer() },
      { name: 'exif', source: exif },
      { name: 'exif-reference', source: exifReference },
      { name: 'unrotated', source: basePng },
      { name: 'huge', source: huge },
      { name: 'pixels', source: base },
    ];
    const result = await encoder.encodeImages(inputs);
    expect(result.errors).toEqual([]);
    const f = (i: number) => row(result.features, 512, i);
    expect(distance(f(4), f(5))).toBeLessThan(distance(f(4), f(6)) / 4);
    expect(cosine(f(7), f(6))).toBeGreaterThan(0.99);
    // RGBA pixels given directly encode like their PNG.
    expect(cosine(f(8), f(6))).toBeGreaterThan(0.99999);
    expect(cosine(f(3), f(6))).toBeGreaterThan(0.99);
  });

  it('stops between batches when aborted and rejects devices Node does not have', async () => {
    const controller = new AbortController();
    controller.abort();
    await expect(encoder.encodeImages(files.map((f) => f.path), { signal: controller.signal })).rejects.toThrow(/abort/i);
    await expect(createEncoder({ model: { kind: 'folder', path: modelDir }, device: 'webgpu', cache: false })).rejects.toThrow(/not available in Node/);
    await expect(createEncoder({ model: { kind: 'folder', path: join(root, 'images') }, cache: false })).rejects.toThrow(/lacks config.json/);
  });
});

describe('feature cache', () => {
  it('serves unchanged files from the cache across encoders and re-encodes changed ones', async () => {
    const cacheDir = join(root, 'feature-cache');
    const subset = files.slice(0, 10).map((f) => f.path);
    const first = await createEncoder({ model: { kind: 'folder', path: modelDir }, cache: await createFileFeatureCache(cacheDir) });
    const cold = await first.encodeImages(subset);
    expect(first.cacheCounters()).toEqual({ hits: 0, misses: 10, encoded: 10 });
    await first.dispose();

    // A new encoder (a reload) with the same cache folder: nothing is encoded again.
    const cache = await createFileFeatureCache(cacheDir);
    const second = await createEncoder({ model: { kind: 'folder', path: modelDir }, cache });
    const warm = await second.encodeImages(subset);
    expect(second.cacheCounters()).toEqual({ hits: 10, misses: 0, encoded: 0 });
    expect(Array.from(warm.features)).toEqual(Array.from(cold.features));

    // Renaming keeps the key (it is the bytes); changing the bytes makes a new one.
    const moved = `${subset[0]!}.moved.png`;
    await rename(subset[0]!, moved);
    await writeFile(subset[1]!, await rawPng(renderImage({ label: 3, classCount: 4, index: 99, site: 'north', seed: 11, size: 256 })));
    await second.encodeImages([moved, ...subset.slice(1)]);
    expect(second.cacheCounters()).toEqual({ hits: 19, misses: 1, encoded: 1 });
    await second.dispose();
    await cache.close();
  });

  it('estimates the time left from the images that went through the model, not from cache hits', async () => {
    const memoryEncoder = await createEncoder({ model: { kind: 'folder', path: modelDir }, cache: createMemoryFeatureCache() });
    try {
      const paths = files.slice(30, 42).map((f) => f.path);
      await memoryEncoder.encodeImages(paths.slice(0, 8), { batchSize: 4 });
      const seen: EncodeProgress[] = [];
      // 8 cached, then 4 new in the last batch: until a new image is timed the time left is unknown.
      await memoryEncoder.encodeImages(paths, { batchSize: 4, onProgress: (p) => seen.push(p) });
      expect(seen.map((p) => p.encoded)).toEqual([0, 0, 4]);
      expect(seen[0]!.etaMs).toBeNaN();
      expect(seen[2]!.etaMs).toBe(0);
      const fresh: EncodeProgress[] = [];
      await memoryEncoder.encodeImages(files.slice(42, 46).map((f) => f.path), { batchSize: 2, onProgress: (p) => fresh.push(p) });
      expect(fresh[0]!.etaMs).toBeGreaterThan(0);
      expect(fresh[0]!.etaMs).toBeCloseTo(fresh[0]!.elapsedMs, 0);
    } finally {
      await memoryEncoder.dispose();
    }
  });

  it('stores the first image on its own, then batches as many images as about 2 s of work allows', async () => {
    const memoryCache = createMemoryFeatureCache();
    const memoryEncoder = await createEncoder({ model: { kind: 'folder', path: modelDir }, cache: memoryCache });
    try {
      const seen: EncodeProgress[] = [];
      await memoryEncoder.encodeImages(files.slice(50, 60).map((f) => f.path), { onProgress: (p) => seen.push(p) });
      // The tiny model takes milliseconds an image: one image, then batches (full ones of 8 on an idle machine; the
      // sizes follow the measured time, so only their bounds are checked here, and nextBatchSize below).
      expect(seen[0]!.done).toBe(1);
      expect(seen.at(-1)!.done).toBe(10);
      expect(seen.length).toBeLessThan(10);
      for (let i = 1; i < seen.length; i++) expect(seen[i]!.done - seen[i - 1]!.done).toBeLessThanOrEqual(8);
    } finally {
      await memoryEncoder.dispose();
    }
    // A full-size CLIP on a CPU: seconds an image, so every image is stored as soon as it is encoded.
    expect(nextBatchSize(5600, 8)).toBe(1);
    expect(nextBatchSize(700, 8)).toBe(2);
    expect(nextBatchSize(30, 8)).toBe(8);
    expect(nextBatchSize(0, 8)).toBe(8);
  });

  it('keeps features in memory when asked, counted the same way', async () => {
    const memoryEncoder = await createEncoder({ model: { kind: 'folder', path: modelDir }, cache: createMemoryFeatureCache() });
    await memoryEncoder.encodeImages(files.slice(20, 24).map((f) => f.path));
    await memoryEncoder.encodeImages(files.slice(20, 26).map((f) => f.path));
    expect(memoryEncoder.cacheCounters()).toEqual({ hits: 4, misses: 6, encoded: 6 });
    await memoryEncoder.dispose();
  });
});
