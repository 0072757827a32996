/**
 * `npm run bench:encode`: the real encoding cost of CLIP ViT-B/16 (the generated `facmic-clip-vit-b16-random`, the
 * published model's size and graph) on this machine, one run, one table. The same images through:
 * onnxruntime-node; Chromium wasm with 1 thread (not cross-origin isolated); Chromium wasm with N threads (COOP/COEP);
 * Chromium WebGPU (forced: a software adapter here, a hardware one where it exists) — each in fp32 and q8, and fp16
 * on WebGPU. Per row: images/s, ms per image, peak memory (Node RSS; the tab's renderer RSS and JS heap), bytes the
 * page downloaded; then browser/Node ratios, GFLOP/s against a matmul micro-benchmark of this machine, q8's cosine
 * to fp32, and the plain lines scripts read. Hospital pages load the vision tower only; the recorded requests show
 * the text tower was never asked for. The matmul micro-benchmark runs in onnxruntime-node (the machine's peak) and in
 * Chromium's wasm backend with 1 and N threads (the browser's ceiling on this CPU), so the table says how much of the
 * browser/native gap is the kernels' and how much the pipeline's.
 *
 *   npm run bench:encode -- [--images 200] [--data DIR] [--batch-size 8] [--configs node,wasm1,wasmN,webgpu]
 *                           [--webgpu-fallback-images 4]
 *
 * On a software WebGPU adapter (SwiftShader, what headless Chromium has without a GPU: ~90 s an image in fp32) the
 * WebGPU rows encode only the first `--webgpu-fallback-images` of the images, for the agreement with Node, and say
 * so; on a hardware adapter they encode them all.
 *
 * `--data` defaults to ../shared/datasets/brain-tumor-mri/Training when present, else generated images.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { chromium, type Browser } from '@playwright/test';
import * as ort from 'onnxruntime-node';
import { createEncoder, VIT_B16_SHAPE, VIT_CLIP_ID, type ClipDtype } from '../../packages/encoder/src/index.ts';
import { encodeOnnxModel, ONNX_FLOAT } from '../../packages/encoder/src/fixture/onnx.ts';
import { DEFAULT_VIT_CLIP_DIR, ensureVitClip, generateImageFolder, listImageFiles, ortWasmFiles } from '../../packages/encoder/src/node.ts';
import type { HarnessApi, HarnessBench } from '../harness/encoder/main.ts';
import { buildHarness, CHROMIUM_ARGS, CHROMIUM_PATH, serveFolders } from '../harness/encoder/serve.ts';

declare global {
  interface Window {
    facmicHarness: HarnessApi;
  }
}

const { values } = parseArgs({
  options: {
    images: { type: 'string', default: '200' },
    data: { type: 'string' },
    'batch-size': { type: 'string', default: '8' },
    configs: { type: 'string', default: 'node,wasm1,wasmN,webgpu' },
    'webgpu-fallback-images': { type: 'string', default: '4' },
  },
});

/** Multiply-accumulates of one 224x224 image through ViT-B/16's vision tower (x2 = FLOPs). */
function visionMacs(): number {
  const s = VIT_B16_SHAPE;
  const tokens = (s.imageSize / s.patchSize) ** 2 + 1;
  const d = s.visionWidth;
  const perLayer = 4 * tokens * d * d + 2 * tokens * d * s.visionMlp + 2 * tokens * tokens * d;
  return s.visionLayers * perLayer + (tokens - 1) * d * 3 * s.patchSize * s.patchSize + d * s.projectionDim;
}
const GFLOP_PER_IMAGE = (2 * visionMacs()) / 1e9;

interface Row {
  readonly runtime: string;
  /** GFLOP/s of this runtime's kernels on the matmul micro-benchmark (null where none was measured). */
  readonly runtimePeak: number | null;
  readonly dtype: ClipDtype;
  readonly images: number;
  readonly msPerImage: number;
  readonly peakRssMb: number;
  readonly peakHeapMb: number | null;
  readonly downloadedBytes: number;
  readonly features: Float32Array;
}

