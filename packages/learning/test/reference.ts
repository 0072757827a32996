/**
 * An independent plain-JavaScript float64 implementation of FACMIC's forward maths, written directly from the torch
 * definitions (no tfjs, no code shared with src/ beyond the module layout). Tests compare the tfjs implementation with
 * it, and differentiate it numerically (central differences) to check the explicit backward passes.
 */
import type { ModuleKind, ModuleState } from '../src/module-spec.ts';

export type F64State = Record<string, Float64Array>;

export const EPS = 1e-5;
export const SLOPE = 0.01;

export function toF64State(state: ModuleState): F64State {
  return Object.fromEntries(Object.entries(state).map(([name, tensor]) => [name, Float64Array.from(tensor.data)]));
}

function get(state: F64State, name: string): Float64Array {
  const value = state[name];
  if (value === undefined) throw new Error(`reference: no ${name}`);
  return value;
}

/** y = x W^T + b for x [rows, inDim], W [out, in]. */
export function linear(x: Float64Array, rows: number, weight: Float64Array, bias: Float64Array): Float64Array {
  const out = bias.length;
  const inDim = weight.length / out;
  const y = new Float64Array(rows * out);
  for (let i = 0; i < rows; i++) {
    for (let o = 0; o < out; o++) {
      let sum = bias[o] as number;
      for (let k = 0; k < inDim; k++) sum += (x[i * inDim + k] as number) * (weight[o * inDim + k] as number);
      y[i * out + o] = sum;
    }
  }
  return y;
}

export function softmaxRows(z: Float64Array, rows: number): Float64Array {
  const cols = z.length / rows;
  const out = new Float64Array(z.length);
  for (let i = 0; i < rows; i++) {
    let max = Number.NEGATIVE_INFINITY;
    for (let j = 0; j < cols; j++) max = Math.max(max, z[i * cols + j] as number);
    let sum = 0;
    for (let j = 0; j < cols; j++) {
      const e = Math.exp((z[i * cols + j] as number) - max);
      out[i * cols + j] = e;
      sum += e;
    }
    for (let j = 0; j < cols; j++) out[i * cols + j] = (out[i * cols + j] as number) / sum;
  }
  return out;
}

export interface ReferenceForward {
  weights: Float64Array;
  /** Train mode (facmic): batch mean and biased variance of the first Linear's output. */
  mean: Float64Array | null;
  variance: Float64Array | null;
}

export function attention(kind: ModuleKind, dim: number, state: F64State, x: Float64Array, rows: number, mode: 'train' | 'eval'): ReferenceForward {
  const h1 = linear(x, rows, get(state, '0.weight'), get(state, '0.bias'));
  if (kind === 'fedclip') {
    const h2 = h1.map(Math.tanh);
    return { weights: softmaxRows(linear(h2, rows, get(state, '2.weight'), get(state, '2.bias')), rows), mean: null, variance: null };
  }
  let mean: Float64Array;
  let variance: Float64Array;
  if (mode === 'train') {
    mean = new Float64Array(dim);
    variance = new Float64Array(dim);
    for (let j = 0; j < dim; j++) {
      let sum = 0;
      for (let i = 0; i < rows; i++) sum += h1[i * dim + j] as number;
      const m = sum / rows;
      let squares = 0;
      for (let i = 0; i < rows; i++) squares += ((h1[i * dim + j] as number) - m) ** 2;
      mean[j] = m;
      variance[j] = squares / rows;
    }
  } else {
    mean = get(state, '1.running_mean');
    variance = get(state, '1.running_var');
  }
  const gamma = get(state, '1.weight');
  const beta = get(state, '1.bias');
  const h3 = new Float64Array(rows * dim);
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < dim; j++) {
      const normalised = ((h1[i * dim + j] as number) - (mean[j] as number)) / Math.sqrt((variance[j] as number) + EPS);
      const pre = normalised * (gamma[j] as number) + (beta[j] as number);
      h3[i * dim + j] = pre > 0 ? pre : SLOPE * pre;
    }
  }
  const weights = softmaxRows(linear(h3, rows, get(state, '3.weight'), get(state, '3.bias')), rows);
  return mode === 'train' ? { weights, mean, variance } : { weights, mean: null, variance: null };
}

export function normalizeRows(x: Float64Array, rows: number): Float64Array {
  const dim = x.length / rows;
  const out = new Float64Array(x.length);
  for (let i = 0; i < rows; i++) {
    let sum = 0;
    for (let j = 0; j < dim; j++) sum += (x[i * dim + j] as number) ** 2;
    const norm = Math.sqrt(sum);
    for (let j = 0; j < dim; j++) out[i * dim + j] = (x[i * dim + j] as number) / norm;
  }
  return out;
}

export function multiply(a: Float64Array, b: Float64Array): Float64Array {
  return a.map((value, i) => value * (b[i] as number));
}

