/**
 * Image resampling as Pillow does it (`Image.resize` without `reducing_gap`): separable convolution, horizontal pass
 * then vertical pass, filter support widened by the downscale factor (antialiasing), 22-bit fixed-point coefficients
 * and rounding to 8 bits after each pass. CLIP's Python preprocessing resizes with Pillow's bicubic filter, so this is
 * the reference; and being plain TypeScript it gives the same pixels in Node and in the browser, where
 * transformers.js would use sharp and canvas respectively, which disagree.
 */

/** 8-bit pixels, row-major: 1 channel (grey) or 3 (RGB), interleaved. */
export interface PixelImage {
  readonly width: number;
  readonly height: number;
  /** Default 3. */
  readonly channels?: 1 | 3;
  readonly data: Uint8Array;
}

/** 8-bit RGB pixels, row-major, 3 bytes per pixel. */
export interface RgbImage extends PixelImage {
  readonly channels?: 3;
}

function channelsOf(image: PixelImage): 1 | 3 {
  return image.channels ?? 3;
}

/** Pillow's resampling filter codes, as `resample` in a preprocessor config. */
export const RESAMPLE = { nearest: 0, lanczos: 1, bilinear: 2, bicubic: 3, box: 4, hamming: 5 } as const;

interface Filter {
  readonly support: number;
  readonly weight: (x: number) => number;
}

function sinc(x: number): number {
  if (x === 0) return 1;
  const px = Math.PI * x;
  return Math.sin(px) / px;
}

const FILTERS: Readonly<Record<number, Filter>> = {
  [RESAMPLE.box]: { support: 0.5, weight: (x) => (x > -0.5 && x <= 0.5 ? 1 : 0) },
  [RESAMPLE.bilinear]: {
    support: 1,
    weight: (x) => {
      const ax = Math.abs(x);
      return ax < 1 ? 1 - ax : 0;
    },
  },
  [RESAMPLE.hamming]: {
    support: 1,
    weight: (x) => {
      const ax = Math.abs(x);
      if (ax === 0) return 1;
      if (ax >= 1) return 0;
      return sinc(ax) * (0.46 + 0.54 * Math.cos(Math.PI * ax));
    },
  },
  [RESAMPLE.bicubic]: {
    support: 2,
    weight: (x) => {
      const a = -0.5;
      const ax = Math.abs(x);
      if (ax < 1) return ((a + 2) * ax - (a + 3)) * ax * ax + 1;
      if (ax < 2) return (((ax - 5) * ax + 8) * ax - 4) * a;
      return 0;
    },
  },
  [RESAMPLE.lanczos]: { support: 3, weight: (x) => (x > -3 && x < 3 ? sinc(x) * sinc(x / 3) : 0) },
};

const PRECISION_BITS = 32 - 8 - 2;
const PRECISION_SCALE = 2 ** PRECISION_BITS;
const ROUNDING = 2 ** (PRECISION_BITS - 1);

interface Coefficients {
  /** First input index for each computed output index. */
  readonly bounds: Int32Array;
  /** Number of taps for each computed output index. */
  readonly sizes: Int32Array;
  /** Fixed-point weights, `kernelSize` per computed output index. */
  readonly weights: Float64Array;
  readonly kernelSize: number;
}

/** Pillow's `precompute_coeffs` for output indices `first .. first + count - 1` of a resize to `outSize`. */
function precomputeCoefficients(inSize: number, outSize: number, filter: Filter, first: number, count: number): Coefficients {
  const scale = inSize / outSize;
  const filterScale = Math.max(scale, 1);
  const support = filter.support * filterScale;
  const kernelSize = Math.ceil(support) * 2 + 1;
  const bounds = new Int32Array(count);
  const sizes = new Int32Array(count);
  const weights = new Float64Array(count * kernelSize);
  const ss = 1 / filterScale;
  const k = new Float64Array(kernelSize);
  for (let i = 0; i < count; i++) {
    const xx = first + i;
    const center = (xx + 0.5) * scale;
    // Pillow casts to int (truncation toward zero), then clamps.
    const xmin = Math.max(Math.trunc(center - support + 0.5), 0);
    const xmax = Math.min(Math.trunc(center + support + 0.5), inSize) - xmin;
    let total = 0;
    for (let x = 0; x < xmax; x++) {
      const w = filter.weight((x + xmin - center + 0.5) * ss);
      k[x] = w;
      total += w;
    }
    for (let x = 0; x < xmax; x++) {
      const w = total !== 0 ? (k[x] ?? 0) / total : 0;
      // Pillow: (int)(0.5 + w * 2^22) for w >= 0, (int)(-0.5 + w * 2^22) otherwise.
      weights[i * kernelSize + x] = w < 0 ? Math.trunc(-0.5 + w * PRECISION_SCALE) : Math.trunc(0.5 + w * PRECISION_SCALE);
    }
    bounds[i] = xmin;
    sizes[i] = xmax;
  }
  return { bounds, sizes, weights, kernelSize };
}