function cosine(a: Float32Array, b: Float32Array): number {
  let dot = 0, na = 0, nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += (a[i] ?? 0) * (b[i] ?? 0);
    na += (a[i] ?? 0) ** 2;
    nb += (b[i] ?? 0) ** 2;
  }
  return dot / Math.sqrt(na * nb);
}

function rowCosines(a: Float32Array, b: Float32Array, dim: number): number[] {
  const out: number[] = [];
  for (let i = 0; i * dim < Math.min(a.length, b.length); i++) out.push(cosine(a.subarray(i * dim, (i + 1) * dim), b.subarray(i * dim, (i + 1) * dim)));
  return out;
}

/** Largest |a-b| / max|b| per row (the relative agreement of two runs' features). */
function maxRelativeDifference(a: Float32Array, b: Float32Array, dim: number): number {
  let worst = 0;
  for (let i = 0; i * dim < a.length; i++) {
    let scale = 0, diff = 0;
    for (let k = i * dim; k < (i + 1) * dim; k++) {
      scale = Math.max(scale, Math.abs(b[k] ?? 0));
      diff = Math.max(diff, Math.abs((a[k] ?? 0) - (b[k] ?? 0)));
    }
    worst = Math.max(worst, diff / Math.max(scale, 1e-12));
  }
  return worst;
}

/** Sum of VmRSS over Chromium renderer processes (the tab), in MB; 0 where /proc is not readable. */
function rendererRssMb(): number {
  let total = 0;
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      if (!cmd.includes('--type=renderer') || cmd.includes('--extension-process')) continue;
      const rss = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      total += rss ? Number(rss[1]) / 1024 : 0;
    } catch {
      // The process ended meanwhile.
    }
  }
  return total;
}

function sampler(read: () => number): { stop: () => number } {
  let peak = read();
  const timer = setInterval(() => {
    peak = Math.max(peak, read());
  }, 100);
  return {
    stop: () => {
      clearInterval(timer);
      return Math.max(peak, read());
    },
  };
}

/** One large fp32 MatMul, the shape of ViT-B/16's MLP on a batch of 8 images: the micro-benchmark of this machine. */
const MATMUL = { m: 8 * 197, k: 768, n: 3072, runs: 10 } as const;

function matmulModel(): Uint8Array {
  const { m, k, n } = MATMUL;
  const weight = new Float32Array(k * n).map((_, i) => ((i % 97) - 48) / 480);
  return encodeOnnxModel({
    name: 'matmul', docString: 'matmul micro-benchmark', producer: 'facmic', producerVersion: '1', opset: 17,
    inputs: [{ name: 'x', elemType: ONNX_FLOAT, shape: [m, k] }],
    outputs: [{ name: 'y', elemType: ONNX_FLOAT, shape: [m, n] }],
    initializers: [{ name: 'w', dims: [k, n], data: weight }],
    nodes: [{ op: 'MatMul', inputs: ['x', 'w'], outputs: ['y'] }],
  });
}

/** GFLOP/s of onnxruntime-node on {@link MATMUL}. */
async function matmulPeak(bytes: Uint8Array): Promise<number> {
  const { m, k, n, runs } = MATMUL;
  const session = await ort.InferenceSession.create(bytes);
  const x = new ort.Tensor('float32', new Float32Array(m * k).fill(0.5), [m, k]);
  await session.run({ x });
  const t = performance.now();
  for (let i = 0; i < runs; i++) await session.run({ x });
  const seconds = (performance.now() - t) / 1000;
  await session.release();
  return (2 * m * k * n * runs) / seconds / 1e9;
}

/** GFLOP/s of ONNX Runtime Web's wasm backend in Chromium on {@link MATMUL}, with 1 thread or `threads` (isolated page). */
async function browserMatmulPeak(browser: Browser, harness: string, matmulDir: string, threads: number): Promise<number> {
  const server = await serveFolders({ '/ort/': ortWasmFiles().dir, '/bench/': matmulDir, '/': harness }, { isolated: threads > 1 });
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    await page.goto(`${server.url}/index.html`);
    await page.waitForFunction(() => 'facmicHarness' in window);
    const result = await page.evaluate((o) => window.facmicHarness.matmul(o), { model: '/bench/matmul.onnx', ...MATMUL, threads });
    if (result.threads !== threads) throw new Error(`browser matmul: ${result.threads} threads, asked for ${threads}`);
    return result.gflops;
  } finally {
    await context.close();
    await server.close();
  }
}