/** a [ra, d] times b [rb, d] transposed. */
export function matMulT(a: Float64Array, ra: number, b: Float64Array, rb: number): Float64Array {
  const d = a.length / ra;
  const out = new Float64Array(ra * rb);
  for (let i = 0; i < ra; i++) {
    for (let j = 0; j < rb; j++) {
      let sum = 0;
      for (let k = 0; k < d; k++) sum += (a[i * d + k] as number) * (b[j * d + k] as number);
      out[i * rb + j] = sum;
    }
  }
  return out;
}

function crossEntropyDiagonal(logits: Float64Array, n: number, transpose: boolean): number {
  let total = 0;
  for (let i = 0; i < n; i++) {
    let max = Number.NEGATIVE_INFINITY;
    const at = (j: number): number => (transpose ? logits[j * n + i] : logits[i * n + j]) as number;
    for (let j = 0; j < n; j++) max = Math.max(max, at(j));
    let sum = 0;
    for (let j = 0; j < n; j++) sum += Math.exp(at(j) - max);
    total += -(at(i) - max - Math.log(sum));
  }
  return total / n;
}

/** CLIP loss for normalised image [n, d] and the normalised prompt of each image [n, d]. */
export function contrastive(image: Float64Array, text: Float64Array, n: number, scale: number): number {
  const logits = matMulT(image, n, text, n).map((value) => value * scale);
  return (crossEntropyDiagonal(logits, n, false) + crossEntropyDiagonal(logits, n, true)) / 2;
}

export interface ReferenceLmmd {
  loss: number;
  bandwidth: number;
}

/** DSAN's LMMD_loss.get_loss (kernel_mul 2, kernel_num 5), optionally with a frozen bandwidth. */
export function lmmd(
  source: Float64Array,
  ns: number,
  target: Float64Array,
  nt: number,
  labels: ArrayLike<number>,
  probs: ArrayLike<number>,
  numClasses: number,
  frozenBandwidth?: number,
): ReferenceLmmd {
  const dim = source.length / ns;
  const n = ns + nt;
  const total = new Float64Array(n * dim);
  total.set(source, 0);
  total.set(target, ns * dim);
  const distances = new Float64Array(n * n);
  let sum = 0;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      let d = 0;
      for (let k = 0; k < dim; k++) d += ((total[i * dim + k] as number) - (total[j * dim + k] as number)) ** 2;
      distances[i * n + j] = d;
      sum += d;
    }
  }
  const bandwidth = frozenBandwidth ?? sum / (n * n - n) / 2 ** 2;
  const kernel = (i: number, j: number): number => {
    let k = 0;
    for (let q = 0; q < 5; q++) k += Math.exp(-(distances[i * n + j] as number) / (bandwidth * 2 ** q));
    return k;
  };
  // cal_weight
  const s = new Float64Array(ns * numClasses);
  for (let i = 0; i < ns; i++) s[i * numClasses + (labels[i] as number)] = 1;
  const t = Float64Array.from(probs);
  const tArgmax = new Set<number>();
  for (let i = 0; i < nt; i++) {
    let best = 0;
    for (let c = 1; c < numClasses; c++) if ((t[i * numClasses + c] as number) > (t[i * numClasses + best] as number)) best = c;
    tArgmax.add(best);
  }
  const common = [...new Set(Array.from(labels))].filter((c) => tArgmax.has(c));
  if (common.length === 0) return { loss: 0, bandwidth };
  const normaliseColumns = (m: Float64Array, rows: number): void => {
    for (let c = 0; c < numClasses; c++) {
      let columnSum = 0;
      for (let i = 0; i < rows; i++) columnSum += m[i * numClasses + c] as number;
      if (columnSum === 0) columnSum = 100;
      for (let i = 0; i < rows; i++) m[i * numClasses + c] = common.includes(c) ? (m[i * numClasses + c] as number) / columnSum : 0;
    }
  };
  normaliseColumns(s, ns);
  normaliseColumns(t, nt);
  const dot = (a: Float64Array, i: number, b: Float64Array, j: number): number => {
    let value = 0;
    for (let c = 0; c < numClasses; c++) value += (a[i * numClasses + c] as number) * (b[j * numClasses + c] as number);
    return value / common.length;
  };
  let loss = 0;
  for (let i = 0; i < ns; i++) for (let j = 0; j < ns; j++) loss += dot(s, i, s, j) * kernel(i, j);
  for (let i = 0; i < nt; i++) for (let j = 0; j < nt; j++) loss += dot(t, i, t, j) * kernel(ns + i, ns + j);
  for (let i = 0; i < ns; i++) for (let j = 0; j < nt; j++) loss -= 2 * dot(s, i, t, j) * kernel(i, ns + j);
  return { loss, bandwidth };
}

export interface StepInputs {
  source: Float64Array;
  labels: ArrayLike<number>;
  target: Float64Array | null;
  text: Float64Array;
  numClasses: number;
  scale: number;
}

export interface StepLossResult {
  contrastive: number;
  lmmd: number;
  total: number;
  attentionSource: Float64Array;
  pseudoProbs: Float64Array | null;
  bandwidth: number | null;
  sourceStats: { mean: Float64Array; variance: Float64Array } | null;
  targetStats: { mean: Float64Array; variance: Float64Array } | null;
}

