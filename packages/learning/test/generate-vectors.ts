/**
 * Generates parity vectors in the `../shared/parity` format from the independent float64 reference (test/reference.ts)
 * instead of torch: any module kind, D, B, C, number of steps and seed. Gradients are central differences of the
 * reference loss (pseudo labels and kernel bandwidth frozen, as torch treats them), so replaying these vectors checks
 * the tfjs forward passes, the explicit backward passes and Adam against an implementation that shares no code with
 * them. It cannot check agreement with torch itself: only the torch fixture does that.
 */
import type { ModuleKind } from '../src/module-spec.ts';
import { initialModuleState, moduleSpec } from '../src/module-spec.ts';
import { SeededRandom } from '../src/prng.ts';
import type { F64State } from './reference.ts';
import { adamStep, attention, matMulT, multiply, normalizeRows, numericGradients, softmaxRows, stepLoss, toF64State, trackBatch } from './reference.ts';

export interface VectorOptions {
  readonly kind: ModuleKind;
  readonly dim: number;
  readonly batch: number;
  /** Rows of each reference (target) batch; 0 for no LMMD. */
  readonly targetBatch: number;
  readonly numClasses: number;
  readonly steps: number;
  readonly evalRows: number;
  readonly clients: number;
  readonly seed: number;
}

const ADAM = { lr: 5e-5, beta1: 0.9, beta2: 0.98, eps: 1e-6, weightDecay: 0.02 };
const SCALE = 100;

function flat(state: F64State, kind: ModuleKind, dim: number): Record<string, number[] | number> {
  const out: Record<string, number[] | number> = {};
  for (const entry of moduleSpec(kind, dim)) {
    const values = Array.from(state[entry.name] ?? []);
    out[entry.name] = entry.kind === 'counter' ? (values[0] ?? 0) : values;
  }
  return out;
}

export function generateReferenceVectors(options: VectorOptions): Record<string, unknown> {
  const { kind, dim, batch, targetBatch, numClasses, seed } = options;
  const random = new SeededRandom(seed);
  // Inputs are rounded to float32 so both implementations see exactly the same numbers.
  const normal = (count: number): Float64Array => Float64Array.from({ length: count }, () => Math.fround(random.normal()));
  const state = toF64State(initialModuleState(kind, dim, seed));
  if (kind === 'facmic') {
    state['1.running_mean'] = normal(dim).map((v) => Math.fround(0.1 * v));
    state['1.running_var'] = Float64Array.from({ length: dim }, () => Math.fround(random.uniform(0.5, 1.5)));
    state['1.weight'] = Float64Array.from({ length: dim }, () => Math.fround(random.uniform(0.5, 1.5)));
    state['1.bias'] = normal(dim).map((v) => Math.fround(0.1 * v));
  }
  const text = normal(numClasses * dim);
  const initial = flat(state, kind, dim);
  const parameters = moduleSpec(kind, dim).filter((entry) => entry.kind === 'parameter').map((entry) => entry.name);
  const moments = { step: 0, m: {} as F64State, v: {} as F64State };
  const steps: Record<string, unknown>[] = [];
  for (let s = 0; s < options.steps; s++) {
    const source = normal(batch * dim);
    const labels = Array.from({ length: batch }, () => random.nextInt(numClasses));
    const target = targetBatch > 0 ? normal(targetBatch * dim) : null;
    const inputs = { source, labels, target, text, numClasses, scale: SCALE };
    const result = stepLoss(kind, dim, state, inputs);
    const grads = numericGradients(kind, dim, state, inputs, parameters);
    if (result.sourceStats !== null) trackBatch(state, result.sourceStats, batch);
    if (result.targetStats !== null) trackBatch(state, result.targetStats, targetBatch);
    adamStep(state, grads, moments, ADAM);
    steps.push({
      source: Array.from(source),
      labels,
      ...(target === null ? {} : { target: Array.from(target), pseudo_label_probs: Array.from(result.pseudoProbs ?? []), lmmd_loss: result.lmmd }),
      attention_source: Array.from(result.attentionSource),
      contrastive_loss: result.contrastive,
      loss: result.total,
      grads: Object.fromEntries(Object.entries(grads).map(([name, values]) => [name, Array.from(values)])),
      state_after: flat(state, kind, dim),
    });
  }
  const evalFeatures = normal(options.evalRows * dim);
  const evalWeights = attention(kind, dim, state, evalFeatures, options.evalRows, 'eval').weights;
  const cosine = matMulT(normalizeRows(multiply(evalWeights, evalFeatures), options.evalRows), options.evalRows, normalizeRows(text, numClasses), numClasses);
  const probs = softmaxRows(cosine.map((v) => v * SCALE), options.evalRows);
  const predictions = Array.from({ length: options.evalRows }, (_, i) => {
    let best = 0;
    for (let c = 1; c < numClasses; c++) if ((cosine[i * numClasses + c] as number) > (cosine[i * numClasses + best] as number)) best = c;
    return best;
  });
  const clients = Array.from({ length: options.clients }, () => {
    const client: F64State = {};
    for (const [name, values] of Object.entries(state)) {
      client[name] = name.endsWith('num_batches_tracked') ? Float64Array.of(random.nextInt(10)) : values.map((v) => Math.fround(v + 0.05 * random.normal()));
    }
    return client;
  });
  const weights = clients.map(() => random.uniform(0.1, 1));
  const weightSum = weights.reduce((a, b) => a + b, 0);
  const expected: Record<string, number[]> = {};
  for (const name of Object.keys(state)) {
    if (name.endsWith('num_batches_tracked')) continue;
    const sum = new Float64Array(state[name]?.length ?? 0);
    clients.forEach((client, k) => {
      const values = client[name] ?? new Float64Array(0);
      for (let i = 0; i < sum.length; i++) sum[i] = (sum[i] as number) + ((weights[k] as number) / weightSum) * (values[i] as number);
    });
    expected[name] = Array.from(sum);
  }
  return {
    about: `generated by packages/learning/test/generate-vectors.ts from the float64 reference, seed ${seed}`,
    conventions: {
      optimizer: `Adam lr ${ADAM.lr} betas (${ADAM.beta1}, ${ADAM.beta2}) eps ${ADAM.eps} weight_decay ${ADAM.weightDecay}`,
      logit_scale: SCALE,
    },
    D: dim,
    B: batch,
    C: numClasses,
    text_features: Array.from(text),
    initial_state: initial,
    steps,
    eval: { features: Array.from(evalFeatures), probs: Array.from(probs), predictions },
    aggregation: { weights, clients: clients.map((client) => flat(client, kind, dim)), expected },
  };
}