/** What WebGPU adapter Chromium gives a page here (asked before any model loads: the device is chosen once a page). */
async function webgpuAdapter(browser: Browser, harness: string): Promise<{ kind: 'none' | 'fallback' | 'hardware'; description: string }> {
  const server = await serveFolders({ '/': harness }, { isolated: true });
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    await page.goto(`${server.url}/index.html`);
    await page.waitForFunction(() => 'facmicHarness' in window);
    const { caps } = await page.evaluate(() => window.facmicHarness.capabilities());
    const webgpu = (caps as { webgpu: { adapter: 'none' | 'fallback' | 'hardware'; description: string } }).webgpu;
    return { kind: webgpu.adapter, description: webgpu.description };
  } finally {
    await context.close();
    await server.close();
  }
}

/** The CPU's name and the vector features that set its matmul peak (what Node's kernels use and wasm SIMD lacks). */
function cpuDescription(): string {
  try {
    const info = readFileSync('/proc/cpuinfo', 'utf8');
    const name = /^model name\s*:\s*(.+)$/m.exec(info)?.[1] ?? 'unknown CPU';
    const flags = new Set((/^flags\s*:\s*(.+)$/m.exec(info)?.[1] ?? '').split(' '));
    return `${name}; ${['avx2', 'fma', 'avx512f', 'avx512_vnni', 'avx_vnni'].map((f) => `${f} ${flags.has(f) ? 'yes' : 'no'}`).join(', ')}`;
  } catch {
    return 'CPU features unknown (no /proc/cpuinfo)';
  }
}

async function chooseImages(count: number, work: string): Promise<{ dir: string; files: string[]; described: string }> {
  const shared = path.resolve('..', 'shared', 'datasets', 'brain-tumor-mri', 'Training');
  const dir = path.resolve(values.data ?? (existsSync(shared) ? shared : path.join(work, 'generated')));
  if (!existsSync(dir)) await generateImageFolder(dir, { classes: 4, perClass: Math.ceil(count / 4), site: 'bench', seed: 1 });
  const all = (await listImageFiles(dir)).files.map((f) => f.path).sort();
  if (all.length === 0) throw new Error(`no images under ${dir}`);
  // An even spread over the folder (its classes) rather than the first N files.
  const step = all.length / Math.min(count, all.length);
  const files = Array.from({ length: Math.min(count, all.length) }, (_, i) => all[Math.floor(i * step)] ?? '');
  return { dir, files, described: `${files.length} images from ${dir}` };
}

async function nodeRow(modelDir: string, files: readonly string[], dtype: ClipDtype, batchSize: number, runtimePeak: number): Promise<Row> {
  const rss = sampler(() => process.memoryUsage().rss / 2 ** 20);
  const encoder = await createEncoder({ model: { kind: 'folder', path: modelDir }, cache: false, dtype, towers: ['vision'], batchSize });
  try {
    const result = await encoder.encodeImages([...files]);
    if (result.errors.length > 0) throw new Error(`node ${dtype}: ${result.errors.length} images failed (${result.errors[0]?.message ?? ''})`);
    return { runtime: 'onnxruntime-node', runtimePeak, dtype, images: files.length, msPerImage: result.timings.totalMs / files.length, peakRssMb: rss.stop(), peakHeapMb: null, downloadedBytes: 0, features: result.features };
  } finally {
    await encoder.dispose();
  }
}

