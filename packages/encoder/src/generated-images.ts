/**
 * Generated images for tests and demos: each class has its own pattern (rings, stripes, blobs, checks, waves, dots,
 * spiral, cross; more classes reuse patterns at new angles and scales), each image its own jitter, and each site its
 * own acquisition shift (brightness, contrast, colour tint, noise), as different hospitals' scanners would. Pure
 * functions of the seed, producing RGBA pixels that Node writes as files and the browser turns into Files/Blobs.
 */
import { encodePng, zlibStored } from './image/png.ts';
import type { RgbaImage } from './types.ts';
import { SeededRandom } from '@facmic/learning/plain';

export const PATTERNS = ['rings', 'stripes', 'blobs', 'checks', 'waves', 'dots', 'spiral', 'cross'] as const;

export interface GenerateImagesOptions {
  /** Number of classes, or their names (folder names). Default 4. */
  readonly classes?: number | readonly string[];
  /** Images per class. Default 10. */
  readonly perClass?: number;
  /** Site identity: drives the acquisition shift. Default 'site-0'. */
  readonly site?: string | number;
  readonly seed?: number;
  /** Side of the square images, pixels. Default 256. */
  readonly size?: number;
  /** Strength of the site shift, 0 (none) to 1 (default 1). */
  readonly siteShift?: number;
}

export interface GeneratedImage {
  readonly label: number;
  readonly className: string;
  /** `<class>/<site>-<index>` without extension. */
  readonly name: string;
  readonly image: RgbaImage;
}

export interface SiteAppearance {
  readonly brightness: number;
  readonly contrast: number;
  readonly tint: readonly [number, number, number];
  readonly noise: number;
}

export function classNames(classes: number | readonly string[]): string[] {
  if (typeof classes !== 'number') {
    if (classes.length < 1) throw new Error('at least one class is needed');
    return [...classes];
  }
  if (!Number.isInteger(classes) || classes < 1) throw new Error(`classes must be a positive integer, got ${classes}`);
  return Array.from({ length: classes }, (_, k) => {
    const pattern = PATTERNS[k % PATTERNS.length] ?? 'rings';
    return k < PATTERNS.length ? pattern : `${pattern}-${Math.floor(k / PATTERNS.length) + 1}`;
  });
}

/** The acquisition shift of a site (deterministic in the site's name and the seed). */
export function siteAppearance(site: string | number, seed: number, strength = 1): SiteAppearance {
  const rng = SeededRandom.fromText(`site:${String(site)}:${seed}`);
  const s = Math.max(0, Math.min(1, strength));
  return {
    brightness: rng.uniform(-35, 35) * s + 0, // + 0 turns -0 (strength 0) into 0
    contrast: 1 + rng.uniform(-0.3, 0.3) * s,
    tint: [1 + rng.uniform(-0.15, 0.15) * s, 1 + rng.uniform(-0.15, 0.15) * s, 1 + rng.uniform(-0.15, 0.15) * s],
    noise: 2 + rng.uniform(0, 14) * s,
  };
}

interface PatternParams {
  readonly cx: number;
  readonly cy: number;
  readonly angle: number;
  readonly frequency: number;
  readonly phase: number;
  readonly blobs: readonly { x: number; y: number; r: number }[];
}

function patternParams(rng: SeededRandom, variant: number): PatternParams {
  const blobs = Array.from({ length: 3 + rng.nextInt(3) }, () => ({ x: rng.uniform(0.2, 0.8), y: rng.uniform(0.2, 0.8), r: rng.uniform(0.06, 0.14) }));
  return {
    cx: rng.uniform(0.35, 0.65),
    cy: rng.uniform(0.35, 0.65),
    angle: variant * 0.7 + rng.uniform(-0.25, 0.25),
    frequency: (1 + variant * 0.35) * rng.uniform(0.85, 1.15),
    phase: rng.uniform(0, Math.PI * 2),
    blobs,
  };
}

/** Intensity in [0, 1] of a class pattern at (u, v) in [0, 1]^2. */
function patternValue(pattern: (typeof PATTERNS)[number], p: PatternParams, u: number, v: number): number {
  const dx = u - p.cx;
  const dy = v - p.cy;
  const ca = Math.cos(p.angle);
  const sa = Math.sin(p.angle);
  const along = dx * ca + dy * sa;
  const across = -dx * sa + dy * ca;
  switch (pattern) {
    case 'rings':
      return 0.5 + 0.5 * Math.cos(Math.sqrt(dx * dx + dy * dy) * 40 * p.frequency + p.phase);
    case 'stripes':
      return 0.5 + 0.5 * Math.cos(along * 30 * p.frequency + p.phase);
    case 'blobs': {
      let value = 0.1;
      for (const b of p.blobs) {
        const d2 = ((u - b.x) ** 2 + (v - b.y) ** 2) / (b.r * b.r);
        value += Math.exp(-d2);
      }
      return Math.min(1, value);
    }
    case 'checks': {
      const cells = 6 * p.frequency;
      const a = Math.floor((along + 2) * cells);
      const b = Math.floor((across + 2) * cells);
      return (a + b) % 2 === 0 ? 0.85 : 0.15;
    }
    case 'waves':
      return 0.5 + 0.25 * Math.cos(along * 25 * p.frequency + p.phase) + 0.25 * Math.cos(across * 18 * p.frequency);
    case 'dots': {
      const cells = 7 * p.frequency;
      const fu = (along + 2) * cells;
      const fv = (across + 2) * cells;
      const ru = fu - Math.floor(fu) - 0.5;
      const rv = fv - Math.floor(fv) - 0.5;
      return ru * ru + rv * rv < 0.09 ? 0.9 : 0.1;
    }
    case 'spiral': {
      const r = Math.sqrt(dx * dx + dy * dy);
      const theta = Math.atan2(dy, dx);
      return 0.5 + 0.5 * Math.cos(theta * 3 + r * 45 * p.frequency + p.phase);
    }
    case 'cross': {
      const width = 0.06 * p.frequency;
      const inBar = Math.abs(along) < width || Math.abs(across) < width;
      return inBar ? 0.9 : 0.15 + 0.1 * Math.cos(r2(dx, dy) * 20);
    }
  }
}

