/**
 * Writes the generated `facmic-tiny-clip` fixture to a folder, only when it is missing or was made by another
 * generator version or seed (a marker file records both). The folder is written beside the target and renamed into
 * place, so a half-written fixture is never seen.
 */
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { buildTinyClipFiles, TINY_CLIP_DEFAULT_SEED, TINY_CLIP_GENERATOR_VERSION, TINY_CLIP_ID, TINY_CLIP_MARKER } from '../fixture/tiny-clip.ts';

/** Default location, relative to the working directory (gitignored). */
export const DEFAULT_TINY_CLIP_DIR = `models/${TINY_CLIP_ID}`;

export interface EnsureTinyClipResult {
  readonly dir: string;
  /** False when an up-to-date fixture was already there. */
  readonly generated: boolean;
}

interface Marker {
  readonly generator: string;
  readonly version: number;
  readonly seed: number;
}

async function readMarker(dir: string): Promise<Marker | undefined> {
  try {
    return JSON.parse(await readFile(join(dir, TINY_CLIP_MARKER), 'utf8')) as Marker;
  } catch {
    return undefined;
  }
}

/** Writes the fixture files into `dir` (replacing it). */
export async function writeTinyClip(dir: string, options: { seed?: number } = {}): Promise<void> {
  const target = resolve(dir);
  const seed = options.seed ?? TINY_CLIP_DEFAULT_SEED;
  const staging = `${target}.tmp-${process.pid}-${Date.now()}`;
  await rm(staging, { recursive: true, force: true });
  for (const [path, bytes] of buildTinyClipFiles({ seed })) {
    const file = join(staging, path);
    await mkdir(dirname(file), { recursive: true });
    await writeFile(file, bytes);
  }
  const marker: Marker = { generator: TINY_CLIP_ID, version: TINY_CLIP_GENERATOR_VERSION, seed };
  await writeFile(join(staging, TINY_CLIP_MARKER), `${JSON.stringify(marker, null, 2)}\n`);
  await rm(target, { recursive: true, force: true });
  await mkdir(dirname(target), { recursive: true });
  await rename(staging, target);
}

/** Makes sure an up-to-date fixture is in `dir` (default `models/facmic-tiny-clip`). */
export async function ensureTinyClip(dir: string = DEFAULT_TINY_CLIP_DIR, options: { seed?: number } = {}): Promise<EnsureTinyClipResult> {
  const target = resolve(dir);
  const seed = options.seed ?? TINY_CLIP_DEFAULT_SEED;
  const marker = await readMarker(target);
  if (marker && marker.generator === TINY_CLIP_ID && marker.version === TINY_CLIP_GENERATOR_VERSION && marker.seed === seed) {
    return { dir: target, generated: false };
  }
  await writeTinyClip(target, { seed });
  return { dir: target, generated: true };
}
