/**
 * Binary encoding of named float tensors: a module state (the attention module's weights) or a feature matrix.
 *
 * Layout (all integers little-endian):
 *
 * | bytes      | content                                                                  |
 * |------------|--------------------------------------------------------------------------|
 * | 0..3       | magic `FMST`                                                             |
 * | 4..5       | format version (u16), {@link TENSOR_FORMAT_VERSION}                      |
 * | 6..7       | reserved (u16), 0                                                        |
 * | 8..11      | header length H in bytes (u32)                                           |
 * | 12..12+H   | UTF-8 JSON header `{"tensors":[{"name","shape","dtype"}, ...]}`           |
 * |            | (version 2 adds `"baseRound"` and, on `int8` entries, `"scale"`)          |
 * | padding    | zero bytes up to a multiple of 4                                         |
 * | data       | each tensor's values, row-major, in header order, each padded to 4 bytes |
 * | last 4     | CRC-32 of every byte before it (u32)                                     |
 *
 * Tensors are written sorted by name, so one state always encodes to the same bytes (and the same checksum).
 * Decoding checks the magic, version, header, lengths and checksum, then (when given) that names and shapes equal an
 * expected spec, and refuses NaN and Infinity.
 *
 * A tensor file has one checksum: its trailer, the CRC-32 of every byte before it, as 8 hex digits. `encodeTensors`
 * returns it with the bytes and `decodeTensors` returns the one it verified, so nothing decodes a file only to read it.
 *
 * Decoding stays close to a copy: float32 values are copied in one block (or, on request, viewed where they lie),
 * float16 ones widened through a 65,536-entry table, then both are scanned once for NaN and Infinity.
 *
 * Version 2 adds the `int8` dtype (`int8-tensor.ts`): an update's tensor as its delta from the global model of round
 * `baseRound` (the header's), one byte per value, with the tensor's `scale` in its entry. Decoding one needs that
 * model (`DecodeTensorsOptions.base`) and returns base + delta in float32, like every dtype. A file without an `int8`
 * tensor is still written as version 1, so readers of version 1 read it; this build reads both.
 */
import { crc32 } from './crc32.ts';
import { float16BitsToFloat32, float32ToFloat16Bits } from './float16.ts';
import { baseOf, quantiseAgainstBase, readInt8, validInt8Scale, type UniformSource } from './int8-tensor.ts';
import { TensorEncodingError, type NamedTensor, type TensorBase, type TensorDtype, type TensorSet, type TensorSpec } from './tensor-types.ts';

export { TensorEncodingError, type NamedTensor, type TensorBase, type TensorDtype, type TensorEncodingErrorCode, type TensorSet, type TensorSpec } from './tensor-types.ts';

/** Newest version of the binary layout above (2: the `int8` dtype); files without `int8` tensors are version 1. */
export const TENSOR_FORMAT_VERSION = 2;
/** Versions this build decodes. */
export const TENSOR_FORMAT_VERSIONS_READ: readonly number[] = [1, 2];
export const TENSOR_DTYPES: readonly TensorDtype[] = ['float32', 'float16', 'int8'];
/** The dtypes of a file that stands alone (an `int8` tensor needs its base model). */
export type PlainTensorDtype = Exclude<TensorDtype, 'int8'>;



export interface EncodeTensorsOptions {
  /**
   * Value type on the wire (default float32). float16 halves the size; values beyond +-65504 are refused. int8 sends
   * each tensor's delta from `base` in about a quarter of the float32 size (stochastic rounding from `random`).
   */
  dtype?: TensorDtype;
  /** Tensors kept in float32 whatever `dtype` says (e.g. counters such as `num_batches_tracked`). */
  float32Names?: readonly string[];
  /** With `dtype: 'int8'`: the model the deltas are taken from (every int8 tensor's name, same length). */
  base?: TensorBase;
  /** With `dtype: 'int8'`: the rounding's randomness (default Math.random; a seeded source makes files reproducible). */
  random?: UniformSource;
}

