/**
 * Fixed-point encoding of a site's update for secure aggregation: integers mod 2^32, one word per module value plus
 * one word for the site's weight (its sample count, or 1 under differential privacy). The coordinator unmasks only
 * the sum of these vectors, then divides.
 *
 * What is encoded is the weighted *delta* w * (local - global) of every state entry (BatchNorm running statistics and
 * `num_batches_tracked` included), not the state itself: both ends hold the round's global model, the mean of the
 * states is global + (sum w_i d_i) / (sum w_i) exactly, and a delta is orders of magnitude smaller than a weight, so
 * the same 32 bits buy far more precision (see `fixedPointScale`).
 *
 * Per entry e with declared bound B_e (deltas are clipped to [-B_e, B_e]), a site with weight w <= W puts
 * x = round(w * clip(d) * s_e) in the ring, s_e = (2^31 - n) / (n W B_e) for n sites. The sum over any subset of the
 * n sites then satisfies |sum x| <= n W B_e s_e + n/2 < 2^31, so it decodes without wrap-around as a signed 32-bit
 * integer. The error of the mean is at most (n_c / 2) / (s_e sum w) for n_c contributors (one rounding each):
 * <= n_c n W B_e / (2^32 sum w), i.e. about n B_e / 2^32 when the weights are alike.
 */
import type { ModuleState, StateEntryKind, StateEntrySpec } from '@facmic/learning/plain';
import { EncodingError } from './errors.ts';

export const RING_BITS = 32;
const HALF_RING = 2 ** 31;

export interface InputLayoutEntry {
  readonly name: string;
  readonly shape: readonly number[];
  readonly kind: StateEntryKind;
  /** First word of the entry in the input vector. */
  readonly offset: number;
  readonly length: number;
}

/** Where each state entry sits in the input vector; the weight word comes last. */
export interface InputLayout {
  readonly entries: readonly InputLayoutEntry[];
  /** Number of module values (the delta's length). */
  readonly valueCount: number;
  /** valueCount + 1 words: the vector that is masked and summed. */
  readonly length: number;
  /** Index of the weight word (valueCount). */
  readonly weightIndex: number;
}

/** The vector layout of a module (`moduleSpec(kind, dim)` from `@facmic/learning`), entries in spec order. */
export function inputLayout(spec: readonly StateEntrySpec[]): InputLayout {
  let offset = 0;
  const entries = spec.map((entry) => {
    const length = entry.shape.reduce((size, extent) => size * extent, 1);
    const placed = { name: entry.name, shape: [...entry.shape], kind: entry.kind, offset, length };
    offset += length;
    return placed;
  });
  return { entries, valueCount: offset, length: offset + 1, weightIndex: offset };
}

/** What every site and the coordinator agree on for one secure aggregation session (sent in the key roster). */
export interface FixedPointParameters {
  /** Largest weight a site may put in (its sample count is clipped to it; 1 under DP). */
  readonly maxWeight: number;
  /** Sites that may contribute (the roster's size): the sum of all of them must fit in the ring. */
  readonly siteCount: number;
  /** Declared range of each entry's delta, by entry name: values are clipped to [-bound, bound]. */
  readonly bounds: Readonly<Record<string, number>>;
}

export function validateFixedPointParameters(layout: InputLayout, parameters: FixedPointParameters): void {
  const { maxWeight, siteCount, bounds } = parameters;
  if (!Number.isSafeInteger(maxWeight) || maxWeight < 1) throw new EncodingError('invalid-parameters', `maxWeight must be a positive integer, got ${maxWeight}`);
  if (!Number.isSafeInteger(siteCount) || siteCount < 1) throw new EncodingError('invalid-parameters', `siteCount must be a positive integer, got ${siteCount}`);
  if (siteCount * maxWeight >= HALF_RING - siteCount) {
    throw new EncodingError('ring-overflow', `${siteCount} sites of weight up to ${maxWeight} overflow a ${RING_BITS}-bit ring: lower maxWeight`);
  }
  const names = new Set(layout.entries.map((entry) => entry.name));
  for (const name of Object.keys(bounds)) if (!names.has(name)) throw new EncodingError('layout-mismatch', `a bound is declared for "${name}", which the module does not have`);
  for (const entry of layout.entries) {
    const bound = bounds[entry.name];
    if (bound === undefined || !Number.isFinite(bound) || bound <= 0) throw new EncodingError('invalid-parameters', `entry "${entry.name}" needs a positive finite bound, got ${String(bound)}`);
  }
}

/** s_e = (2^31 - n) / (n W B_e): the largest scale with which no sum of n inputs wraps around. */
export function fixedPointScale(parameters: FixedPointParameters, bound: number): number {
  return (HALF_RING - parameters.siteCount) / (parameters.siteCount * parameters.maxWeight * bound);
}

/** The worst-case absolute error of a decoded mean for entry bound B (every contributor at full weight). */
export function fixedPointErrorBound(parameters: FixedPointParameters, bound: number, contributors: number, weightSum: number): number {
  return contributors / 2 / (fixedPointScale(parameters, bound) * weightSum);
}

