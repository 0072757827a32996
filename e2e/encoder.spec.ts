/**
 * The encoder in Chromium (WASM, and WebGPU forced on the software adapter) gives the features Node gives for the same
 * image files, within a stated tolerance; everything (harness, model, ONNX Runtime's wasm) comes from 127.0.0.1.
 *
 * The harness page (e2e/harness/encoder) is built here with Vite's JS API and served, with the generated
 * facmic-tiny-clip folder at /models/ and ONNX Runtime's files at /ort/, by a static server this test starts.
 */
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect, test } from '@playwright/test';
import sharp from 'sharp';
import { createEncoder, encodePng, renderImage } from '../packages/encoder/src/index.ts';
import { ensureTinyClip, generateImageFolder, ortWasmFiles } from '../packages/encoder/src/node.ts';
import type { HarnessApi, HarnessRun } from './harness/encoder/main.ts';
import { buildHarness, serveFolders, type StaticServer } from './harness/encoder/serve.ts';

/**
 * Tolerance between Node (onnxruntime-node, sharp) and Chromium (onnxruntime-web, createImageBitmap): per image, the
 * largest absolute feature difference at most 1e-4 of the largest absolute feature value, and cosine similarity at
 * least 0.99999. Everything after decoding (resize, crop, normalisation) is the same TypeScript on both sides and the
 * decoders agree on these files, so what remains is float32 rounding in the two ONNX Runtimes (observed: ~3e-7 on
 * wasm, ~1e-6 on webgpu). Text features: absolute difference below 1e-4.
 */
const MIN_COSINE = 0.99999;
const MAX_RELATIVE_DIFFERENCE = 1e-4;
const PROMPTS = ['a picture of a rings', 'a picture of a stripes', 'an mri scan of the brain showing a glioma tumor'];

declare global {
  interface Window {
    facmicHarness: HarnessApi;
  }
}

let server: StaticServer;
let base: string;
let imageNames: string[];
let nodeFeatures: Float32Array;
let nodeText: Float32Array;
let nodeErrors: string[];
let nodeHash: string;
let hugeNames: string[];
let nodeHugeFeatures: Float32Array;

async function writeAwkwardImages(dir: string): Promise<string[]> {
  const pattern = renderImage({ label: 2, classCount: 4, index: 3, site: 'west', seed: 9, size: 260 });
  const png = await sharp(Buffer.from(pattern.data), { raw: { width: 260, height: 260, channels: 4 } }).png().toBuffer();
  const w = 320, h = 240;
  const grey16 = new Uint16Array(w * h).map((_, i) => Math.round(((i % w) / w) * 40000 + (Math.floor(i / w) / h) * 25000));
  const files: Record<string, Uint8Array> = {
    'exif-rotated.jpg': await sharp(png).jpeg({ quality: 93 }).withMetadata({ orientation: 6 }).toBuffer(),
    'grey16.png': encodePng({ width: w, height: h, color: 'grey', bitDepth: 16, data: grey16 }),
    'alpha.png': await sharp(png).ensureAlpha(0.6).png().toBuffer(),
    'thin-3x500.png': await sharp(png).resize(3, 500, { fit: 'fill' }).png().toBuffer(),
    'photo.webp': await sharp(png).webp({ quality: 90 }).toBuffer(),
    'corrupt.jpg': Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.alloc(300, 3)]),
  };
  for (const [name, bytes] of Object.entries(files)) await writeFile(path.join(dir, name), bytes);
  return Object.keys(files);
}

test.describe.configure({ mode: 'serial' });