/**
 * The loss of one local step at `state`. `frozen` holds what torch treats as constants (pseudo-label probabilities,
 * the kernel bandwidth); finite differences pass the values of the unperturbed point.
 */
export function stepLoss(kind: ModuleKind, dim: number, state: F64State, inputs: StepInputs, frozen?: { pseudoProbs: Float64Array | null; bandwidth: number | null }): StepLossResult {
  const rows = inputs.labels.length;
  const textN = normalizeRows(inputs.text, inputs.numClasses);
  const source = attention(kind, dim, state, inputs.source, rows, 'train');
  const image = normalizeRows(multiply(source.weights, inputs.source), rows);
  const promptRows = new Float64Array(rows * dim);
  for (let i = 0; i < rows; i++) promptRows.set(textN.subarray((inputs.labels[i] as number) * dim, ((inputs.labels[i] as number) + 1) * dim), i * dim);
  const c = contrastive(image, promptRows, rows, inputs.scale);
  let l = 0;
  let pseudoProbs: Float64Array | null = null;
  let bandwidth: number | null = null;
  let targetStats: StepLossResult['targetStats'] = null;
  if (inputs.target !== null) {
    const nt = inputs.target.length / dim;
    const target = attention(kind, dim, state, inputs.target, nt, 'train');
    if (target.mean !== null && target.variance !== null) targetStats = { mean: target.mean, variance: target.variance };
    pseudoProbs = frozen?.pseudoProbs ?? softmaxRows(matMulT(normalizeRows(multiply(target.weights, inputs.target), nt), nt, textN, inputs.numClasses).map((v) => v * inputs.scale), nt);
    const result = lmmd(image, rows, normalizeRows(inputs.target, nt), nt, inputs.labels, pseudoProbs, inputs.numClasses, frozen?.bandwidth ?? undefined);
    l = result.loss;
    bandwidth = result.bandwidth;
  }
  return {
    contrastive: c,
    lmmd: l,
    total: c + l,
    attentionSource: source.weights,
    pseudoProbs,
    bandwidth,
    sourceStats: source.mean !== null && source.variance !== null ? { mean: source.mean, variance: source.variance } : null,
    targetStats,
  };
}

/** Central-difference gradient of `objective` with respect to every entry of `values` (changed and restored in place). */
export function numericGradient(values: Float64Array, objective: () => number, h = 1e-6): Float64Array {
  return values.map((original, i) => {
    values[i] = original + h;
    const plus = objective();
    values[i] = original - h;
    const minus = objective();
    values[i] = original;
    return (plus - minus) / (2 * h);
  });
}

/** Central-difference gradient of the step loss with respect to every parameter entry named in `parameters`. */
export function numericGradients(kind: ModuleKind, dim: number, state: F64State, inputs: StepInputs, parameters: readonly string[], h = 1e-5): F64State {
  const base = stepLoss(kind, dim, state, inputs);
  const frozen = { pseudoProbs: base.pseudoProbs, bandwidth: base.bandwidth };
  const grads: F64State = {};
  for (const name of parameters) grads[name] = numericGradient(get(state, name), () => stepLoss(kind, dim, state, inputs, frozen).total, h);
  return grads;
}

/** torch Adam with L2 weight decay, float64, in place; `moments` persists between calls. */
export function adamStep(
  state: F64State,
  grads: F64State,
  moments: { step: number; m: F64State; v: F64State },
  options: { lr: number; beta1: number; beta2: number; eps: number; weightDecay: number },
): void {
  moments.step += 1;
  const bc1 = 1 - options.beta1 ** moments.step;
  const bc2 = 1 - options.beta2 ** moments.step;
  for (const [name, grad] of Object.entries(grads)) {
    const p = get(state, name);
    const m = (moments.m[name] ??= new Float64Array(p.length));
    const v = (moments.v[name] ??= new Float64Array(p.length));
    for (let i = 0; i < p.length; i++) {
      const g = (grad[i] as number) + options.weightDecay * (p[i] as number);
      m[i] = options.beta1 * (m[i] as number) + (1 - options.beta1) * g;
      v[i] = options.beta2 * (v[i] as number) + (1 - options.beta2) * g * g;
      p[i] = (p[i] as number) - (options.lr / bc1) * (m[i] as number) / (Math.sqrt(v[i] as number) / Math.sqrt(bc2) + options.eps);
    }
  }
}

/** torch's BatchNorm1d running-statistics update for one train-mode forward of `rows` rows. */
export function trackBatch(state: F64State, stats: { mean: Float64Array; variance: Float64Array }, rows: number): void {
  const runningMean = get(state, '1.running_mean');
  const runningVar = get(state, '1.running_var');
  for (let j = 0; j < runningMean.length; j++) {
    runningMean[j] = 0.9 * (runningMean[j] as number) + 0.1 * (stats.mean[j] as number);
    runningVar[j] = 0.9 * (runningVar[j] as number) + 0.1 * (stats.variance[j] as number) * rows / (rows - 1);
  }
  const counter = get(state, '1.num_batches_tracked');
  counter[0] = (counter[0] as number) + 1;
}