function r2(dx: number, dy: number): number {
  return Math.sqrt(dx * dx + dy * dy);
}

/** One generated image: class pattern, image jitter, site shift. */
export function renderImage(options: {
  readonly label: number;
  readonly classCount: number;
  readonly index: number;
  readonly site: string | number;
  readonly seed: number;
  readonly size: number;
  readonly siteShift?: number;
}): RgbaImage {
  const { label, index, site, seed, size } = options;
  if (!Number.isInteger(size) || size < 1) throw new Error(`size must be a positive integer, got ${size}`);
  const pattern = PATTERNS[label % PATTERNS.length] ?? 'rings';
  const variant = Math.floor(label / PATTERNS.length);
  const rng = SeededRandom.fromText(`image:${seed}:${String(site)}:${label}:${index}`);
  const params = patternParams(rng, variant);
  const look = siteAppearance(site, seed, options.siteShift ?? 1);
  const data = new Uint8ClampedArray(size * size * 4);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const u = (x + 0.5) / size;
      const v = (y + 0.5) / size;
      // A round field of view, like a scan, with the class pattern inside.
      const inside = (u - 0.5) ** 2 + (v - 0.5) ** 2 < 0.23;
      const base = inside ? 40 + 180 * patternValue(pattern, params, u, v) : 8;
      const shifted = (base - 128) * look.contrast + 128 + look.brightness;
      const o = (y * size + x) * 4;
      for (let c = 0; c < 3; c++) data[o + c] = shifted * look.tint[c as 0 | 1 | 2] + rng.irwinHallNormal() * look.noise;
      data[o + 3] = 255;
    }
  }
  return { width: size, height: size, data };
}

/** All images of one site, class by class. */
export function generateImages(options: GenerateImagesOptions = {}): GeneratedImage[] {
  const names = classNames(options.classes ?? 4);
  const perClass = options.perClass ?? 10;
  if (!Number.isInteger(perClass) || perClass < 0) throw new Error(`perClass must be a non-negative integer, got ${perClass}`);
  const site = options.site ?? 'site-0';
  const seed = options.seed ?? 1;
  const size = options.size ?? 256;
  const out: GeneratedImage[] = [];
  names.forEach((className, label) => {
    for (let i = 0; i < perClass; i++) {
      const image = renderImage({ label, classCount: names.length, index: i, site, seed, size, ...(options.siteShift !== undefined ? { siteShift: options.siteShift } : {}) });
      out.push({ label, className, name: `${className}/${String(site)}-${String(i).padStart(4, '0')}`, image });
    }
  });
  return out;
}

async function deflateWithStreams(raw: Uint8Array): Promise<Uint8Array> {
  const stream = new Blob([raw.slice()]).stream().pipeThrough(new CompressionStream('deflate'));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/** PNG bytes of a generated (RGBA) image; compressed where `CompressionStream` exists, stored otherwise. */
export async function encodeRgbaPng(image: RgbaImage): Promise<Uint8Array> {
  const png = { width: image.width, height: image.height, color: 'rgba' as const, bitDepth: 8 as const, data: image.data };
  if (typeof CompressionStream === 'undefined') return encodePng(png, zlibStored);
  // encodePng wants a synchronous deflate: compress first, then hand the result over.
  const rowBytes = image.width * 4 + 1;
  const raw = new Uint8Array(rowBytes * image.height);
  for (let y = 0; y < image.height; y++) raw.set(image.data.subarray(y * image.width * 4, (y + 1) * image.width * 4), y * rowBytes + 1);
  const compressed = await deflateWithStreams(raw);
  return encodePng(png, () => compressed);
}

/** Generated images as PNG Files named `<class>/<site>-<index>.png` (browser demos feed these to the encoder). */
export async function generateImageFiles(options: GenerateImagesOptions = {}): Promise<{ file: File; label: number; className: string }[]> {
  const out: { file: File; label: number; className: string }[] = [];
  for (const generated of generateImages(options)) {
    const png = await encodeRgbaPng(generated.image);
    out.push({ file: new File([png.slice()], `${generated.name}.png`, { type: 'image/png' }), label: generated.label, className: generated.className });
  }
  return out;
}
