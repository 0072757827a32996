/**
 * 8-bit update encoding (without secure aggregation): each float tensor's delta d = local - base is sent as int8
 * q in [-127, 127] with one float scale per tensor, scale = max |d| / 127, and stochastic rounding
 * q = floor(d / scale + u), u ~ U[0, 1): E[q * scale] = d exactly (unbiased), |q * scale - d| < scale, variance
 * scale^2 f (1 - f) for the fractional part f. Only trained parameters are quantised: BatchNorm running statistics
 * and the counter (1,025 values at D = 512) stay exact float32, because a running-variance delta is as large as the
 * value itself in early rounds (8 bits would cost it ~3% relative error for 3 KB saved). About a quarter of the
 * float32 bytes; decoding needs the same base model (the round's global model).
 *
 * With secure aggregation this encoding is not used: the fixed-point vector (`fixed-point.ts`) replaces it, because
 * masked words are uniform over 32 bits and do not compress.
 */
import type { ModuleState, NamedTensor, StateEntrySpec } from '@facmic/learning/plain';
import { EncodingError } from '../errors.ts';
import { cryptoRandomSource, type RandomSource } from '../random.ts';

export interface Int8Tensor {
  readonly shape: readonly number[];
  /** Dequantised delta = q * scale (0: the tensor did not change). */
  readonly scale: number;
  readonly values: Int8Array;
}

export interface Int8Update {
  /** Float tensors as 8-bit deltas from the base state, by name. */
  readonly tensors: Readonly<Record<string, Int8Tensor>>;
  /** Running statistics and counters, exact. */
  readonly exact: Readonly<Record<string, NamedTensor>>;
}

const LEVELS = 127;

/**
 * Encodes local - base for every parameter of `spec` (`moduleSpec(kind, dim)`); other entries are copied exactly.
 * `source` draws the rounding (the platform's CSPRNG by default).
 */
export function encodeInt8Update(spec: readonly StateEntrySpec[], local: ModuleState, base: ModuleState, source: RandomSource = cryptoRandomSource()): Int8Update {
  const tensors: Record<string, Int8Tensor> = {};
  const exact: Record<string, NamedTensor> = {};
  for (const { name, kind } of spec) {
    const tensor = local[name];
    const reference = base[name];
    if (tensor === undefined || reference?.data.length !== tensor.data.length) throw new EncodingError('layout-mismatch', `state entry "${name}" is missing from the update or the base, or has another length`);
    if (kind !== 'parameter') {
      exact[name] = { shape: [...tensor.shape], data: tensor.data.slice() };
      continue;
    }
    const length = tensor.data.length;
    const delta = new Float64Array(length);
    let largest = 0;
    for (let i = 0; i < length; i++) {
      const value = (tensor.data[i] as number) - (reference.data[i] as number);
      if (!Number.isFinite(value)) throw new EncodingError('non-finite', `state entry "${name}" holds a non-finite value`);
      delta[i] = value;
      largest = Math.max(largest, Math.abs(value));
    }
    const scale = Math.fround(largest / LEVELS);
    const values = new Int8Array(length);
    if (scale > 0) {
      for (let i = 0; i < length; i++) {
        const scaled = (delta[i] as number) / scale;
        const u = source.nextUint32() / 4_294_967_296;
        values[i] = Math.max(-LEVELS, Math.min(LEVELS, Math.floor(scaled + u)));
      }
    }
    tensors[name] = { shape: [...tensor.shape], scale, values };
  }
  return { tensors, exact };
}

/** base + q * scale per float tensor (float32), counters as sent. */
export function decodeInt8Update(update: Int8Update, base: ModuleState): ModuleState {
  const state: ModuleState = {};
  for (const [name, tensor] of Object.entries(update.tensors)) {
    const reference = base[name];
    if (reference?.data.length !== tensor.values.length) throw new EncodingError('layout-mismatch', `state entry "${name}" is missing from the base or has another length`);
    const data = new Float32Array(tensor.values.length);
    for (let i = 0; i < data.length; i++) data[i] = (reference.data[i] as number) + (tensor.values[i] as number) * tensor.scale;
    state[name] = { shape: [...tensor.shape], data };
  }
  for (const [name, tensor] of Object.entries(update.exact)) state[name] = { shape: [...tensor.shape], data: tensor.data.slice() };
  return state;
}

/** Bytes of tensor data as the FMST file will carry it: 1 per parameter value + 4 per scale, 4 per exact value. */
export function int8UpdateBytes(update: Int8Update): number {
  let bytes = 0;
  for (const tensor of Object.values(update.tensors)) bytes += tensor.values.length + 4;
  for (const tensor of Object.values(update.exact)) bytes += tensor.data.length * 4;
  return bytes;
}