/** d = local - global per value, in float64 (exact for float32 inputs), in layout order. */
export function stateDelta(layout: InputLayout, local: ModuleState, global: ModuleState): Float64Array {
  const delta = new Float64Array(layout.valueCount);
  for (const entry of layout.entries) {
    const a = local[entry.name]?.data;
    const b = global[entry.name]?.data;
    if (a?.length !== entry.length || b?.length !== entry.length) throw new EncodingError('layout-mismatch', `state entry "${entry.name}" is missing or has the wrong length`);
    for (let i = 0; i < entry.length; i++) {
      const value = (a[i] as number) - (b[i] as number);
      if (!Number.isFinite(value)) throw new EncodingError('non-finite', `state entry "${entry.name}" holds a non-finite value`);
      delta[entry.offset + i] = value;
    }
  }
  return delta;
}

export interface EncodedInput {
  /** The input vector x (layout.length words), to be masked. */
  readonly input: Uint32Array<ArrayBuffer>;
  /** How many values lay outside their declared bound and were clipped to it (0 when the bounds are right). */
  readonly clipped: number;
  /** The weight that was encoded (the sample count clipped to maxWeight). */
  readonly weight: number;
}

/** x = round(w * clip(d) * s_e) mod 2^32 per value, and w in the last word. */
export function encodeFixedPoint(layout: InputLayout, parameters: FixedPointParameters, delta: Float64Array, weight: number): EncodedInput {
  validateFixedPointParameters(layout, parameters);
  if (delta.length !== layout.valueCount) throw new EncodingError('layout-mismatch', `the delta has ${delta.length} values, the layout ${layout.valueCount}`);
  if (!Number.isSafeInteger(weight) || weight < 1) throw new EncodingError('invalid-weight', `the weight must be a positive integer, got ${weight}`);
  const w = Math.min(weight, parameters.maxWeight);
  const input = new Uint32Array(layout.length);
  let clipped = 0;
  for (const entry of layout.entries) {
    const bound = parameters.bounds[entry.name] as number;
    const factor = w * fixedPointScale(parameters, bound);
    for (let i = entry.offset; i < entry.offset + entry.length; i++) {
      let value = delta[i] as number;
      if (!Number.isFinite(value)) throw new EncodingError('non-finite', `state entry "${entry.name}" holds a non-finite value`);
      if (value > bound) {
        value = bound;
        clipped++;
      } else if (value < -bound) {
        value = -bound;
        clipped++;
      }
      input[i] = Math.round(value * factor); // negative values wrap to two's complement
    }
  }
  input[layout.weightIndex] = w;
  return { input, clipped, weight: w };
}

export interface DecodedSum {
  /** sum of the contributors' weights. */
  readonly weightSum: number;
  /** (sum w_i clip(d_i)) / (sum w_i), in layout order. */
  readonly meanDelta: Float64Array;
}

/**
 * Decodes the unmasked sum of `contributors` inputs. The weight word must lie in [contributors, contributors * W]:
 * anything else means a wrong unmasking (a random word passes with probability about n W / 2^32) and is refused
 * rather than published.
 */
export function decodeFixedPointSum(layout: InputLayout, parameters: FixedPointParameters, sum: Uint32Array, contributors: number): DecodedSum {
  validateFixedPointParameters(layout, parameters);
  if (sum.length !== layout.length) throw new EncodingError('layout-mismatch', `the sum has ${sum.length} words, the layout ${layout.length}`);
  const weightSum = sum[layout.weightIndex] as number;
  if (!Number.isSafeInteger(contributors) || contributors < 1 || contributors > parameters.siteCount) {
    throw new EncodingError('invalid-sum', `contributors must be between 1 and ${parameters.siteCount}, got ${contributors}`);
  }
  if (weightSum < contributors || weightSum > contributors * parameters.maxWeight) {
    throw new EncodingError('invalid-sum', `the summed weight ${weightSum} is impossible for ${contributors} contributors: the unmasking went wrong`);
  }
  const meanDelta = new Float64Array(layout.valueCount);
  for (const entry of layout.entries) {
    const divisor = fixedPointScale(parameters, parameters.bounds[entry.name] as number) * weightSum;
    for (let i = entry.offset; i < entry.offset + entry.length; i++) meanDelta[i] = ((sum[i] as number) | 0) / divisor;
  }
  return { weightSum, meanDelta };
}

/** global + meanDelta as float32 (counters rounded to integers): the aggregated module state. */
export function applyMeanDelta(layout: InputLayout, global: ModuleState, meanDelta: Float64Array): ModuleState {
  if (meanDelta.length !== layout.valueCount) throw new EncodingError('layout-mismatch', `the delta has ${meanDelta.length} values, the layout ${layout.valueCount}`);
  const state: ModuleState = {};
  for (const entry of layout.entries) {
    const base = global[entry.name]?.data;
    if (base?.length !== entry.length) throw new EncodingError('layout-mismatch', `state entry "${entry.name}" is missing or has the wrong length`);
    const data = new Float32Array(entry.length);
    for (let i = 0; i < entry.length; i++) {
      const value = (base[i] as number) + (meanDelta[entry.offset + i] as number);
      data[i] = entry.kind === 'counter' ? Math.round(value) : value;
    }
    state[entry.name] = { shape: [...entry.shape], data };
  }
  return state;
}

