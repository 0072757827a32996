/**
 * The geometric half of CLIP's preprocessing, done here in plain TypeScript so Node and the browser produce the same
 * pixels: to RGB (alpha composited over black), resize so the shortest edge matches the processor's `size` (Pillow's
 * filter and rounding), centre crop to `crop_size`. The result has exactly the processor's output size, so the
 * transformers.js processor's own resize and crop are no-ops and it only rescales, normalises and lays out the tensor.
 */
import { centerCropRgb, resizeRgb, RESAMPLE, type PixelImage, type RgbImage } from './resample.ts';

/** Decoded pixels with 1 (grey), 2 (grey+alpha), 3 (RGB) or 4 (RGBA) 8-bit channels. */
export interface DecodedPixels {
  readonly width: number;
  readonly height: number;
  readonly channels: 1 | 2 | 3 | 4;
  readonly data: Uint8Array | Uint8ClampedArray;
}

/**
 * Converts to 8-bit pixels for resizing: one grey channel when the image is grey (1-2 channels, or R = G = B
 * everywhere, as in most medical images), else RGB. Transparent pixels are composited over black (the background of
 * medical images). Resizing a grey plane once gives exactly the pixels of resizing three equal planes, three times
 * faster.
 */
export function toPixels(pixels: DecodedPixels): PixelImage {
  const { width, height, channels, data } = pixels;
  const count = width * height;
  if (data.length !== count * channels) {
    throw new Error(`pixel buffer has ${data.length} bytes, expected ${count * channels} for ${width}x${height}x${channels}`);
  }
  const bytes = data instanceof Uint8Array ? data : new Uint8Array(data.buffer, data.byteOffset, data.length);
  if (channels === 1) return { width, height, channels: 1, data: bytes };
  if (channels === 2) {
    const grey = new Uint8Array(count);
    for (let i = 0; i < count; i++) {
      const v = bytes[i * 2] as number;
      const a = bytes[i * 2 + 1] as number;
      grey[i] = a === 255 ? v : Math.round((v * a) / 255);
    }
    return { width, height, channels: 1, data: grey };
  }
  let isGrey = true;
  for (let i = 0; i < count && isGrey; i++) {
    const o = i * channels;
    isGrey = bytes[o] === bytes[o + 1] && bytes[o] === bytes[o + 2];
  }
  if (isGrey) {
    const grey = new Uint8Array(count);
    for (let i = 0; i < count; i++) {
      const v = bytes[i * channels] as number;
      const a = channels === 4 ? (bytes[i * 4 + 3] as number) : 255;
      grey[i] = a === 255 ? v : Math.round((v * a) / 255);
    }
    return { width, height, channels: 1, data: grey };
  }
  if (channels === 3) return { width, height, channels: 3, data: bytes };
  const rgb = new Uint8Array(count * 3);
  for (let i = 0; i < count; i++) {
    const a = bytes[i * 4 + 3] as number;
    for (let c = 0; c < 3; c++) {
      const v = bytes[i * 4 + c] as number;
      rgb[i * 3 + c] = a === 255 ? v : Math.round((v * a) / 255);
    }
  }
  return { width, height, channels: 3, data: rgb };
}

/** Three channels (a grey plane repeated). */
export function expandToRgb(image: PixelImage): RgbImage {
  if ((image.channels ?? 3) === 3) return { width: image.width, height: image.height, data: image.data };
  const count = image.width * image.height;
  const rgb = new Uint8Array(count * 3);
  for (let i = 0; i < count; i++) {
    const v = image.data[i] as number;
    rgb[i * 3] = v;
    rgb[i * 3 + 1] = v;
    rgb[i * 3 + 2] = v;
  }
  return { width: image.width, height: image.height, data: rgb };
}

/** Converts to 8-bit RGB; transparent pixels are composited over black. */
export function toRgb(pixels: DecodedPixels): RgbImage {
  return expandToRgb(toPixels(pixels));
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
export function applyGeometry<T extends PixelImage>(rgb: T, plan: GeometryPlan): T {
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
