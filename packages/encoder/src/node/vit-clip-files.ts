/**
 * Writes `facmic-clip-vit-b16-random` to a folder (`npm run models:vit-b16-random`): the small files, then per tower
 * the three dtype files at once, each parameter generated once, written to the three and dropped, so memory stays at
 * about one weight matrix. Written beside the target and renamed into place (a half-written model is never seen);
 * a marker records generator version, seed and shape, and an up-to-date folder is left alone.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import {
  buildVitClipSmallFiles,
  generateParam,
  planTower,
  VIT_B16_SHAPE,
  VIT_CLIP_DEFAULT_SEED,
  VIT_CLIP_GENERATOR_VERSION,
  VIT_CLIP_ID,
  VIT_CLIP_MARKER,
  type VitClipShape,
} from '../fixture/vit-clip.ts';

export const DEFAULT_VIT_CLIP_DIR = `models/${VIT_CLIP_ID}`;

export interface VitClipWriteOptions {
  readonly seed?: number;
  /** Default ViT-B/16; tests pass `REDUCED_VIT_CLIP_SHAPE`. */
  readonly shape?: VitClipShape;
  /** Called after each tower file set is written. */
  readonly onProgress?: (message: string) => void;
}

export interface EnsureVitClipResult {
  readonly dir: string;
  readonly generated: boolean;
}

interface Marker {
  readonly generator: string;
  readonly version: number;
  readonly seed: number;
  readonly shape: VitClipShape;
}

function writeAll(fd: number, bytes: Uint8Array): void {
  let offset = 0;
  while (offset < bytes.length) offset += writeSync(fd, bytes, offset, bytes.length - offset);
}

function writeTower(staging: string, tower: 'vision' | 'text', shape: VitClipShape, seed: number): void {
  const plan = planTower(tower, shape, seed);
  const fds = plan.files.map((file) => openSync(join(staging, file.path), 'w'));
  try {
    plan.files.forEach((file, i) => {
      writeAll(fds[i] ?? -1, file.layout.header);
    });
    const rng = plan.rng();
    plan.params.forEach((param, p) => {
      const values = generateParam(param, rng);
      plan.files.forEach((file, f) => {
        const fd = fds[f] ?? -1;
        file.initializers[p]?.forEach((init, k) => {
          const bytes = init.bytes(values);
          if (bytes.length !== init.byteLength) throw new Error(`${file.path} ${init.name}: ${bytes.length} bytes, planned ${init.byteLength}`);
          const prefixIndex = file.initializers.slice(0, p).reduce((n, list) => n + list.length, 0) + k;
          writeAll(fd, file.layout.prefixes[prefixIndex] ?? new Uint8Array());
          writeAll(fd, bytes);
        });
      });
    });
  } finally {
    for (const fd of fds) closeSync(fd);
  }
}

/** Writes the model into `dir` (replacing it). */
export async function writeVitClip(dir: string, options: VitClipWriteOptions = {}): Promise<void> {
  const target = resolve(dir);
  const seed = options.seed ?? VIT_CLIP_DEFAULT_SEED;
  const shape = options.shape ?? VIT_B16_SHAPE;
  const staging = `${target}.tmp-${process.pid}-${Date.now()}`;
  await rm(staging, { recursive: true, force: true });
  await mkdir(join(staging, 'onnx'), { recursive: true });
  for (const [path, bytes] of buildVitClipSmallFiles(shape, seed)) await writeFile(join(staging, path), bytes);
  for (const tower of ['vision', 'text'] as const) {
    writeTower(staging, tower, shape, seed);
    options.onProgress?.(`${tower} tower written (fp32, fp16, q8)`);
  }
  for (const file of ['vision', 'text'].flatMap((t) => planTower(t as 'vision' | 'text', shape, seed).files)) {
    const size = (await stat(join(staging, file.path))).size;
    if (size !== file.layout.totalBytes) throw new Error(`${file.path}: ${size} bytes written, planned ${file.layout.totalBytes}`);
  }
  const marker: Marker = { generator: VIT_CLIP_ID, version: VIT_CLIP_GENERATOR_VERSION, seed, shape };
  await writeFile(join(staging, VIT_CLIP_MARKER), `${JSON.stringify(marker, null, 2)}\n`);
  await rm(target, { recursive: true, force: true });
  await mkdir(dirname(target), { recursive: true });
  await rename(staging, target);
}

async function readMarker(dir: string): Promise<Marker | undefined> {
  try {
    return JSON.parse(await readFile(join(dir, VIT_CLIP_MARKER), 'utf8')) as Marker;
  } catch {
    return undefined;
  }
}

/** Makes sure an up-to-date model is in `dir` (default `models/facmic-clip-vit-b16-random`). */
export async function ensureVitClip(dir: string = DEFAULT_VIT_CLIP_DIR, options: VitClipWriteOptions = {}): Promise<EnsureVitClipResult> {
  const target = resolve(dir);
  const seed = options.seed ?? VIT_CLIP_DEFAULT_SEED;
  const shape = options.shape ?? VIT_B16_SHAPE;
  const marker = await readMarker(target);
  if (marker?.generator === VIT_CLIP_ID && marker.version === VIT_CLIP_GENERATOR_VERSION && marker.seed === seed && JSON.stringify(marker.shape) === JSON.stringify(shape)) {
    return { dir: target, generated: false };
  }
  await writeVitClip(target, options);
  return { dir: target, generated: true };
}