test.beforeAll(async () => {
  test.setTimeout(300_000);
  const work = await mkdtemp(path.join(tmpdir(), 'facmic-e2e-encoder-'));
  const harnessOut = path.join(work, 'harness');
  await buildHarness(harnessOut);
  const model = await ensureTinyClip(path.join(work, 'models', 'facmic-tiny-clip'));
  const imagesDir = path.join(work, 'images');
  await mkdir(imagesDir, { recursive: true });
  const generated = await generateImageFolder(path.join(imagesDir, 'tree'), { classes: 3, perClass: 2, site: 'east', seed: 21, format: 'mixed' });
  const awkward = await writeAwkwardImages(imagesDir);
  imageNames = [...generated.map((g) => path.relative(imagesDir, g.path).split(path.sep).join('/')), ...awkward];

  // Above 16.7 MP both sides scale down while decoding (libvips / createImageBitmap), with different filters.
  const pattern = renderImage({ label: 0, classCount: 4, index: 1, site: 'west', seed: 9, size: 256 });
  const patternPng = await sharp(Buffer.from(pattern.data), { raw: { width: 256, height: 256, channels: 4 } }).png().toBuffer();
  await writeFile(path.join(imagesDir, 'huge-8000x8000.jpg'), await sharp(patternPng).resize(8000, 8000).jpeg({ quality: 85 }).toBuffer());
  await writeFile(
    path.join(imagesDir, 'huge-rotated-8000x6000.jpg'),
    await sharp(patternPng).resize(8000, 6000, { fit: 'fill' }).jpeg({ quality: 85 }).withMetadata({ orientation: 6 }).toBuffer(),
  );
  hugeNames = ['huge-8000x8000.jpg', 'huge-rotated-8000x6000.jpg'];

  const encoder = await createEncoder({ model: { kind: 'folder', path: model.dir }, cache: false });
  nodeHugeFeatures = (await encoder.encodeImages(hugeNames.map((name) => path.join(imagesDir, name)))).features;
  const result = await encoder.encodeImages(imageNames.map((name) => ({ name, source: path.join(imagesDir, name) })));
  nodeFeatures = result.features;
  nodeErrors = result.errors.map((e) => e.name);
  nodeText = (await encoder.encodeTexts(PROMPTS)).features;
  nodeHash = encoder.info.modelHash;
  await encoder.dispose();

  server = await serveFolders({ '/models/facmic-tiny-clip/': model.dir, '/ort/': ortWasmFiles().dir, '/images/': imagesDir, '/': harnessOut });
  base = server.url;
});

test.afterAll(async () => {
  await server.close();
});

function compare(run: Pick<HarnessRun, 'dim' | 'features'>, reference: Float32Array = nodeFeatures): { minCosine: number; maxRelative: number } {
  let minCosine = 1;
  let maxRelative = 0;
  const rows = run.features.length / run.dim;
  expect(rows * run.dim).toBe(reference.length);
  Array.from({ length: rows }).forEach((_, row) => {
    const a = reference.subarray(row * run.dim, (row + 1) * run.dim);
    const b = run.features.slice(row * run.dim, (row + 1) * run.dim);
    let dot = 0, na = 0, nb = 0, maxDiff = 0, maxAbs = 0;
    for (let d = 0; d < run.dim; d++) {
      const x = a[d] ?? 0;
      const y = b[d] ?? 0;
      dot += x * y;
      na += x * x;
      nb += y * y;
      maxDiff = Math.max(maxDiff, Math.abs(x - y));
      maxAbs = Math.max(maxAbs, Math.abs(x));
    }
    minCosine = Math.min(minCosine, dot / Math.sqrt(na * nb));
    maxRelative = Math.max(maxRelative, maxDiff / maxAbs);
  });
  return { minCosine, maxRelative };
}

test('the device policy picks WASM over the software WebGPU adapter', async ({ page }) => {
  await page.goto(`${base}/index.html`);
  await page.waitForFunction(() => 'facmicHarness' in window);
  const { auto, reason } = await page.evaluate(() => window.facmicHarness.capabilities());
  expect(auto).toBe('wasm');
  expect(reason).toMatch(/software fallback|no WebGPU/);
});