export interface DecodeTensorsOptions {
  /** When given, the decoded names must be exactly these and each shape must match. */
  expected?: TensorSpec;
  /** Refuse inputs longer than this many bytes (default 256 MiB). */
  maxBytes?: number;
  /**
   * With `false`, float32 tensors are views of `bytes` where the platform allows it (little-endian, 4-byte aligned),
   * so nothing is copied: for a caller that only reads them while `bytes` lives (default true: fresh arrays).
   */
  copy?: boolean;
  /**
   * The base model of `int8` tensors (or a function giving it, called only when the file has one): the file's
   * `baseRound` must be its round. Without it an `int8` file is refused.
   */
  base?: TensorBase | (() => TensorBase);
}

/** A tensor file and its checksum (the trailer, 8 hex digits). */
export interface EncodedTensors {
  bytes: Uint8Array;
  checksum: string;
}

export interface DecodedTensors {
  tensors: TensorSet;
  dtypes: Record<string, TensorDtype>;
  /** The file's checksum: its verified trailer, the CRC-32 of every byte before it, as 8 hex digits. */
  checksum: string;
  byteLength: number;
}

const MAGIC = [0x46, 0x4d, 0x53, 0x54]; // "FMST"
const PREAMBLE_BYTES = 12;
const TRAILER_BYTES = 4;
const MAX_HEADER_BYTES = 1 << 20;
const MAX_TENSORS = 1024;
const MAX_NAME_LENGTH = 256;
const MAX_RANK = 8;
const DEFAULT_MAX_BYTES = 256 * 1024 * 1024;
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** float16 bit pattern -> value, for decoding without arithmetic per value. */
const FLOAT16_VALUES: Float32Array = (() => {
  const table = new Float32Array(0x10000);
  for (let bits = 0; bits < 0x10000; bits++) table[bits] = float16BitsToFloat32(bits);
  return table;
})();

const align4 = (n: number): number => (n + 3) & ~3;
const hex = (crc: number): string => crc.toString(16).padStart(8, '0');
const bytesPerValue = (dtype: TensorDtype): number => (dtype === 'float32' ? 4 : dtype === 'float16' ? 2 : 1);
const elementCount = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

/** Encoded size in bytes of tensors with these shapes (header included), e.g. to size message limits. */
export function encodedTensorsByteLength(spec: TensorSpec, dtype: PlainTensorDtype = 'float32', float32Names: readonly string[] = []): number {
  const names = Object.keys(spec).sort();
  const header = headerBytes(names.map((name) => ({ name, shape: [...(spec[name] ?? [])], dtype: float32Names.includes(name) ? 'float32' : dtype })), null);
  let total = align4(PREAMBLE_BYTES + header.length);
  for (const name of names) {
    const d = float32Names.includes(name) ? 'float32' : dtype;
    total += align4(elementCount(spec[name] ?? []) * bytesPerValue(d));
  }
  return total + TRAILER_BYTES;
}

interface HeaderEntry {
  name: string;
  shape: number[];
  dtype: TensorDtype;
  /** int8 entries only. */
  scale?: number;
}

function headerBytes(entries: HeaderEntry[], baseRound: number | null): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(baseRound === null ? { tensors: entries } : { baseRound, tensors: entries }));
}

/**
 * Encodes named tensors; refuses non-finite values and data whose length does not match its shape. Returns the file
 * with its checksum.
 */