async function browserRow(
  browser: Browser,
  options: { label: string; isolated: boolean; device: 'wasm' | 'webgpu'; dtype: ClipDtype; runtimePeak: number | null },
  ctx: { modelDir: string; harness: string; imagesDir: string; files: readonly string[]; batchSize: number; requests: string[] },
): Promise<Row> {
  let downloaded = 0;
  const server = await serveFolders(
    { [`/models/${VIT_CLIP_ID}/`]: ctx.modelDir, '/ort/': ortWasmFiles().dir, '/images/': ctx.imagesDir, '/': ctx.harness },
    {
      isolated: options.isolated,
      onServed: (p, bytes) => {
        if (p.startsWith('/models/')) {
          downloaded += bytes;
          ctx.requests.push(p);
        }
      },
    },
  );
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    await page.goto(`${server.url}/index.html`);
    await page.waitForFunction(() => 'facmicHarness' in window);
    const urls = ctx.files.map((file) => `${server.url}/images/${path.relative(ctx.imagesDir, file).split(path.sep).map(encodeURIComponent).join('/')}`);
    const rss = sampler(rendererRssMb);
    const result: HarnessBench = await page.evaluate(
      (o) => window.facmicHarness.bench(o),
      { device: options.device, model: `${server.url}/models/${VIT_CLIP_ID}`, images: urls, batchSize: ctx.batchSize, dtype: options.dtype, towers: ['vision' as const] },
    );
    const peakRssMb = rss.stop();
    if (result.failed > 0) throw new Error(`${options.label} ${options.dtype}: ${result.failed} images failed`);
    if (result.crossOriginIsolated !== options.isolated) throw new Error(`${options.label}: page isolation ${String(result.crossOriginIsolated)}, expected ${String(options.isolated)}`);
    return {
      runtime: options.label,
      runtimePeak: options.runtimePeak,
      dtype: options.dtype,
      images: result.images,
      msPerImage: result.timings.totalMs / result.images,
      peakRssMb,
      peakHeapMb: result.peakJsHeap / 2 ** 20,
      downloadedBytes: downloaded,
      features: Float32Array.from(result.features),
    };
  } finally {
    await context.close();
    await server.close();
  }
}

function fmt(n: number, digits = 1): string {
  return n.toFixed(digits);
}