for (const device of ['wasm', 'webgpu'] as const) {
  test(`Chromium on ${device} encodes the same files to Node's features`, async ({ page, context }) => {
    test.setTimeout(300_000);
    const foreign: string[] = [];
    await context.route('**/*', async (route) => {
      const url = route.request().url();
      if (url.startsWith(`${base}/`) || url.startsWith('blob:') || url.startsWith('data:')) {
        await route.continue();
      } else {
        foreign.push(url);
        await route.abort();
      }
    });
    page.on('console', (message) => {
      if (message.type() === 'error') console.log(`[page ${device}] ${message.text()}`);
    });
    await page.goto(`${base}/index.html`);
    await page.waitForFunction(() => 'facmicHarness' in window);
    const run = await page.evaluate(
      (options) => window.facmicHarness.run(options),
      { device, model: `${base}/models/facmic-tiny-clip`, images: imageNames.map((name) => `${base}/images/${name}`), prompts: PROMPTS },
    );

    expect(run.info.device).toBe(device);
    expect(run.info.deviceForced).toBe(true);
    expect(run.info.modelHash).toBe(nodeHash);
    expect(run.errors.map((e) => e.name)).toEqual(nodeErrors.map((name) => name.slice(name.lastIndexOf('/') + 1)));
    expect(run.indices).toHaveLength(imageNames.length - nodeErrors.length);
    expect(run.cachedOnSecondPass).toBe(run.indices.length);

    const images = compare(run);
    console.log(`${device}: ${run.indices.length} images, min cosine ${images.minCosine.toFixed(7)}, max |diff|/max|x| ${images.maxRelative.toExponential(2)}; ${JSON.stringify(run.timings)}`);
    expect(images.minCosine).toBeGreaterThanOrEqual(MIN_COSINE);
    expect(images.maxRelative).toBeLessThanOrEqual(MAX_RELATIVE_DIFFERENCE);

    // An ImageBitmap decoded by the page encodes like its File.
    expect(compare({ dim: run.dim, features: run.bitmapFeatures }, nodeFeatures.subarray(0, run.dim)).maxRelative).toBeLessThanOrEqual(MAX_RELATIVE_DIFFERENCE);

    let maxText = 0;
    nodeText.forEach((x, i) => {
      maxText = Math.max(maxText, Math.abs(x - (run.textFeatures[i] ?? Number.NaN)));
    });
    expect(maxText).toBeLessThan(1e-4);
    expect(foreign).toEqual([]);
  });
}

test('very large images are scaled while decoding and still agree with Node (EXIF rotation included)', async ({ page }) => {
  test.setTimeout(300_000);
  await page.goto(`${base}/index.html`);
  await page.waitForFunction(() => 'facmicHarness' in window);
  const run = await page.evaluate(
    (options) => window.facmicHarness.run(options),
    { device: 'wasm' as const, model: `${base}/models/facmic-tiny-clip`, images: hugeNames.map((name) => `${base}/images/${name}`), prompts: [] },
  );
  expect(run.errors).toEqual([]);
  const agreement = compare(run, nodeHugeFeatures);
  console.log(`huge: min cosine ${agreement.minCosine.toFixed(6)}, max |diff|/max|x| ${agreement.maxRelative.toExponential(2)}`);
  // Different decode-time filters (libvips lanczos3, Chromium's high-quality scaler) before the same bicubic resize.
  expect(agreement.minCosine).toBeGreaterThanOrEqual(0.999);
});

test('the browser feature cache (IndexedDB) survives a reload: nothing is encoded twice', async ({ page }) => {
  test.setTimeout(300_000);
  const options = { model: `${base}/models/facmic-tiny-clip`, images: imageNames.map((name) => `${base}/images/${name}`) };
  await page.goto(`${base}/index.html`);
  await page.waitForFunction(() => 'facmicHarness' in window);
  const first = await page.evaluate((o) => window.facmicHarness.encodeWithDefaultCache(o), options);
  const decodable = imageNames.length - nodeErrors.length;
  expect(first).toMatchObject({ hits: 0, encoded: decodable });
  expect(first.cache).toContain('facmic-features');
  await page.reload();
  await page.waitForFunction(() => 'facmicHarness' in window);
  const second = await page.evaluate((o) => window.facmicHarness.encodeWithDefaultCache(o), options);
  expect(second).toMatchObject({ hits: decodable, encoded: 0 });
});