export function encodeTensors(tensors: TensorSet, options: EncodeTensorsOptions = {}): EncodedTensors {
  const dtype = options.dtype ?? 'float32';
  const keep = options.float32Names ?? [];
  const names = Object.keys(tensors).sort();
  const entries: HeaderEntry[] = [];
  const codes = new Map<string, Int8Array>();
  for (const name of names) {
    const tensor = tensors[name] as NamedTensor;
    checkShape(name, tensor.shape);
    if (tensor.data.length !== elementCount(tensor.shape)) {
      throw new TensorEncodingError('WEIGHTS_SHAPE_MISMATCH', `tensor "${name}": ${tensor.data.length} values for shape [${tensor.shape.join(', ')}]`);
    }
    const entry: HeaderEntry = { name, shape: [...tensor.shape], dtype: keep.includes(name) ? 'float32' : dtype };
    if (entry.dtype === 'int8') {
      const bad = firstNonFinite(tensor.data);
      if (bad >= 0) throw new TensorEncodingError('NON_FINITE_WEIGHTS', `tensor "${name}" holds ${tensor.data[bad]} at index ${bad}`);
      const quantised = quantiseAgainstBase(name, tensor.data, options.base, options.random);
      entry.scale = quantised.scale;
      codes.set(name, quantised.codes);
    }
    entries.push(entry);
  }
  const baseRound = codes.size > 0 ? (options.base as TensorBase).round : null;
  const header = headerBytes(entries, baseRound);
  let total = align4(PREAMBLE_BYTES + header.length);
  for (const e of entries) total += align4(elementCount(e.shape) * bytesPerValue(e.dtype));
  total += TRAILER_BYTES;

  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  out.set(MAGIC, 0);
  view.setUint16(4, baseRound === null ? 1 : TENSOR_FORMAT_VERSION, true);
  view.setUint16(6, 0, true);
  view.setUint32(8, header.length, true);
  out.set(header, PREAMBLE_BYTES);
  let offset = align4(PREAMBLE_BYTES + header.length);
  for (const e of entries) {
    const data = (tensors[e.name] as NamedTensor).data;
    const bad = firstNonFinite(data);
    if (bad >= 0) throw new TensorEncodingError('NON_FINITE_WEIGHTS', `tensor "${e.name}" holds ${data[bad]} at index ${bad}`);
    const quantised = codes.get(e.name);
    if (quantised) {
      out.set(new Uint8Array(quantised.buffer, quantised.byteOffset, quantised.byteLength), offset);
    } else if (e.dtype === 'float32') {
      if (LITTLE_ENDIAN) out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), offset);
      else for (let i = 0; i < data.length; i++) view.setFloat32(offset + 4 * i, data[i] as number, true);
    } else {
      for (let i = 0; i < data.length; i++) {
        const bits = float32ToFloat16Bits(data[i] as number);
        if ((bits & 0x7c00) === 0x7c00) {
          throw new TensorEncodingError('NON_FINITE_WEIGHTS', `tensor "${e.name}" value ${data[i]} at index ${i} is out of float16 range; encode as float32`);
        }
        view.setUint16(offset + 2 * i, bits, true);
      }
    }
    offset += align4(data.length * bytesPerValue(e.dtype));
  }
  const crc = crc32(out.subarray(0, offset));
  view.setUint32(offset, crc, true);
  return { bytes: out, checksum: hex(crc) };
}

/**
 * Index of the first NaN or +-Infinity, or -1: a float32 is not finite exactly when its eight exponent bits are all
 * set, tested on the bits (several times faster than widening every value to a double).
 */
function firstNonFinite(data: Float32Array): number {
  const bits = new Int32Array(data.buffer, data.byteOffset, data.length);
  for (let i = 0; i < bits.length; i++) if (((bits[i] as number) & 0x7f800000) === 0x7f800000) return i;
  return -1;
}

function checkShape(name: string, shape: readonly unknown[]): void {
  if (shape.length > MAX_RANK || !shape.every((d) => Number.isSafeInteger(d) && (d as number) >= 0)) {
    throw new TensorEncodingError('BAD_WEIGHTS', `tensor "${name}" has an invalid shape`);
  }
}

interface ParsedHeader {
  entries: HeaderEntry[];
  /** Version 2 files with int8 tensors: the round of their base model. */
  baseRound: number | null;
}

