/**
 * The demo hospitals' images, generated inside the worker with `@facmic/encoder`'s generator: every class has its own
 * pattern and every hospital its own look (brightness, contrast, tint, noise), so the domain shift between hospitals
 * is visible and real for the model. The split is the project's one seeded 80/10/10 split (`splitItems`), as for a real folder.
 */
import { generateImages, type RgbaImage } from '@facmic/encoder';
import { splitItems, type SplitPart } from '@facmic/learning/plain';
import type { DemoDatasetRequest } from './worker-messages.ts';

/** Fixed, so every demo tab of a hospital draws the same images; hospitals differ by their site index. */
export const DEMO_IMAGE_SEED = 1;
/** Side of the generated images (the encoder resizes to its own input size). */
export const DEMO_IMAGE_SIZE = 128;

export function demoSiteName(siteIndex: number): string {
  return `hospital-${siteIndex + 1}`;
}

export interface DemoImage {
  readonly name: string;
  readonly pixels: RgbaImage;
  readonly label: number;
  readonly part: SplitPart;
}

export function generateDemoImages(classNames: readonly string[], demo: DemoDatasetRequest): DemoImage[] {
  const images = generateImages({ classes: classNames, perClass: demo.imagesPerClass, site: demoSiteName(demo.siteIndex), seed: DEMO_IMAGE_SEED, size: DEMO_IMAGE_SIZE });
  const split = splitItems(images, demo.seed, (i) => i.name);
  const out: DemoImage[] = [];
  for (const part of ['train', 'validation', 'test'] as const) {
    for (const image of split[part]) out.push({ name: `${image.name}.png`, pixels: image.image, label: image.label, part });
  }
  return out;
}

/** One small example per class, for the page to show. */
export function demoPreview(classNames: readonly string[], siteIndex: number): { className: string; image: RgbaImage }[] {
  return generateImages({ classes: classNames, perClass: 1, site: demoSiteName(siteIndex), seed: DEMO_IMAGE_SEED, size: 96 }).map((g) => ({ className: g.className, image: g.image }));
}
