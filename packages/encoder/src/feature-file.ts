/**
 * The features file written by `npm run encode` (extension `.features`), readable in Node and the browser.
 *
 * Layout (little-endian):
 *   bytes 0-7    magic `FACMICFT`
 *   bytes 8-11   uint32 header length H (bytes of UTF-8 JSON, padded with spaces so the data starts 4-byte aligned)
 *   bytes 12..   JSON header (`FeatureFileHeader`)
 *   then         float32 features, row-major [header.count, header.dim], raw (not normalised)
 * Row i is `header.items[i]`; files that could not be decoded are listed in `header.errors` and have no row.
 */

export const FEATURE_FILE_MAGIC = 'FACMICFT';
export const FEATURE_FILE_VERSION = 1;

export interface FeatureFileItem {
  /** Path relative to the encoded folder, `/`-separated. */
  readonly path: string;
  /** Class index into `classNames`, or -1 when the folder has no classes. */
  readonly label: number;
  /** SHA-256 of the file's bytes (the feature cache key with the model hash). */
  readonly sha256?: string;
}

export interface FeatureFileHeader {
  readonly format: 'facmic-features';
  readonly version: number;
  readonly model: { readonly id: string; readonly hash: string; readonly source: string; readonly device: string };
  readonly dim: number;
  readonly count: number;
  readonly classNames: readonly string[];
  readonly items: readonly FeatureFileItem[];
  readonly errors: readonly { readonly path: string; readonly message: string }[];
  readonly createdAt: string;
}

export function encodeFeatureFile(header: Omit<FeatureFileHeader, 'format' | 'version'>, features: Float32Array): Uint8Array {
  if (header.items.length !== header.count) throw new Error(`feature file: ${header.items.length} items for count ${header.count}`);
  if (features.length !== header.count * header.dim) throw new Error(`feature file: ${features.length} values for ${header.count}x${header.dim}`);
  let json = JSON.stringify({ format: 'facmic-features', version: FEATURE_FILE_VERSION, ...header });
  let jsonBytes = new TextEncoder().encode(json);
  const pad = (4 - ((12 + jsonBytes.length) % 4)) % 4;
  if (pad > 0) {
    json += ' '.repeat(pad);
    jsonBytes = new TextEncoder().encode(json);
  }
  const out = new Uint8Array(12 + jsonBytes.length + features.length * 4);
  const view = new DataView(out.buffer);
  for (let i = 0; i < 8; i++) out[i] = FEATURE_FILE_MAGIC.charCodeAt(i);
  view.setUint32(8, jsonBytes.length, true);
  out.set(jsonBytes, 12);
  const base = 12 + jsonBytes.length;
  for (let i = 0; i < features.length; i++) view.setFloat32(base + i * 4, features[i] ?? 0, true);
  return out;
}

export function decodeFeatureFile(bytes: Uint8Array): { header: FeatureFileHeader; features: Float32Array } {
  const magic = String.fromCharCode(...bytes.subarray(0, 8));
  if (bytes.length < 12 || magic !== FEATURE_FILE_MAGIC) throw new Error('not a facmic features file (bad magic)');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const length = view.getUint32(8, true);
  if (12 + length > bytes.length) throw new Error('facmic features file: header runs past the end');
  const raw = JSON.parse(new TextDecoder().decode(bytes.subarray(12, 12 + length))) as { format?: unknown; version?: unknown };
  if (raw.format !== 'facmic-features' || raw.version !== FEATURE_FILE_VERSION) {
    throw new Error(`facmic features file: unsupported format ${String(raw.format)} v${String(raw.version)}`);
  }
  const header = raw as FeatureFileHeader;
  const base = 12 + length;
  const expected = header.count * header.dim;
  if (bytes.length !== base + expected * 4) throw new Error(`facmic features file: ${bytes.length - base} data bytes, expected ${expected * 4}`);
  const features = new Float32Array(expected);
  for (let i = 0; i < expected; i++) features[i] = view.getFloat32(base + i * 4, true);
  return { header, features };
}
