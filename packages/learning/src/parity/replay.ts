/**
 * Replays a parity vectors file (the format of `../shared/parity`, produced by the paper's PyTorch code) through this
 * package's implementation and reports, per quantity, the maximum relative error. Knows the format, not the numbers:
 * D, B, C, the number of steps, the module kind (from the state names) and the optimiser settings (from
 * `conventions`, paper defaults where absent) all come from the file.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { AdamOptions } from '../adam.ts';
import { AdamL2, PAPER_ADAM } from '../adam.ts';
import { weightedAverageStates } from '../aggregation/weighted-average.ts';
import { FeatureAttention } from '../attention.ts';
import { LearningError } from '../errors.ts';
import { predict } from '../inference.ts';
import { localStep } from '../local-step.ts';
import { LOGIT_SCALE } from '../losses.ts';
import type { ModuleKind, ModuleState } from '../module-spec.ts';
import { moduleSpec, shapeSize } from '../module-spec.ts';

export const PARITY_RELATIVE_TOLERANCE = 1e-4;
export const PARITY_ABSOLUTE_TOLERANCE = 1e-6;

type FlatState = Record<string, number[]>;

export interface ParityStep {
  readonly source: number[];
  readonly labels: number[];
  readonly target: number[] | null;
  readonly attentionSource: number[] | null;
  readonly pseudoLabelProbs: number[] | null;
  readonly contrastiveLoss: number | null;
  readonly lmmdLoss: number | null;
  readonly loss: number | null;
  readonly grads: FlatState | null;
  readonly stateAfter: FlatState | null;
}

export interface ParityVectors {
  readonly dim: number;
  readonly batchSize: number;
  readonly numClasses: number;
  readonly kind: ModuleKind;
  readonly logitScale: number;
  readonly adam: AdamOptions;
  /** Where each optimiser setting came from ('conventions' or 'paper default'). */
  readonly settingsSource: Record<string, string>;
  readonly textFeatures: number[];
  readonly initialState: FlatState;
  readonly steps: ParityStep[];
  readonly evaluation: { features: number[]; probs: number[] | null; predictions: number[] | null } | null;
  readonly aggregation: { weights: number[]; clients: FlatState[]; expected: FlatState } | null;
}

export interface ParityQuantity {
  readonly name: string;
  readonly count: number;
  /** Elements farther apart than the absolute tolerance and the relative tolerance. */
  readonly mismatches: number;
  readonly maxRelativeError: number;
}

export interface ReplayOptions {
  /** Differences up to this count as exact matches (default 1e-6, the parity spec's). */
  readonly absoluteTolerance?: number;
  /** Called with each quantity as soon as it is compared. */
  readonly onQuantity?: (quantity: ParityQuantity) => void;
}

export interface ParityReport {
  readonly quantities: ParityQuantity[];
  readonly maxRelativeError: number;
  readonly passed: boolean;
}

