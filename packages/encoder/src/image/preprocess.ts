/**
 * The geometric half of CLIP's preprocessing, done here in plain TypeScript so Node and the browser produce the same
 * pixels: to RGB (alpha composited over black), resize so the shortest edge matches the processor's `size` (Pillow's
 * filter and rounding), centre crop to `crop_size`. The result has exactly the processor's output size, so the
 * transformers.js processor's own resize and crop are no-ops and it only rescales, normalises and lays out the tensor.
 */
import { centerCropRgb, resizeRgb, RESAMPLE, type RgbImage } from './resample.ts';

/** Decoded pixels with 1 (grey), 2 (grey+alpha), 3 (RGB) or 4 (RGBA) 8-bit channels. */
export interface DecodedPixels {
  readonly width: number;
  readonly height: number;
  readonly channels: 1 | 2 | 3 | 4;
  readonly data: Uint8Array | Uint8ClampedArray;
}

/** Converts to 8-bit RGB; transparent pixels are composited over black (the background of medical images). */
export function toRgb(pixels: DecodedPixels): RgbImage {
  const { width, height, channels, data } = pixels;
  const count = width * height;
  if (data.length !== count * channels) {
    throw new Error(`pixel buffer has ${data.length} bytes, expected ${count * channels} for ${width}x${height}x${channels}`);
  }
  if (channels === 3) return { width, height, data: data instanceof Uint8Array ? data : new Uint8Array(data.buffer, data.byteOffset, data.length) };
  const out = new Uint8Array(count * 3);
  for (let i = 0; i < count; i++) {
    let r: number, g: number, b: number, a: number;
    if (channels === 1 || channels === 2) {
      r = g = b = (data[i * channels] ?? 0);
      a = channels === 2 ? (data[i * 2 + 1] ?? 0) : 255;
    } else {
      r = (data[i * 4] ?? 0);
      g = (data[i * 4 + 1] ?? 0);
      b = (data[i * 4 + 2] ?? 0);
      a = (data[i * 4 + 3] ?? 0);
    }
    if (a !== 255) {
      r = Math.round((r * a) / 255);
      g = Math.round((g * a) / 255);
      b = Math.round((b * a) / 255);
    }
    out[i * 3] = r;
    out[i * 3 + 1] = g;
    out[i * 3 + 2] = b;
  }
  return { width, height, data: out };
}

/** What the processor asks for, read from `preprocessor_config.json`. */
export interface GeometryPlan {
  readonly resize:
    | { readonly kind: 'shortest-edge'; readonly shortestEdge: number }
    | { readonly kind: 'exact'; readonly width: number; readonly height: number }
    | { readonly kind: 'none' };
  readonly crop: { readonly width: number; readonly height: number } | undefined;
  readonly resample: number;
}

function positiveInteger(value: unknown, what: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw new Error(`preprocessor_config.json: ${what} must be a positive integer, got ${JSON.stringify(value)}`);
  }
  return value;
}

/** Reads the resize/crop part of a Hugging Face image processor config (both the old int and the dict forms). */
export function geometryPlanFromConfig(config: Readonly<Record<string, unknown>>): GeometryPlan {
  const size = config.size;
  const doResize = config.do_resize === undefined ? size !== undefined : config.do_resize === true;
  let resize: GeometryPlan['resize'] = { kind: 'none' };
  if (doResize) {
    if (typeof size === 'number') {
      resize = { kind: 'shortest-edge', shortestEdge: positiveInteger(size, 'size') };
    } else if (size && typeof size === 'object' && 'shortest_edge' in size) {
      resize = { kind: 'shortest-edge', shortestEdge: positiveInteger(size.shortest_edge, 'size.shortest_edge') };
    } else if (size && typeof size === 'object' && 'width' in size && 'height' in size) {
      resize = { kind: 'exact', width: positiveInteger(size.width, 'size.width'), height: positiveInteger(size.height, 'size.height') };
    } else {
      throw new Error(`preprocessor_config.json: unsupported size ${JSON.stringify(size)}`);
    }
  }
  let crop: GeometryPlan['crop'];
  if (config.do_center_crop === true) {
    const cropSize = config.crop_size ?? size;
    if (typeof cropSize === 'number') {
      crop = { width: positiveInteger(cropSize, 'crop_size'), height: cropSize };
    } else if (cropSize && typeof cropSize === 'object' && 'width' in cropSize && 'height' in cropSize) {
      crop = { width: positiveInteger(cropSize.width, 'crop_size.width'), height: positiveInteger(cropSize.height, 'crop_size.height') };
    } else {
      throw new Error(`preprocessor_config.json: unsupported crop_size ${JSON.stringify(cropSize)}`);
    }
  }
  const resample = typeof config.resample === 'number' ? config.resample : RESAMPLE.bilinear;
  return { resize, crop, resample };
}

/** Target size of a shortest-edge resize, as Hugging Face's Python `get_resize_output_image_size` computes it. */
export function shortestEdgeSize(width: number, height: number, shortestEdge: number): { width: number; height: number } {
  if (width <= height) return { width: shortestEdge, height: Math.trunc((shortestEdge * height) / width) };
  return { width: Math.trunc((shortestEdge * width) / height), height: shortestEdge };
}

/** The size an image has after the resize step (before the crop). */
export function resizedSize(width: number, height: number, plan: GeometryPlan): { width: number; height: number } {
  switch (plan.resize.kind) {
    case 'shortest-edge':
      return shortestEdgeSize(width, height, plan.resize.shortestEdge);
    case 'exact':
      return { width: plan.resize.width, height: plan.resize.height };
    case 'none':
      return { width, height };
  }
}

/**
 * Resize and centre crop per the plan. Only the cropped window is resampled (same pixels as resizing everything and
 * then cropping), so long thin images do not need a huge intermediate. Crop offsets are floored and a crop larger than
 * the resized image is padded with black, as in Hugging Face's Python `center_crop`.
 */
export function applyGeometry(rgb: RgbImage, plan: GeometryPlan): RgbImage {
  const target = resizedSize(rgb.width, rgb.height, plan);
  const width = Math.max(1, target.width);
  const height = Math.max(1, target.height);
  if (!plan.crop) return resizeRgb(rgb, width, height, plan.resample);
  const crop = plan.crop;
  const top = Math.floor((height - crop.height) / 2);
  const left = Math.floor((width - crop.width) / 2);
  const window = {
    left: Math.max(0, left),
    top: Math.max(0, top),
    width: Math.min(width, left + crop.width) - Math.max(0, left),
    height: Math.min(height, top + crop.height) - Math.max(0, top),
  };
  const inner = resizeRgb(rgb, width, height, plan.resample, window);
  if (window.width === crop.width && window.height === crop.height) return inner;
  return centerCropRgb(inner, crop.width, crop.height);
}