/**
 * The largest per-step update |lr * m_hat / (sqrt(v_hat) + eps)| / lr that Adam (torch semantics, bias-corrected, L2
 * decay inside the gradient) can make, for any gradients: by Cauchy-Schwarz,
 * |m_t| <= (1 - b1) sqrt(sum_j (b1^2 / b2)^j) sqrt(v_t / (1 - b2)), so
 * |m_hat_t| / sqrt(v_hat_t) <= (1 - b1) sqrt(S_t (1 - b2^t)) / ((1 - b1^t) sqrt(1 - b2)), S_t = sum_{j<t} (b1^2/b2)^j.
 * The supremum over t is returned (1.70 for the paper's betas 0.9, 0.98); equality needs g_k proportional to
 * (b1 / b2)^(t-k), so the bound is tight.
 */
export function adamStepBound(betas: readonly [number, number], maxSteps = 100_000): number {
  const [beta1, beta2] = betas;
  if (!(beta1 >= 0 && beta1 < 1 && beta2 > 0 && beta2 < 1)) throw new EncodingError('invalid-parameters', `Adam betas must lie in [0, 1) x (0, 1), got ${beta1}, ${beta2}`);
  const ratio = (beta1 * beta1) / beta2;
  let series = 0;
  let ratioPower = 1;
  let beta1Power = 1;
  let beta2Power = 1;
  let best = 0;
  for (let t = 1; t <= maxSteps; t++) {
    series += ratioPower;
    ratioPower *= ratio;
    beta1Power *= beta1;
    beta2Power *= beta2;
    const bound = ((1 - beta1) * Math.sqrt(series * (1 - beta2Power))) / ((1 - beta1Power) * Math.sqrt(1 - beta2));
    best = Math.max(best, bound);
    if (ratio < 1 && ratioPower < 1e-17 && beta1Power < 1e-17 && beta2Power < 1e-17) break;
  }
  return best;
}

export interface DeltaBoundOptions {
  /** Adam's learning rate and betas, and the most optimizer steps a site runs in one round. */
  readonly learningRate: number;
  readonly betas: readonly [number, number];
  readonly stepsPerRound: number;
  /**
   * Range of a BatchNorm running-statistics delta in one round. Running mean and variance follow the data, so no
   * optimizer bound applies: 8 covers features of CLIP's scale with a wide margin (values beyond it are clipped and
   * counted in `EncodedInput.clipped`).
   */
  readonly bufferBound?: number;
}

export const DEFAULT_BUFFER_BOUND = 8;

/**
 * Declared delta bounds for FedAvg without DP: parameters move at most stepsPerRound * lr * adamStepBound(betas) in a
 * round (never clipped); running statistics get `bufferBound`; a counter grows by at most stepsPerRound.
 */
export function deltaBounds(spec: readonly StateEntrySpec[], options: DeltaBoundOptions): Record<string, number> {
  const { learningRate, stepsPerRound } = options;
  if (!(learningRate > 0) || !Number.isFinite(learningRate)) throw new EncodingError('invalid-parameters', `learningRate must be positive, got ${learningRate}`);
  if (!Number.isSafeInteger(stepsPerRound) || stepsPerRound < 1) throw new EncodingError('invalid-parameters', `stepsPerRound must be a positive integer, got ${stepsPerRound}`);
  const parameterBound = stepsPerRound * learningRate * adamStepBound(options.betas);
  const bufferBound = options.bufferBound ?? DEFAULT_BUFFER_BOUND;
  const bounds: Record<string, number> = {};
  for (const entry of spec) bounds[entry.name] = entry.kind === 'parameter' ? parameterBound : entry.kind === 'buffer' ? bufferBound : stepsPerRound;
  return bounds;
}

/**
 * The figure simulate and the tests report: for each entry max_i |a_i - b_i| / max_i |b_i| (absolute error where the
 * expected entry is all zeros), and the largest over entries.
 */
export function maxRelativeError(actual: ModuleState, expected: ModuleState): number {
  let worst = 0;
  for (const [name, tensor] of Object.entries(expected)) {
    const other = actual[name]?.data;
    if (other?.length !== tensor.data.length) throw new EncodingError('layout-mismatch', `state entry "${name}" is missing or has the wrong length`);
    let scale = 0;
    let error = 0;
    for (let i = 0; i < tensor.data.length; i++) {
      scale = Math.max(scale, Math.abs(tensor.data[i] as number));
      error = Math.max(error, Math.abs((other[i] as number) - (tensor.data[i] as number)));
    }
    worst = Math.max(worst, scale > 0 ? error / scale : error);
  }
  return worst;
}