class ParityFormatError extends LearningError<'invalid-vectors'> {
  constructor(message: string) {
    super('invalid-vectors', `parity vectors: ${message}`);
    this.name = 'ParityFormatError';
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function numbers(value: unknown, path: string, length?: number): number[] {
  const list = typeof value === 'number' ? [value] : value;
  if (!Array.isArray(list) || !list.every((item): item is number => typeof item === 'number')) throw new ParityFormatError(`${path} must be a number array`);
  if (length !== undefined && list.length !== length) throw new ParityFormatError(`${path} has ${list.length} values, expected ${length}`);
  return list;
}

function optionalNumbers(value: unknown, path: string, length?: number): number[] | null {
  return value === undefined ? null : numbers(value, path, length);
}

function optionalNumber(value: unknown, path: string): number | null {
  if (value === undefined) return null;
  if (typeof value !== 'number') throw new ParityFormatError(`${path} must be a number`);
  return value;
}

function positiveInteger(value: unknown, path: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) throw new ParityFormatError(`${path} must be a positive integer`);
  return value;
}

function flatState(value: unknown, path: string, expectedSizes: Map<string, number>, requireAll: boolean): FlatState {
  if (!isRecord(value)) throw new ParityFormatError(`${path} must be an object`);
  const state: FlatState = {};
  for (const [name, entry] of Object.entries(value)) {
    const size = expectedSizes.get(name);
    if (size === undefined) throw new ParityFormatError(`${path}.${name} is not an entry of the module`);
    state[name] = numbers(entry, `${path}.${name}`, size);
  }
  if (requireAll) {
    for (const name of expectedSizes.keys()) if (!(name in state)) throw new ParityFormatError(`${path}.${name} is missing`);
  }
  return state;
}

function conventionNumber(text: string, pattern: RegExp): number | null {
  const match = pattern.exec(text);
  if (match === null) return null;
  const parsed = Number(match[1]);
  return Number.isFinite(parsed) ? parsed : null;
}

/** Validates and converts the parsed JSON of a vectors file. Throws a LearningError ('invalid-vectors') on bad input. */
export function parseParityVectors(json: unknown): ParityVectors {
  if (!isRecord(json)) throw new ParityFormatError('top level must be an object');
  const dim = positiveInteger(json.D, 'D');
  const batchSize = positiveInteger(json.B, 'B');
  const numClasses = positiveInteger(json.C, 'C');
  if (!isRecord(json.initial_state)) throw new ParityFormatError('initial_state must be an object');
  const kind: ModuleKind = '3.weight' in json.initial_state ? 'facmic' : '2.weight' in json.initial_state ? 'fedclip' : (() => {
    throw new ParityFormatError('initial_state matches neither the facmic nor the fedclip module');
  })();
  const sizes = new Map(moduleSpec(kind, dim).map((entry) => [entry.name, shapeSize(entry.shape)]));
  const parameterSizes = new Map(moduleSpec(kind, dim).filter((entry) => entry.kind === 'parameter').map((entry) => [entry.name, shapeSize(entry.shape)]));
  const conventions = isRecord(json.conventions) ? json.conventions : {};
  const optimizerText = typeof conventions.optimizer === 'string' ? conventions.optimizer : '';
  const settingsSource: Record<string, string> = {};
  const setting = (name: keyof AdamOptions, pattern: RegExp): number => {
    const parsed = conventionNumber(optimizerText, pattern);
    settingsSource[name] = parsed === null ? 'paper default' : 'conventions';
    return parsed ?? PAPER_ADAM[name];
  };
  const adam: AdamOptions = {
    learningRate: setting('learningRate', /\blr\s*=?\s*([0-9.eE+-]+)/),
    beta1: setting('beta1', /betas\s*=?\s*\(\s*([0-9.eE+-]+)/),
    beta2: setting('beta2', /betas\s*=?\s*\(\s*[0-9.eE+-]+\s*,\s*([0-9.eE+-]+)/),
    epsilon: setting('epsilon', /\beps\s*=?\s*([0-9.eE+-]+)/),
    weightDecay: setting('weightDecay', /weight_decay\s*=?\s*([0-9.eE+-]+)/),
  };
  const logitScale = typeof conventions.logit_scale === 'number' ? conventions.logit_scale : LOGIT_SCALE;
  settingsSource.logitScale = typeof conventions.logit_scale === 'number' ? 'conventions' : 'paper default';
  if (!Array.isArray(json.steps)) throw new ParityFormatError('steps must be an array');
  const steps = json.steps.map((raw: unknown, index): ParityStep => {
    const path = `steps[${index}]`;
    if (!isRecord(raw)) throw new ParityFormatError(`${path} must be an object`);
    const source = numbers(raw.source, `${path}.source`);
    if (source.length % dim !== 0) throw new ParityFormatError(`${path}.source is not a multiple of D`);
    const rows = source.length / dim;
    const target = optionalNumbers(raw.target, `${path}.target`);
    if (target !== null && target.length % dim !== 0) throw new ParityFormatError(`${path}.target is not a multiple of D`);
    const targetRows = target === null ? 0 : target.length / dim;
    return {
      source,
      labels: numbers(raw.labels, `${path}.labels`, rows),
      target,
      attentionSource: optionalNumbers(raw.attention_source, `${path}.attention_source`, rows * dim),
      pseudoLabelProbs: optionalNumbers(raw.pseudo_label_probs, `${path}.pseudo_label_probs`, targetRows * numClasses),
      contrastiveLoss: optionalNumber(raw.contrastive_loss, `${path}.contrastive_loss`),
      lmmdLoss: optionalNumber(raw.lmmd_loss, `${path}.lmmd_loss`),
      loss: optionalNumber(raw.loss, `${path}.loss`),
      grads: raw.grads === undefined ? null : flatState(raw.grads, `${path}.grads`, parameterSizes, false),
      stateAfter: raw.state_after === undefined ? null : flatState(raw.state_after, `${path}.state_after`, sizes, false),
    };
  });
  let evaluation: ParityVectors['evaluation'] = null;
  if (isRecord(json.eval)) {
    const features = numbers(json.eval.features, 'eval.features');
    if (features.length % dim !== 0) throw new ParityFormatError('eval.features is not a multiple of D');
    const rows = features.length / dim;
    evaluation = {
      features,
      probs: optionalNumbers(json.eval.probs, 'eval.probs', rows * numClasses),
      predictions: optionalNumbers(json.eval.predictions, 'eval.predictions', rows),
    };
  }
  let aggregation: ParityVectors['aggregation'] = null;
  if (isRecord(json.aggregation)) {
    const clientsRaw = json.aggregation.clients;
    if (!Array.isArray(clientsRaw)) throw new ParityFormatError('aggregation.clients must be an array');
    const clients = clientsRaw.map((client: unknown, index) => flatState(client, `aggregation.clients[${index}]`, sizes, true));
    aggregation = {
      weights: numbers(json.aggregation.weights, 'aggregation.weights', clients.length),
      clients,
      expected: flatState(json.aggregation.expected, 'aggregation.expected', sizes, false),
    };
  }
  return {
    dim,
    batchSize,
    numClasses,
    kind,
    logitScale,
    adam,
    settingsSource,
    textFeatures: numbers(json.text_features, 'text_features', numClasses * dim),
    initialState: flatState(json.initial_state, 'initial_state', sizes, true),
    steps,
    evaluation,
    aggregation,
  };
}

/**
 * max over elements of |actual - expected| / |expected|, counting elements within `absoluteTolerance` as exact
 * matches. NaN anywhere, or a length mismatch, is an infinite error.
 */
export function maxRelativeError(actual: ArrayLike<number>, expected: ArrayLike<number>, absoluteTolerance: number = PARITY_ABSOLUTE_TOLERANCE): { max: number; mismatches: number } {
  if (actual.length !== expected.length) return { max: Number.POSITIVE_INFINITY, mismatches: Math.max(actual.length, expected.length) };
  let max = 0;
  let mismatches = 0;
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i] as number;
    const e = expected[i] as number;
    const difference = Math.abs(a - e);
    let relative: number;
    if (Number.isNaN(difference)) relative = Number.POSITIVE_INFINITY;
    else if (difference <= absoluteTolerance) relative = 0;
    else relative = difference / Math.abs(e);
    if (relative > PARITY_RELATIVE_TOLERANCE) mismatches += 1;
    if (relative > max) max = relative;
  }
  return { max, mismatches };
}

function toModuleState(kind: ModuleKind, dim: number, flat: FlatState): ModuleState {
  const state: ModuleState = {};
  for (const entry of moduleSpec(kind, dim)) {
    const values = flat[entry.name];
    if (values !== undefined) state[entry.name] = { shape: [...entry.shape], data: Float32Array.from(values) };
  }
  return state;
}

/** Runs every step, the evaluation and the aggregation of `vectors` on the current tfjs backend and compares. */
export async function replayParity(vectors: ParityVectors, options: ReplayOptions = {}): Promise<ParityReport> {
  const { dim, kind, numClasses } = vectors;
  const quantities: ParityQuantity[] = [];
  const record = (name: string, actual: ArrayLike<number>, expected: ArrayLike<number>): void => {
    const { max, mismatches } = maxRelativeError(actual, expected, options.absoluteTolerance);
    const quantity = { name, count: expected.length, mismatches, maxRelativeError: max };
    quantities.push(quantity);
    options.onQuantity?.(quantity);
  };
  const module = FeatureAttention.fromState(kind, dim, toModuleState(kind, dim, vectors.initialState));
  const optimizer = new AdamL2(vectors.adam);
  const text = tf.tensor2d(vectors.textFeatures, [numClasses, dim]);
  try {
    for (const [index, step] of vectors.steps.entries()) {
      const prefix = `step ${index}`;
      const source = tf.tensor2d(step.source, [step.source.length / dim, dim]);
      const reference = step.target === null ? null : tf.tensor2d(step.target, [step.target.length / dim, dim]);
      try {
        const { losses, diagnostics } = await localStep(module, optimizer, text, { source, labels: Int32Array.from(step.labels), reference }, {
          lmmd: reference !== null,
          logitScale: vectors.logitScale,
          diagnostics: true,
        });
        if (diagnostics === undefined) throw new ParityFormatError('the step returned no diagnostics');
        if (step.attentionSource !== null) record(`${prefix} attention_source`, diagnostics.attentionSource, step.attentionSource);
        if (step.pseudoLabelProbs !== null) record(`${prefix} pseudo_label_probs`, diagnostics.pseudoLabelProbs ?? [], step.pseudoLabelProbs);
        if (step.contrastiveLoss !== null) record(`${prefix} contrastive_loss`, [losses.contrastive], [step.contrastiveLoss]);
        if (step.lmmdLoss !== null) record(`${prefix} lmmd_loss`, [losses.lmmd], [step.lmmdLoss]);
        if (step.loss !== null) record(`${prefix} loss`, [losses.total], [step.loss]);
        for (const [name, expected] of Object.entries(step.grads ?? {})) {
          record(`${prefix} grad ${name}`, diagnostics.gradients[name]?.data ?? [], expected);
        }
        if (step.stateAfter !== null) {
          const state = await module.exportState();
          for (const [name, expected] of Object.entries(step.stateAfter)) record(`${prefix} state_after ${name}`, state[name]?.data ?? [], expected);
        }
      } finally {
        source.dispose();
        reference?.dispose();
      }
    }
    if (vectors.evaluation !== null) {
      const result = await predict(module, { dim, features: Float32Array.from(vectors.evaluation.features) }, { dim, features: Float32Array.from(vectors.textFeatures) }, { logitScale: vectors.logitScale });
      if (vectors.evaluation.probs !== null) record('eval probs', result.probabilities, vectors.evaluation.probs);
      if (vectors.evaluation.predictions !== null) record('eval predictions', result.predictions, vectors.evaluation.predictions);
    }
    if (vectors.aggregation !== null) {
      const clients = vectors.aggregation.clients.map((client) => toModuleState(kind, dim, client));
      const average = weightedAverageStates(clients, vectors.aggregation.weights);
      for (const [name, expected] of Object.entries(vectors.aggregation.expected)) record(`aggregation ${name}`, average[name]?.data ?? [], expected);
    }
  } finally {
    text.dispose();
    optimizer.dispose();
    module.dispose();
  }
  const maxError = quantities.reduce((max, quantity) => Math.max(max, quantity.maxRelativeError), 0);
  return { quantities, maxRelativeError: maxError, passed: quantities.length > 0 && maxError <= PARITY_RELATIVE_TOLERANCE };
}