function parseHeader(json: string, version: number): ParsedHeader {
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch {
    throw new TensorEncodingError('BAD_WEIGHTS', 'header is not valid JSON');
  }
  if (typeof parsed !== 'object' || parsed === null || !Array.isArray((parsed as { tensors?: unknown }).tensors)) {
    throw new TensorEncodingError('BAD_WEIGHTS', 'header has no tensor list');
  }
  const list = (parsed as { tensors: unknown[] }).tensors;
  const baseRound = (parsed as { baseRound?: unknown }).baseRound;
  if (list.length > MAX_TENSORS) throw new TensorEncodingError('BAD_WEIGHTS', `header lists ${list.length} tensors (at most ${MAX_TENSORS})`);
  const seen = new Set<string>();
  const entries = list.map((raw, i) => {
    const e = raw as Partial<HeaderEntry> | null;
    if (
      typeof e !== 'object' ||
      e === null ||
      typeof e.name !== 'string' ||
      e.name.length === 0 ||
      e.name.length > MAX_NAME_LENGTH ||
      !Array.isArray(e.shape) ||
      (e.dtype !== 'float32' && e.dtype !== 'float16' && e.dtype !== 'int8')
    ) {
      throw new TensorEncodingError('BAD_WEIGHTS', `header entry ${i} is malformed`);
    }
    checkShape(e.name, e.shape);
    if (seen.has(e.name)) throw new TensorEncodingError('BAD_WEIGHTS', `tensor "${e.name}" appears twice`);
    seen.add(e.name);
    if (e.dtype !== 'int8') return { name: e.name, shape: e.shape, dtype: e.dtype };
    if (version < 2) throw new TensorEncodingError('BAD_WEIGHTS', `tensor "${e.name}" is int8, which needs format version 2 (the file says ${version})`);
    if (!validInt8Scale(e.scale)) throw new TensorEncodingError('BAD_WEIGHTS', `int8 tensor "${e.name}" has no valid scale (a finite float32 >= 0)`);
    return { name: e.name, shape: e.shape, dtype: e.dtype, scale: e.scale };
  });
  const int8 = entries.some((e) => e.dtype === 'int8');
  if (int8 && (typeof baseRound !== 'number' || !Number.isSafeInteger(baseRound) || baseRound < 0)) {
    throw new TensorEncodingError('BAD_WEIGHTS', 'an int8 file must name the round of its base model (baseRound, an integer >= 0)');
  }
  return { entries, baseRound: int8 ? (baseRound as number) : null };
}

/** Decodes and validates a tensor file. Throws {@link TensorEncodingError} with the reason. */
/**
 * Whether a file declares changes from a base model (format version 2: 8-bit tensors): decoding it needs
 * `options.base`. Read from the preamble only; the decoding checks the rest.
 */
export function declaresTensorBase(bytes: Uint8Array): boolean {
  return bytes.byteLength >= PREAMBLE_BYTES && new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint16(4, true) === TENSOR_FORMAT_VERSION;
}

export function decodeTensors(bytes: Uint8Array, options: DecodeTensorsOptions = {}): DecodedTensors {
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
  if (bytes.byteLength > maxBytes) {
    throw new TensorEncodingError('PAYLOAD_TOO_LARGE', `${bytes.byteLength} bytes, at most ${maxBytes} accepted`);
  }
  if (bytes.byteLength < PREAMBLE_BYTES + TRAILER_BYTES || MAGIC.some((m, i) => bytes[i] !== m)) {
    throw new TensorEncodingError('BAD_WEIGHTS', 'not a facmic tensor file (bad magic or too short)');
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = view.getUint16(4, true);
  if (!TENSOR_FORMAT_VERSIONS_READ.includes(version)) {
    throw new TensorEncodingError('BAD_WEIGHTS', `tensor format version ${version}, this build reads versions ${TENSOR_FORMAT_VERSIONS_READ.join(' and ')}`);
  }
  const headerLength = view.getUint32(8, true);
  if (headerLength > MAX_HEADER_BYTES || PREAMBLE_BYTES + headerLength + TRAILER_BYTES > bytes.byteLength) {
    throw new TensorEncodingError('BAD_WEIGHTS', 'header length out of bounds');
  }
  const trailerAt = bytes.byteLength - TRAILER_BYTES;
  const stored = view.getUint32(trailerAt, true);
  const actual = crc32(bytes.subarray(0, trailerAt));
  if (stored !== actual) throw new TensorEncodingError('BAD_WEIGHTS', 'checksum mismatch: the data is corrupted or truncated');

  let json: string;
  try {
    json = new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(PREAMBLE_BYTES, PREAMBLE_BYTES + headerLength));
  } catch {
    throw new TensorEncodingError('BAD_WEIGHTS', 'header is not UTF-8');
  }
  const { entries, baseRound } = parseHeader(json, version);

  let expectedLength = align4(PREAMBLE_BYTES + headerLength);
  for (const e of entries) {
    const count = elementCount(e.shape);
    if (!Number.isSafeInteger(count) || count * 4 > maxBytes) throw new TensorEncodingError('BAD_WEIGHTS', `tensor "${e.name}" is too large`);
    expectedLength += align4(count * bytesPerValue(e.dtype));
  }
  expectedLength += TRAILER_BYTES;
  if (expectedLength !== bytes.byteLength) {
    throw new TensorEncodingError('BAD_WEIGHTS', `length ${bytes.byteLength} does not match the header (${expectedLength})`);
  }

  if (options.expected) checkAgainstSpec(entries, options.expected);
  const base = baseRound === null ? null : baseOf(options.base, baseRound);

  // Keyed by the file's names: prototype-free, so that a tensor named `__proto__` is an entry like any other.
  const tensors = Object.create(null) as TensorSet;
  const dtypes = Object.create(null) as Record<string, TensorDtype>;
  let offset = align4(PREAMBLE_BYTES + headerLength);
  for (const e of entries) {
    const count = elementCount(e.shape);
    const data =
      e.dtype === 'float32' ? readFloat32(bytes, view, offset, count, options.copy ?? true)
      : e.dtype === 'float16' ? readFloat16(bytes, view, offset, count)
      : readInt8(bytes, offset, e.name, count, e.scale as number, base as TensorBase);
    const bad = firstNonFinite(data);
    if (bad >= 0) throw new TensorEncodingError('NON_FINITE_WEIGHTS', `tensor "${e.name}" holds ${data[bad]} at index ${bad}`);
    tensors[e.name] = { shape: e.shape, data };
    dtypes[e.name] = e.dtype;
    offset += align4(count * bytesPerValue(e.dtype));
  }
  return { tensors, dtypes, checksum: hex(stored), byteLength: bytes.byteLength };
}

