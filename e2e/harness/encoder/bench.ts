/**
 * Encoder benchmark: the same image files through the encoder in Node (onnxruntime-node, sharp) and in Chromium
 * (onnxruntime-web on wasm, optionally webgpu), no feature cache, with the split of time between reading, decoding,
 * resizing and the model. Optionally the peak memory of very large images in Node.
 *
 *   npx tsx e2e/harness/encoder/bench.ts [--images DIR] [--limit N] [--model DIR] [--batch-size N] [--webgpu] [--huge]
 *
 * DIR defaults to ../shared/datasets/brain-tumor-mri/Training; the model to the generated facmic-tiny-clip.
 */
import { mkdtemp, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { chromium } from '@playwright/test';
import sharp from 'sharp';
import { createEncoder, renderImage, type EncodeTimings } from '../../../packages/encoder/src/index.ts';
import { ensureTinyClip, ortWasmFiles } from '../../../packages/encoder/src/node.ts';
import type { HarnessApi } from './main.ts';
import { buildHarness, CHROMIUM_ARGS, CHROMIUM_PATH, serveFolders } from './serve.ts';

declare global {
  interface Window {
    facmicHarness: HarnessApi;
  }
}

const IMAGE = /\.(png|jpe?g|webp)$/i;

async function listImages(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of (await readdir(dir, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await listImages(full)));
    else if (IMAGE.test(entry.name)) out.push(full);
  }
  return out;
}

function line(label: string, images: number, timings: EncodeTimings): string {
  const share = (ms: number) => `${((100 * ms) / timings.totalMs).toFixed(0)}%`.padStart(4);
  const perSecond = (images / (timings.totalMs / 1000)).toFixed(1).padStart(6);
  return `${label.padEnd(18)} ${String(images).padStart(5)} images ${perSecond} img/s   read+hash ${share(timings.readMs)}  decode ${share(timings.decodeMs)}  resize+crop ${share(timings.preprocessMs)}  model ${share(timings.inferenceMs)}`;
}

async function peakRss(task: () => Promise<unknown>): Promise<{ baselineMb: number; peakMb: number }> {
  const baseline = process.memoryUsage().rss;
  let peak = baseline;
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 5);
  try {
    await task();
  } finally {
    clearInterval(timer);
  }
  peak = Math.max(peak, process.memoryUsage().rss);
  return { baselineMb: baseline / 2 ** 20, peakMb: peak / 2 ** 20 };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      images: { type: 'string' },
      limit: { type: 'string' },
      model: { type: 'string' },
      'batch-size': { type: 'string' },
      webgpu: { type: 'boolean' },
      huge: { type: 'boolean' },
    },
  });
  const work = await mkdtemp(path.join(tmpdir(), 'facmic-bench-encoder-'));
  const modelDir = values.model ?? (await ensureTinyClip(path.join(work, 'facmic-tiny-clip'))).dir;
  const imagesDir = path.resolve(values.images ?? '../shared/datasets/brain-tumor-mri/Training');
  const batchSize = Number(values['batch-size'] ?? '8');
  let files = await listImages(imagesDir);
  if (values.limit !== undefined) {
    // An even spread over the classes rather than the first N files.
    const limit = Number(values.limit);
    const step = files.length / limit;
    files = Array.from({ length: Math.min(limit, files.length) }, (_, i) => files[Math.floor(i * step)] ?? '');
  }
  console.log(`${files.length} images from ${imagesDir}; model ${modelDir}; batch ${batchSize}`);

  const encoder = await createEncoder({ model: { kind: 'folder', path: modelDir }, cache: false, batchSize });
  const node = await encoder.encodeImages(files);
  console.log(line('node (cpu)', files.length, node.timings));

  if (values.huge === true) {
    const pattern = renderImage({ label: 1, classCount: 4, index: 0, site: 'x', seed: 1, size: 256 });
    const png = await sharp(Buffer.from(pattern.data), { raw: { width: 256, height: 256, channels: 4 } }).png().toBuffer();
    const huge = {
      'jpeg 8000x8000': await sharp(png).resize(8000, 8000).jpeg({ quality: 85 }).toBuffer(),
      'png 8000x8000': await sharp(png).resize(8000, 8000).png({ compressionLevel: 1 }).toBuffer(),
    };
    for (const [name, bytes] of Object.entries(huge)) {
      const file = path.join(work, name.replace(/\W+/g, '-'));
      await writeFile(file, bytes);
      const t = performance.now();
      const { baselineMb, peakMb } = await peakRss(() => encoder.encodeImages([file]));
      console.log(`node ${name} (${(bytes.length / 1e6).toFixed(1)} MB file): ${(performance.now() - t).toFixed(0)} ms, RSS ${baselineMb.toFixed(0)} -> peak ${peakMb.toFixed(0)} MB (+${(peakMb - baselineMb).toFixed(0)} MB; the raw RGBA bitmap would be 256 MB)`);
    }
  }
  await encoder.dispose();

  const harnessOut = path.join(work, 'harness');
  await buildHarness(harnessOut);
  const server = await serveFolders({ '/models/bench-model/': modelDir, '/ort/': ortWasmFiles().dir, '/images/': imagesDir, '/': harnessOut });
  const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS });
  try {
    const urls = files.map((file) => `${server.url}/images/${path.relative(imagesDir, file).split(path.sep).map(encodeURIComponent).join('/')}`);
    for (const device of values.webgpu === true ? (['wasm', 'webgpu'] as const) : (['wasm'] as const)) {
      const page = await browser.newPage();
      await page.goto(`${server.url}/index.html`);
      await page.waitForFunction(() => 'facmicHarness' in window);
      const result = await page.evaluate((options) => window.facmicHarness.bench(options), { device, model: `${server.url}/models/bench-model`, images: urls, batchSize });
      console.log(line(`chromium (${result.device})`, result.images, result.timings));
      await page.close();
    }
  } finally {
    await browser.close();
    await server.close();
  }
}

await main();
