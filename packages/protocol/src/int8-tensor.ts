/**
 * The `int8` dtype of the tensor file (format version 2): a tensor sent as its delta from a base model (the round's
 * global model), d = value - base, in one byte per value with one float scale per tensor:
 *
 *   scale = fround(max |d| / 127),  q = clamp(floor(d / scale + u), -127, 127),  u ~ U[0, 1)
 *
 * Stochastic rounding makes the decoded delta unbiased, E[q scale] = d, with |q scale - d| < scale (so at most
 * max |d| / 127 per value), and decoding is value = fround(base + q scale). The byte -128 is never written and is
 * refused on reading, so the code range is symmetric. A tensor that did not change has scale 0 and all codes 0.
 */
import { TensorEncodingError, type TensorBase } from './tensor-types.ts';

/** Largest code magnitude: codes are -127..127. */
export const INT8_LEVELS = 127;

/** A value in [0, 1) per call: the rounding's randomness (seeded for reproducible sites, Math.random by default). */
export type UniformSource = () => number;

export interface QuantisedTensor {
  scale: number;
  codes: Int8Array;
}

/** Whether an 8-bit header entry's scale can be decoded: a finite float32 value >= 0. */
export function validInt8Scale(scale: unknown): scale is number {
  return typeof scale === 'number' && Number.isFinite(scale) && scale >= 0 && Math.fround(scale) === scale && scale <= 3.4e38 / INT8_LEVELS;
}

/**
 * Quantises `value - base` (same length, finite: the caller checked) to codes and a scale. Returns null when a delta
 * is not finite (a value of a float32 tensor minus another can overflow).
 */
export function quantiseDelta(value: Float32Array, base: Float32Array, random: UniformSource): QuantisedTensor | null {
  const length = value.length;
  let largest = 0;
  for (let i = 0; i < length; i++) {
    const d = Math.abs((value[i] as number) - (base[i] as number));
    if (d > largest) largest = d;
  }
  const scale = Math.fround(largest / INT8_LEVELS);
  if (!validInt8Scale(scale)) return null;
  const codes = new Int8Array(length);
  if (scale === 0) return { scale, codes };
  for (let i = 0; i < length; i++) {
    const scaled = ((value[i] as number) - (base[i] as number)) / scale;
    const q = Math.floor(scaled + random());
    codes[i] = q > INT8_LEVELS ? INT8_LEVELS : q < -INT8_LEVELS ? -INT8_LEVELS : q;
  }
  return { scale, codes };
}

/**
 * base + q scale as float32, from `length` codes at `offset` of `bytes`. Returns the index of the first -128 code
 * instead when there is one (refused: not a code this format writes).
 */
export function dequantiseDelta(bytes: Uint8Array, offset: number, length: number, scale: number, base: Float32Array): Float32Array | number {
  const codes = new Int8Array(bytes.buffer, bytes.byteOffset + offset, length);
  const data = new Float32Array(length);
  for (let i = 0; i < length; i++) {
    const q = codes[i] as number;
    if (q === -128) return i;
    data[i] = (base[i] as number) + q * scale;
  }
  return data;
}

/** The int8 codes of `name`'s delta from the base (`data` was checked finite). */
export function quantiseAgainstBase(name: string, data: Float32Array, base: TensorBase | undefined, random: UniformSource | undefined): QuantisedTensor {
  if (!base || !Number.isSafeInteger(base.round) || base.round < 0) throw new TensorEncodingError('BAD_WEIGHTS', 'int8 tensors need the base model (and its round) they are deltas from');
  const reference = base.tensors[name];
  if (reference?.data.length !== data.length) throw new TensorEncodingError('WEIGHTS_SHAPE_MISMATCH', `tensor "${name}" is not in the base model with ${data.length} values`);
  const quantised = quantiseDelta(data, reference.data, random ?? Math.random);
  if (!quantised) throw new TensorEncodingError('NON_FINITE_WEIGHTS', `tensor "${name}": its delta from the base model is out of float32 range`);
  return quantised;
}

/** The base model an int8 file needs, checked against the round its header names. */
export function baseOf(given: TensorBase | (() => TensorBase) | undefined, baseRound: number): TensorBase {
  const base = typeof given === 'function' ? given() : given;
  if (!base) throw new TensorEncodingError('BAD_WEIGHTS', `int8 tensors are deltas from the global model of round ${baseRound}, which this reader was not given`);
  if (base.round !== baseRound) {
    throw new TensorEncodingError('BAD_WEIGHTS', `int8 tensors are deltas from the global model of round ${baseRound}; they are read against round ${base.round}'s`);
  }
  return base;
}

/** An int8 entry's values: the base's plus the dequantised delta. */
export function readInt8(bytes: Uint8Array, offset: number, name: string, count: number, scale: number, base: TensorBase): Float32Array {
  const reference = base.tensors[name];
  if (reference?.data.length !== count) throw new TensorEncodingError('WEIGHTS_SHAPE_MISMATCH', `int8 tensor "${name}" has no base tensor of ${count} values`);
  const data = dequantiseDelta(bytes, offset, count, scale, reference.data);
  if (typeof data === 'number') throw new TensorEncodingError('BAD_WEIGHTS', `int8 tensor "${name}" holds the code -128 at index ${data} (codes are -127..127)`);
  return data;
}