async function main(): Promise<void> {
  const count = Number(values.images);
  const batchSize = Number(values['batch-size']);
  if (!Number.isInteger(count) || count < 1) throw new Error(`--images must be a positive integer, got ${values.images}`);
  const configs = new Set(values.configs.split(','));
  const work = await mkdtemp(path.join(tmpdir(), 'facmic-bench-encode-'));
  const { dir: modelDir, generated } = await ensureVitClip(DEFAULT_VIT_CLIP_DIR);
  const { dir: imagesDir, files, described } = await chooseImages(count, work);
  const threads = Math.min(4, availableParallelism());
  const fallbackImages = Number(values['webgpu-fallback-images']);
  if (!Number.isInteger(fallbackImages) || fallbackImages < 1) throw new Error(`--webgpu-fallback-images must be a positive integer, got ${values['webgpu-fallback-images']}`);
  console.log(`${VIT_CLIP_ID} (${generated ? 'generated now' : 'cached'}) at ${modelDir}; ${described}; batch ${batchSize}; ${availableParallelism()} CPUs; ${fmt(GFLOP_PER_IMAGE)} GFLOP per image`);

  const matmulBytes = matmulModel();
  const peak = await matmulPeak(matmulBytes);
  const rows: Row[] = [];
  const requests: string[] = [];
  const dtypes: ClipDtype[] = ['fp32', 'q8'];
  if (configs.has('node')) for (const dtype of dtypes) rows.push(await nodeRow(modelDir, files, dtype, batchSize, peak));

  const harness = path.join(work, 'harness');
  await buildHarness(harness);
  const matmulDir = path.join(work, 'matmul');
  await mkdir(matmulDir, { recursive: true });
  await writeFile(path.join(matmulDir, 'matmul.onnx'), matmulBytes);
  const browserPeaks = new Map<number, number>();
  let webgpuNote = '';
  const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS });
  try {
    if (configs.has('wasm1') || configs.has('wasmN')) for (const t of [1, threads]) browserPeaks.set(t, await browserMatmulPeak(browser, harness, matmulDir, t));
    const ctx = { modelDir, harness, imagesDir, files, batchSize, requests };
    const runs: { key: string; label: string; isolated: boolean; device: 'wasm' | 'webgpu'; dtypes: ClipDtype[]; runtimePeak: number | null; files?: readonly string[] }[] = [
      { key: 'wasm1', label: 'chromium wasm 1 thread', isolated: false, device: 'wasm', dtypes, runtimePeak: browserPeaks.get(1) ?? null },
      { key: 'wasmN', label: `chromium wasm ${threads} threads`, isolated: true, device: 'wasm', dtypes, runtimePeak: browserPeaks.get(threads) ?? null },
    ];
    if (configs.has('webgpu')) {
      const adapter = await webgpuAdapter(browser, harness);
      if (adapter.kind === 'none') webgpuNote = `chromium webgpu: skipped, no adapter (${adapter.description})`;
      else {
        // A software adapter (SwiftShader) is a correctness check, not a speed: ~90 s an image in fp32 here.
        const subset = adapter.kind === 'fallback' ? files.slice(0, Math.min(files.length, fallbackImages)) : files;
        webgpuNote = `chromium webgpu: ${adapter.kind === 'fallback' ? `a software adapter (${adapter.description}), so the first ${subset.length} of the ${files.length} images (--webgpu-fallback-images)` : `a hardware adapter (${adapter.description})`}`;
        runs.push({ key: 'webgpu', label: `chromium webgpu (${adapter.kind === 'fallback' ? 'software' : 'hardware'})`, isolated: true, device: 'webgpu', dtypes: ['fp32', 'fp16', 'q8'], runtimePeak: null, files: subset });
      }
    }
    for (const run of runs.filter((r) => configs.has(r.key))) {
      for (const dtype of run.dtypes) {
        try {
          rows.push(await browserRow(browser, { ...run, dtype }, { ...ctx, files: run.files ?? files }));
        } catch (error) {
          console.log(`${run.label} ${dtype}: failed: ${error instanceof Error ? error.message.split('\n')[0] ?? '' : String(error)}`);
        }
      }
    }
  } finally {
    await browser.close();
  }

  const find = (runtime: string, dtype: ClipDtype) => rows.find((r) => r.runtime.startsWith(runtime) && r.dtype === dtype);
  const nodeOf = (dtype: ClipDtype) => find('onnxruntime-node', dtype);
  console.log('');
  console.log(`| runtime | dtype | images | images/s | ms/image | peak RSS MB | peak JS heap MB | downloaded bytes | x node | GFLOP/s | % of machine peak | % of runtime peak |`);
  console.log(`|---|---|---|---|---|---|---|---|---|---|---|---|`);
  for (const r of rows) {
    const node = nodeOf(r.dtype);
    const gflops = (GFLOP_PER_IMAGE * 1000) / r.msPerImage;
    console.log(
      `| ${r.runtime} | ${r.dtype} | ${r.images} | ${fmt(1000 / r.msPerImage, 2)} | ${fmt(r.msPerImage, 0)} | ${fmt(r.peakRssMb, 0)} | ${r.peakHeapMb === null ? '-' : fmt(r.peakHeapMb, 0)} | ${r.downloadedBytes} | ` +
        `${node ? fmt(r.msPerImage / node.msPerImage, 2) : '-'} | ${fmt(gflops, 1)} | ${fmt((100 * gflops) / peak, 0)}% | ${r.runtimePeak === null ? '-' : `${fmt((100 * gflops) / r.runtimePeak, 0)}%`} |`,
    );
  }
  console.log('');
  if (webgpuNote) console.log(webgpuNote);
  console.log(`CPU: ${cpuDescription()}`);
  const { m, k, n } = MATMUL;
  console.log(`matmul micro-benchmark (fp32 ${m}x${k}x${n}): onnxruntime-node ${availableParallelism()} threads ${fmt(peak, 1)} GFLOP/s (the machine peak)`);
  for (const [t, gflops] of browserPeaks) {
    console.log(`matmul micro-benchmark (fp32 ${m}x${k}x${n}): chromium wasm ${t} thread${t > 1 ? 's' : ''} ${fmt(gflops, 1)} GFLOP/s, ${fmt(peak / gflops, 2)}x below onnxruntime-node (128-bit wasm SIMD without FMA against the CPU's native kernels)`);
  }
  const nodeFp32 = nodeOf('fp32');
  const nodeQ8 = nodeOf('q8');
  if (nodeFp32 && nodeQ8) {
    const cos = rowCosines(nodeQ8.features, nodeFp32.features, 512);
    console.log(`q8 feature cosine to fp32 (node, ${cos.length} images): min ${fmt(Math.min(...cos), 5)}, mean ${fmt(cos.reduce((a, b) => a + b, 0) / cos.length, 5)}`);
  }
  for (const r of rows.filter((x) => x.runtime.startsWith('chromium') && x.dtype === 'fp32')) {
    if (nodeFp32) console.log(`${r.runtime} fp32 vs node fp32: max relative difference ${maxRelativeDifference(r.features, nodeFp32.features, 512).toExponential(2)}`);
  }
  const textRequests = requests.filter((p) => p.includes('text_model') || p.includes('tokenizer'));
  console.log(`hospital page requests: ${new Set(requests).size} distinct model files; text tower or tokenizer requested: ${textRequests.length === 0 ? 'never' : textRequests.join(', ')}`);

  const wasmFp32 = find('chromium wasm ' + String(threads), 'fp32') ?? find('chromium wasm 1', 'fp32');
  const wasmQ8 = find('chromium wasm ' + String(threads), 'q8') ?? find('chromium wasm 1', 'q8');
  const threadedQ8 = find(`chromium wasm ${threads} threads`, 'q8');
  const hospitalQ8 = threadedQ8 ?? wasmQ8;
  const speedup = wasmFp32 && wasmQ8 ? wasmFp32.msPerImage / wasmQ8.msPerImage : Number.NaN;
  const ratio = threadedQ8 && nodeQ8 ? threadedQ8.msPerImage / nodeQ8.msPerImage : Number.NaN;
  const download = hospitalQ8?.downloadedBytes ?? Number.NaN;
  // The hospital's tab in a default federation (q8, threads); fp32's peak is printed beside it.
  const tabPeakOf = (dtype: ClipDtype) => Math.max(...rows.filter((r) => r.runtime.startsWith('chromium wasm') && r.dtype === dtype).map((r) => r.peakRssMb));
  const tabPeak = tabPeakOf('q8');
  const cosMin = nodeFp32 && nodeQ8 ? Math.min(...rowCosines(nodeQ8.features, nodeFp32.features, 512)) : Number.NaN;
  const goal = (met: boolean) => (met ? 'met' : 'missed');
  console.log('');
  console.log(`goal: wasm threads <= 1.5x node (q8): ${goal(ratio <= 1.5)} (${fmt(ratio, 2)}x)`);
  console.log(`goal: q8 >= 2x faster than fp32 on wasm, cosine >= 0.99: ${goal(speedup >= 2 && cosMin >= 0.99)} (${fmt(speedup, 2)}x, min cosine ${fmt(cosMin, 4)})`);
  console.log(`goal: hospital download <= 100 MB (q8), text tower never requested: ${goal(download <= 100e6 && textRequests.length === 0)} (${download} bytes)`);
  console.log(`goal: hospital tab peak < 1.5 GB while encoding (q8, the default dtype): ${goal(tabPeak < 1536)} (${fmt(tabPeak, 0)} MB renderer RSS, wasm rows; fp32: ${fmt(tabPeakOf('fp32'), 0)} MB, ${tabPeakOf('fp32') < 1536 ? 'also below' : 'above'} 1.5 GB)`);
  console.log(`q8 vs fp32 speed-up (wasm): ${fmt(speedup, 2)}`);
  console.log(`browser/native ratio (wasm threads, q8): ${fmt(ratio, 2)}`);
  console.log(`hospital download (q8): ${download} bytes`);
}

await main();
// Vite's build service and ONNX Runtime's thread pool would keep the process alive after the table.
process.exit(0);
