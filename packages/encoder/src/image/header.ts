/**
 * Reads an image's format, size and EXIF orientation from its first bytes, without decoding it. The browser uses it
 * to have very large images scaled down while they are decoded, so that an 8000x8000 photo never becomes a 256 MB
 * bitmap.
 */

export interface ImageHeader {
  readonly format: 'png' | 'jpeg' | 'webp' | 'gif' | 'bmp';
  /** Stored size (before EXIF orientation). */
  readonly width: number;
  readonly height: number;
  /** EXIF orientation 1-8 (1 when absent). 5-8 swap width and height on display. */
  readonly orientation: number;
}

function readExifOrientation(view: DataView, start: number, length: number): number {
  // "Exif\0\0" then a TIFF header.
  if (length < 14 || view.getUint32(start) !== 0x45786966) return 1;
  const tiff = start + 6;
  const little = view.getUint16(tiff) === 0x4949;
  const u16 = (o: number) => view.getUint16(o, little);
  const u32 = (o: number) => view.getUint32(o, little);
  const ifd = tiff + u32(tiff + 4);
  if (ifd + 2 > start + length) return 1;
  const entries = u16(ifd);
  for (let i = 0; i < entries; i++) {
    const entry = ifd + 2 + i * 12;
    if (entry + 12 > start + length) break;
    if (u16(entry) === 0x0112) {
      const value = u16(entry + 8);
      return value >= 1 && value <= 8 ? value : 1;
    }
  }
  return 1;
}

function readJpeg(view: DataView): ImageHeader | undefined {
  let offset = 2;
  let orientation = 1;
  while (offset + 4 <= view.byteLength) {
    if (view.getUint8(offset) !== 0xff) return undefined;
    const marker = view.getUint8(offset + 1);
    if (marker === 0xff) {
      offset += 1;
      continue;
    }
    const length = view.getUint16(offset + 2);
    if (marker === 0xe1) orientation = readExifOrientation(view, offset + 4, length - 2);
    const isStartOfFrame = marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
    if (isStartOfFrame) {
      if (offset + 9 > view.byteLength) return undefined;
      return { format: 'jpeg', height: view.getUint16(offset + 5), width: view.getUint16(offset + 7), orientation };
    }
    offset += 2 + length;
  }
  return undefined;
}

function readWebp(view: DataView): ImageHeader | undefined {
  if (view.byteLength < 30) return undefined;
  const chunk = view.getUint32(12);
  if (chunk === 0x56503820 /* 'VP8 ' */) {
    return { format: 'webp', width: view.getUint16(26, true) & 0x3fff, height: view.getUint16(28, true) & 0x3fff, orientation: 1 };
  }
  if (chunk === 0x5650384c /* 'VP8L' */) {
    const bits = view.getUint32(21, true);
    return { format: 'webp', width: (bits & 0x3fff) + 1, height: ((bits >>> 14) & 0x3fff) + 1, orientation: 1 };
  }
  if (chunk === 0x56503858 /* 'VP8X' */) {
    const w = view.getUint8(24) | (view.getUint8(25) << 8) | (view.getUint8(26) << 16);
    const h = view.getUint8(27) | (view.getUint8(28) << 8) | (view.getUint8(29) << 16);
    return { format: 'webp', width: w + 1, height: h + 1, orientation: 1 };
  }
  return undefined;
}

/** The header of a PNG, JPEG, WebP, GIF or BMP file; undefined for anything else or a truncated header. */
export function readImageHeader(bytes: Uint8Array): ImageHeader | undefined {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  try {
    if (bytes.length >= 24 && view.getUint32(0) === 0x89504e47 && view.getUint32(12) === 0x49484452) {
      return { format: 'png', width: view.getUint32(16), height: view.getUint32(20), orientation: 1 };
    }
    if (bytes.length >= 4 && view.getUint16(0) === 0xffd8) return readJpeg(view);
    if (bytes.length >= 16 && view.getUint32(0) === 0x52494646 && view.getUint32(8) === 0x57454250) return readWebp(view);
    if (bytes.length >= 10 && view.getUint32(0) === 0x47494638) {
      return { format: 'gif', width: view.getUint16(6, true), height: view.getUint16(8, true), orientation: 1 };
    }
    if (bytes.length >= 26 && view.getUint16(0) === 0x424d) {
      return { format: 'bmp', width: Math.abs(view.getInt32(18, true)), height: Math.abs(view.getInt32(22, true)), orientation: 1 };
    }
  } catch {
    return undefined;
  }
  return undefined;
}

/** Size as displayed, after EXIF orientation. */
export function orientedSize(header: ImageHeader): { width: number; height: number } {
  return header.orientation >= 5 ? { width: header.height, height: header.width } : { width: header.width, height: header.height };
}