function clip8(value: number): number {
  if (value <= 0) return 0;
  const v = Math.floor(value / PRECISION_SCALE);
  return v > 255 ? 255 : v;
}

/** Horizontal pass over source rows `rowFirst .. rowFirst + rowCount - 1`, output columns given by `c`. */
function resampleHorizontal(src: PixelImage, c: Coefficients, rowFirst: number, rowCount: number): PixelImage {
  const channels = channelsOf(src);
  const outWidth = c.bounds.length;
  const out = new Uint8Array(outWidth * rowCount * channels);
  const input = src.data;
  const { bounds, sizes, weights, kernelSize } = c;
  // Indices below are in range by construction (bounds/sizes come from precomputeCoefficients), hence the casts.
  for (let y = 0; y < rowCount; y++) {
    const rowIn = (rowFirst + y) * src.width * channels;
    const rowOut = y * outWidth * channels;
    for (let xx = 0; xx < outWidth; xx++) {
      const n = sizes[xx] as number;
      const kOffset = xx * kernelSize;
      let p = rowIn + (bounds[xx] as number) * channels;
      if (channels === 1) {
        let v = ROUNDING;
        for (let x = 0; x < n; x++, p++) v += (input[p] as number) * (weights[kOffset + x] as number);
        out[rowOut + xx] = clip8(v);
        continue;
      }
      let r = ROUNDING, g = ROUNDING, b = ROUNDING;
      for (let x = 0; x < n; x++, p += 3) {
        const w = weights[kOffset + x] as number;
        r += (input[p] as number) * w;
        g += (input[p + 1] as number) * w;
        b += (input[p + 2] as number) * w;
      }
      const o = rowOut + xx * 3;
      out[o] = clip8(r);
      out[o + 1] = clip8(g);
      out[o + 2] = clip8(b);
    }
  }
  return { width: outWidth, height: rowCount, channels, data: out };
}

/** Vertical pass; `rowOffset` is the source row that `src` row 0 stands for. */
function resampleVertical(src: PixelImage, c: Coefficients, rowOffset: number): PixelImage {
  const outHeight = c.bounds.length;
  const rowLength = src.width * channelsOf(src);
  const out = new Uint8Array(rowLength * outHeight);
  const input = src.data;
  // 32-bit integer accumulation, as Pillow does: |sum| < 255 * 1.3 * 2^22 + 2^21 < 2^31.
  const accumulator = new Int32Array(rowLength);
  const { bounds, sizes, weights, kernelSize } = c;
  for (let yy = 0; yy < outHeight; yy++) {
    const ymin = (bounds[yy] as number) - rowOffset;
    const n = sizes[yy] as number;
    const kOffset = yy * kernelSize;
    accumulator.fill(ROUNDING);
    // Row by row, so reads are sequential.
    for (let y = 0; y < n; y++) {
      const w = weights[kOffset + y] as number;
      const rowIn = (ymin + y) * rowLength;
      for (let i = 0; i < rowLength; i++) accumulator[i] = ((accumulator[i] as number) + Math.imul(input[rowIn + i] as number, w)) | 0;
    }
    const rowOut = yy * rowLength;
    for (let i = 0; i < rowLength; i++) {
      const v = (accumulator[i] as number) >> PRECISION_BITS;
      out[rowOut + i] = v < 0 ? 0 : v > 255 ? 255 : v;
    }
  }
  return { width: src.width, height: outHeight, channels: channelsOf(src), data: out };
}