/** `count` little-endian float32 values at `offset`: a view, or copied in one block, when the platform allows. */
function readFloat32(bytes: Uint8Array, view: DataView, offset: number, count: number, copy: boolean): Float32Array {
  if (!copy && LITTLE_ENDIAN && (bytes.byteOffset + offset) % 4 === 0) return new Float32Array(bytes.buffer, bytes.byteOffset + offset, count);
  const data = new Float32Array(count);
  if (LITTLE_ENDIAN) new Uint8Array(data.buffer).set(bytes.subarray(offset, offset + 4 * count));
  else for (let i = 0; i < count; i++) data[i] = view.getFloat32(offset + 4 * i, true);
  return data;
}

/** `count` little-endian float16 values at `offset`, widened through {@link FLOAT16_VALUES}. */
function readFloat16(bytes: Uint8Array, view: DataView, offset: number, count: number): Float32Array {
  const data = new Float32Array(count);
  const table = FLOAT16_VALUES;
  if (LITTLE_ENDIAN && (bytes.byteOffset + offset) % 2 === 0) {
    const halves = new Uint16Array(bytes.buffer, bytes.byteOffset + offset, count);
    for (let i = 0; i < count; i++) data[i] = table[halves[i] as number] as number;
  } else {
    for (let i = 0; i < count; i++) data[i] = table[view.getUint16(offset + 2 * i, true)] as number;
  }
  return data;
}

function checkAgainstSpec(entries: HeaderEntry[], spec: TensorSpec): void {
  const names = new Set(entries.map((e) => e.name));
  const missing = Object.keys(spec).filter((n) => !names.has(n));
  // Own properties only: a client's tensor name such as `__proto__` or `constructor` is not in the spec because
  // Object.prototype has it.
  const extra = entries.filter((e) => !Object.hasOwn(spec, e.name)).map((e) => e.name);
  if (missing.length > 0 || extra.length > 0) {
    const parts = [];
    if (missing.length > 0) parts.push(`missing ${missing.map((n) => `"${n}"`).join(', ')}`);
    if (extra.length > 0) parts.push(`unexpected ${extra.slice(0, 5).map((n) => `"${n}"`).join(', ')}`);
    throw new TensorEncodingError('WEIGHTS_SHAPE_MISMATCH', `tensor names differ from the module: ${parts.join('; ')}`);
  }
  for (const e of entries) {
    const want = spec[e.name] as readonly number[];
    if (want.length !== e.shape.length || want.some((d, i) => d !== e.shape[i])) {
      throw new TensorEncodingError('WEIGHTS_SHAPE_MISMATCH', `tensor "${e.name}" has shape [${e.shape.join(', ')}], expected [${want.join(', ')}]`);
    }
  }
}