function slicePixels(src: PixelImage, left: number, top: number, width: number, height: number): PixelImage {
  if (left === 0 && top === 0 && width === src.width && height === src.height) return src;
  const channels = channelsOf(src);
  const out = new Uint8Array(width * height * channels);
  for (let y = 0; y < height; y++) {
    const start = ((top + y) * src.width + left) * channels;
    out.set(src.data.subarray(start, start + width * channels), y * width * channels);
  }
  return { width, height, channels, data: out };
}

/** A rectangle of the resized image, in its pixel coordinates, inside its bounds. */
export interface OutputWindow {
  readonly left: number;
  readonly top: number;
  readonly width: number;
  readonly height: number;
}

/**
 * Resizes an RGB image to `width` x `height` with one of Pillow's filters (`RESAMPLE`), Pillow's way, computing only
 * the pixels of `window` (default: all). The window's pixels equal those of a full resize, but memory and time scale
 * with the window, so a 1x8000 strip does not need a 224x1792000 intermediate.
 */
export function resizeRgb<T extends PixelImage>(
  src: T,
  width: number,
  height: number,
  resample: number = RESAMPLE.bicubic,
  window: OutputWindow = { left: 0, top: 0, width, height },
): T {
  if (width < 1 || height < 1) throw new Error(`cannot resize to ${width}x${height}`);
  const { left, top } = window;
  if (left < 0 || top < 0 || window.width < 1 || window.height < 1 || left + window.width > width || top + window.height > height) {
    throw new Error(`window ${JSON.stringify(window)} is outside ${width}x${height}`);
  }
  if (resample === RESAMPLE.nearest) return resizeNearest(src, width, height, window) as T;
  const filter = FILTERS[resample];
  if (!filter) throw new Error(`unknown resample filter ${resample} (Pillow codes 0-5)`);

  const needHorizontal = width !== src.width;
  const needVertical = height !== src.height;
  const vertical = needVertical ? precomputeCoefficients(src.height, height, filter, top, window.height) : undefined;
  // Source rows the vertical pass reads (all window rows when there is no vertical resize).
  let rowFirst = top;
  let rowCount = window.height;
  if (vertical) {
    rowFirst = (vertical.bounds[0] ?? 0);
    const last = vertical.bounds.length - 1;
    rowCount = (vertical.bounds[last] ?? 0) + (vertical.sizes[last] ?? 0) - rowFirst;
  }
  const horizontalPass = needHorizontal
    ? resampleHorizontal(src, precomputeCoefficients(src.width, width, filter, left, window.width), rowFirst, rowCount)
    : slicePixels(src, left, rowFirst, window.width, rowCount);
  return (vertical ? resampleVertical(horizontalPass, vertical, rowFirst) : horizontalPass) as T;
}

function resizeNearest(src: PixelImage, width: number, height: number, window: OutputWindow): PixelImage {
  const channels = channelsOf(src);
  const out = new Uint8Array(window.width * window.height * channels);
  for (let y = 0; y < window.height; y++) {
    const sy = Math.min(src.height - 1, Math.floor(((window.top + y + 0.5) * src.height) / height));
    for (let x = 0; x < window.width; x++) {
      const sx = Math.min(src.width - 1, Math.floor(((window.left + x + 0.5) * src.width) / width));
      const i = (sy * src.width + sx) * channels;
      out.set(src.data.subarray(i, i + channels), (y * window.width + x) * channels);
    }
  }
  return { width: window.width, height: window.height, channels, data: out };
}

/** Centre crop as Hugging Face's image processors do it (offsets floored), padding with black where too small. */
export function centerCropRgb<T extends PixelImage>(src: T, width: number, height: number): T {
  if (width === src.width && height === src.height) return src;
  const channels = channelsOf(src);
  const top = Math.floor((src.height - height) / 2);
  const left = Math.floor((src.width - width) / 2);
  const out = new Uint8Array(width * height * channels);
  for (let y = 0; y < height; y++) {
    const sy = y + top;
    if (sy < 0 || sy >= src.height) continue;
    const x0 = Math.max(0, -left);
    const x1 = Math.min(width, src.width - left);
    if (x1 <= x0) continue;
    const start = (sy * src.width + x0 + left) * channels;
    out.set(src.data.subarray(start, start + (x1 - x0) * channels), (y * width + x0) * channels);
  }
  return { width, height, channels, data: out } as PixelImage as T;
}
