/**
 * Replays a multi-round protocol vectors file (`facmic-protocol.json` of `../shared/parity`, produced by the paper's
 * own `main.py` loop) through facmic's real round loop, `trainLocal`, with the recorded batch order injected
 * (`RecordedBatches`), and compares every recorded quantity of every round: each step's labels, pseudo-label
 * probabilities and losses, the module state and Adam's step count (and moments, where recorded) after each site's
 * round, the aggregated state (with the file's client weights), every site model's `num_batches_tracked` after
 * communication, and the predictions, accuracy and balanced accuracy of every evaluation.
 *
 * Knows the format, not the numbers: D, B, C, the number of sites, rounds and steps, the optimiser settings and the
 * logit scale all come from the file. What the file's conventions prescribe and facmic's deployment does differently
 * is applied here, named, and nowhere else:
 * - a site's model keeps its own `num_batches_tracked` when the aggregate is broadcast (facmic's sites load the
 *   coordinator's aggregate whole); the counter enters no computation (BatchNorm momentum 0.1);
 * - the server's counter is the never-trained global-site model's, i.e. `initial_state`'s (facmic's FedAvg takes the
 *   first update's);
 * - the aggregation weights are the file's `client_weights` (facmic weights by exact sample counts, see the README);
 * - the reference batches come from one stream shared by the sites (the file's recorded rows; facmic's sites each
 *   draw their own).
 */
import type { AdamOptions } from '../adam.ts';
import { AdamL2 } from '../adam.ts';
import { weightedAverageStates } from '../aggregation/weighted-average.ts';
import { FeatureAttention } from '../attention.ts';
import { LearningError } from '../errors.ts';
import type { FeatureMatrix, FeatureSet } from '../features.ts';
import { selectRows } from '../features.ts';
import { predict } from '../inference.ts';
import { classificationMetrics } from '../metrics.ts';
import type { ModuleKind, ModuleState } from '../module-spec.ts';
import { isCounterEntry, moduleSpec, shapeSize } from '../module-spec.ts';
import { RecordedBatches, trainLocal } from '../trainer.ts';
import type { ParityQuantity, ParityReport, ReplayOptions } from './replay.ts';
import { PARITY_RELATIVE_TOLERANCE, maxRelativeError } from './replay.ts';

class ProtocolFormatError extends LearningError<'invalid-vectors'> {
  constructor(message: string) {
    super('invalid-vectors', `protocol vectors: ${message}`);
    this.name = 'ProtocolFormatError';
  }
}

type Json = Record<string, unknown>;

function isRecord(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function record(value: unknown, path: string): Json {
  if (!isRecord(value)) throw new ProtocolFormatError(`${path} must be an object`);
  return value;
}

function list(value: unknown, path: string): unknown[] {
  if (!Array.isArray(value)) throw new ProtocolFormatError(`${path} must be an array`);
  return value;
}

function numbers(value: unknown, path: string, length?: number): number[] {
  const items = typeof value === 'number' ? [value] : value;
  if (!Array.isArray(items) || !items.every((item): item is number => typeof item === 'number')) throw new ProtocolFormatError(`${path} must be a number array`);
  if (length !== undefined && items.length !== length) throw new ProtocolFormatError(`${path} has ${items.length} values, expected ${length}`);
  return items;
}

function number(value: unknown, path: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) throw new ProtocolFormatError(`${path} must be a finite number`);
  return value;
}

function positiveInteger(value: unknown, path: string): number {
  const n = number(value, path);
  if (!Number.isInteger(n) || n < 1) throw new ProtocolFormatError(`${path} must be a positive integer`);
  return n;
}

function rowList(value: unknown, path: string, rows: number): number[] {
  const out = numbers(value, path);
  for (const row of out) if (!(Number.isInteger(row) && row >= 0 && row < rows)) throw new ProtocolFormatError(`${path}: ${row} is not a row of a ${rows}-row site`);
  return out;
}

/** True when the parsed JSON is a multi-round protocol file (it has `rounds` and `sites`), not a single-step one. */
export function isProtocolVectors(json: unknown): boolean {
  return isRecord(json) && Array.isArray(json.rounds) && Array.isArray(json.sites);
}

interface Site {
  readonly index: number;
  readonly role: 'training' | 'global';
  readonly data: FeatureSet;
  readonly split: Readonly<Record<string, number[]>>;
}

/** What `replayProtocol` needs to know about a file before it runs: for the CLI's header. */
export interface ProtocolSummary {
  readonly dim: number;
  readonly batchSize: number;
  readonly numClasses: number;
  readonly rounds: number;
  readonly sites: number;
  readonly trainingSites: readonly number[];
  readonly globalSite: number;
  readonly stepsPerRound: readonly number[];
  readonly adam: AdamOptions;
  readonly logitScale: number;
}

function flatState(value: unknown, path: string, sizes: ReadonlyMap<string, readonly number[]>, requireAll: boolean): ModuleState {
  const raw = record(value, path);
  const state: ModuleState = {};
  for (const [name, entry] of Object.entries(raw)) {
    const shape = sizes.get(name);
    if (shape === undefined) throw new ProtocolFormatError(`${path}.${name} is not an entry of the module`);
    state[name] = { shape: [...shape], data: Float32Array.from(numbers(entry, `${path}.${name}`, shapeSize(shape))) };
  }
  if (requireAll) for (const name of sizes.keys()) if (!(name in state)) throw new ProtocolFormatError(`${path}.${name} is missing`);
  return state;
}

function parseHeader(json: Json): ProtocolSummary & { config: Json } {
  const config = record(json.config, 'config');
  const dim = positiveInteger(json.D ?? config.D, 'D');
  const batchSize = positiveInteger(json.B ?? config.B, 'B');
  const numClasses = positiveInteger(json.C ?? config.C, 'C');
  const trainingSites = numbers(config.training_sites, 'config.training_sites');
  const globalSite = number(config.global_site, 'config.global_site');
  const betas = numbers(config.betas, 'config.betas', 2);
  const adam: AdamOptions = {
    learningRate: number(config.lr, 'config.lr'),
    beta1: betas[0] as number,
    beta2: betas[1] as number,
    epsilon: number(config.eps, 'config.eps'),
    weightDecay: number(config.weight_decay, 'config.weight_decay'),
  };
  const rounds = list(json.rounds, 'rounds');
  const stepsPerRound = rounds.map((round, r) => {
    const local = list(record(round, `rounds[${r}]`).local, `rounds[${r}].local`);
    const first = record(local[0], `rounds[${r}].local[0]`);
    return list(first.steps, `rounds[${r}].local[0].steps`).length;
  });
  return {
    config,
    dim,
    batchSize,
    numClasses,
    rounds: rounds.length,
    sites: list(json.sites, 'sites').length,
    trainingSites,
    globalSite,
    stepsPerRound,
    adam,
    logitScale: number(config.logit_scale_exp, 'config.logit_scale_exp'),
  };
}

/** The header of a protocol file (checked), without running it. */
export function summarizeProtocol(json: unknown): ProtocolSummary {
  const { config: _config, ...summary } = parseHeader(record(json, 'top level'));
  return summary;
}

function parseSites(json: Json, dim: number): Site[] {
  return list(json.sites, 'sites').map((raw, k) => {
    const site = record(raw, `sites[${k}]`);
    const n = positiveInteger(site.n, `sites[${k}].n`);
    const features = Float32Array.from(numbers(site.features, `sites[${k}].features`, n * dim));
    const labels = Int32Array.from(numbers(site.labels, `sites[${k}].labels`, n));
    const splitRaw = record(site.split, `sites[${k}].split`);
    const split: Record<string, number[]> = {};
    for (const [part, rows] of Object.entries(splitRaw)) split[part] = rowList(rows, `sites[${k}].split.${part}`, n);
    const role = site.role === 'global' ? 'global' : site.role === 'training' ? 'training' : null;
    if (role === null) throw new ProtocolFormatError(`sites[${k}].role must be "training" or "global"`);
    return { index: positiveIntegerOrZero(site.site, `sites[${k}].site`), role, data: { dim, features, labels }, split };
  });
}

function positiveIntegerOrZero(value: unknown, path: string): number {
  const n = number(value, path);
  if (!Number.isInteger(n) || n < 0) throw new ProtocolFormatError(`${path} must be a non-negative integer`);
  return n;
}

/** Positions in `rows` of each of `wanted` (rows recorded as site rows, the training set holding only the train split). */
function positionsIn(rows: readonly number[], wanted: readonly number[], path: string): number[] {
  const position = new Map(rows.map((row, i) => [row, i]));
  return wanted.map((row) => {
    const at = position.get(row);
    if (at === undefined) throw new ProtocolFormatError(`${path}: row ${row} is not in the site's train split`);
    return at;
  });
}

/**
 * Runs every round of a protocol file on the current tfjs backend and compares. Throws a LearningError
 * ('invalid-vectors') on a malformed file.
 */
export async function replayProtocol(json: unknown, options: ReplayOptions = {}): Promise<ParityReport> {
  const top = record(json, 'top level');
  const header = parseHeader(top);
  const { dim, batchSize, numClasses, adam, logitScale } = header;
  const initialRaw = record(top.initial_state, 'initial_state');
  const kind: ModuleKind = '3.weight' in initialRaw ? 'facmic' : '2.weight' in initialRaw ? 'fedclip' : (() => {
    throw new ProtocolFormatError('initial_state matches neither the facmic nor the fedclip module');
  })();
  const lmmd = kind === 'facmic';
  const spec = moduleSpec(kind, dim);
  const sizes = new Map(spec.map((entry) => [entry.name, entry.shape]));
  const counterNames = spec.filter((entry) => isCounterEntry(entry.name)).map((entry) => entry.name);
  const quantities: ParityQuantity[] = [];
  const compare = (name: string, actual: ArrayLike<number>, expected: ArrayLike<number>): void => {
    const { max, mismatches } = maxRelativeError(actual, expected, options.absoluteTolerance);
    const quantity = { name, count: expected.length, mismatches, maxRelativeError: max };
    quantities.push(quantity);
    options.onQuantity?.(quantity);
  };
  /** Exact comparison (predictions, row counts): any difference is an infinite error. */
  const compareExact = (name: string, actual: ArrayLike<number>, expected: ArrayLike<number>): void => {
    let mismatches = actual.length === expected.length ? 0 : Math.max(actual.length, expected.length);
    for (let i = 0; i < Math.min(actual.length, expected.length); i++) if (actual[i] !== expected[i]) mismatches += 1;
    const quantity = { name, count: expected.length, mismatches, maxRelativeError: mismatches === 0 ? 0 : Number.POSITIVE_INFINITY };
    quantities.push(quantity);
    options.onQuantity?.(quantity);
  };

  const sites = parseSites(top, dim);
  const globalSite = sites[header.globalSite];
  if (globalSite?.role !== 'global') throw new ProtocolFormatError(`config.global_site ${header.globalSite} is not a site with role "global"`);
  const reference: FeatureMatrix = { dim, features: globalSite.data.features };
  const text = { dim, features: Float32Array.from(numbers(top.text_features, 'text_features', numClasses * dim)) };
  const initial = flatState(top.initial_state, 'initial_state', sizes, true);
  const weights = numbers(top.client_weights, 'client_weights');
  const trainingSites = header.trainingSites.map((k) => {
    const site = sites[k];
    if (site?.role !== 'training') throw new ProtocolFormatError(`config.training_sites names ${k}, which is not a training site`);
    const trainRows = site.split.train;
    if (trainRows === undefined) throw new ProtocolFormatError(`sites[${k}].split.train is missing`);
    const weight = weights[header.trainingSites.indexOf(k)];
    if (weight === undefined) throw new ProtocolFormatError(`client_weights has no weight for site ${k}`);
    return { site, trainRows, train: selectRows(site.data, trainRows), weight };
  });
  const modules = trainingSites.map(() => FeatureAttention.fromState(kind, dim, initial));
  const optimizers = trainingSites.map(() => new AdamL2(adam));
  const server = FeatureAttention.fromState(kind, dim, initial);
  try {
    for (const [r, roundRaw] of list(top.rounds, 'rounds').entries()) {
      const round = record(roundRaw, `rounds[${r}]`);
      const label = `round ${typeof round.round === 'number' ? round.round : r + 1}`;
      const locals = list(round.local, `rounds[${r}].local`);
      for (const [i, localRaw] of locals.entries()) {
        const path = `rounds[${r}].local[${i}]`;
        const local = record(localRaw, path);
        const siteIndex = positiveIntegerOrZero(local.site, `${path}.site`);
        const slot = header.trainingSites.indexOf(siteIndex);
        const entry = trainingSites[slot];
        const module = modules[slot];
        const optimizer = optimizers[slot];
        if (entry === undefined || module === undefined || optimizer === undefined) throw new ProtocolFormatError(`${path}.site ${siteIndex} is not a training site`);
        const n = entry.site.data.labels.length;
        const steps = list(local.steps, `${path}.steps`).map((raw, s) => record(raw, `${path}.steps[${s}]`));
        const sourceRows = steps.map((step, s) => rowList(step.source_rows, `${path}.steps[${s}].source_rows`, n));
        const referenceRows = steps.map((step, s) => rowList(step.reference_rows, `${path}.steps[${s}].reference_rows`, globalSite.data.labels.length));
        const discardedSource = local.discarded_source_rows === undefined ? null : rowList(local.discarded_source_rows, `${path}.discarded_source_rows`, n);
        const discardedReference = local.discarded_reference_rows === undefined ? null : rowList(local.discarded_reference_rows, `${path}.discarded_reference_rows`, globalSite.data.labels.length);
        const sourceBatches = new RecordedBatches([...sourceRows, ...(discardedSource === null ? [] : [discardedSource])].map((rows, s) => positionsIn(entry.trainRows, rows, `${path} batch ${s}`)));
        const referenceBatches = new RecordedBatches(lmmd ? [...referenceRows, ...(discardedReference === null ? [] : [discardedReference])] : []);
        const prefix = `${label} site ${siteIndex}`;
        const labels: number[] = [];
        const probs: number[] = [];
        const result = await trainLocal(module, entry.train, {
          textFeatures: text,
          lmmd,
          reference: lmmd ? reference : null,
          seed: 0,
          batchSize,
          steps: steps.length,
          sourceBatches,
          referenceBatches,
          optimizer,
          logitScale,
          diagnostics: true,
          onStep: (progress) => {
            for (const row of progress.sourceRows) labels.push(entry.train.labels[row] as number);
            probs.push(...(progress.diagnostics?.pseudoLabelProbs ?? []));
          },
        });
        compareExact(`${prefix} labels`, labels, steps.flatMap((step, s) => numbers(step.labels, `${path}.steps[${s}].labels`)));
        if (steps.every((step) => step.pseudo_label_probs !== undefined)) compare(`${prefix} pseudo_label_probs`, probs, steps.flatMap((step, s) => numbers(step.pseudo_label_probs, `${path}.steps[${s}].pseudo_label_probs`)));
        compare(`${prefix} contrastive_loss`, result.losses.map((l) => l.contrastive), steps.map((step, s) => number(step.contrastive_loss, `${path}.steps[${s}].contrastive_loss`)));
        if (steps.every((step) => step.lmmd_loss !== undefined)) compare(`${prefix} lmmd_loss`, result.losses.map((l) => l.lmmd), steps.map((step, s) => number(step.lmmd_loss, `${path}.steps[${s}].lmmd_loss`)));
        compare(`${prefix} loss`, result.losses.map((l) => l.total), steps.map((step, s) => number(step.loss, `${path}.steps[${s}].loss`)));
        const mean = (values: number[]): number => values.reduce((a, b) => a + b, 0) / values.length;
        if (local.mean_contrastive_loss !== undefined) compare(`${prefix} mean_contrastive_loss`, [mean(result.losses.map((l) => l.contrastive))], [number(local.mean_contrastive_loss, `${path}.mean_contrastive_loss`)]);
        if (local.mean_lmmd_loss !== undefined) compare(`${prefix} mean_lmmd_loss`, [mean(result.losses.map((l) => l.lmmd))], [number(local.mean_lmmd_loss, `${path}.mean_lmmd_loss`)]);
        compareExact(`${prefix} batches drawn (the discarded pair too)`, [sourceBatches.remaining, referenceBatches.remaining], [0, 0]);
        const after = await module.exportState();
        const expectedAfter = flatState(local.state_after, `${path}.state_after`, sizes, false);
        for (const [name, expected] of Object.entries(expectedAfter)) compare(`${prefix} state_after ${name}`, after[name]?.data ?? [], expected.data);
        if (local.adam_step !== undefined) compareExact(`${prefix} adam_step`, [optimizer.stepCount], [number(local.adam_step, `${path}.adam_step`)]);
        if (local.adam_after !== undefined) {
          const adamAfter = record(local.adam_after, `${path}.adam_after`);
          const state = await optimizer.exportState();
          for (const [key, moments] of [['exp_avg', state.firstMoments], ['exp_avg_sq', state.secondMoments]] as const) {
            if (adamAfter[key] === undefined) continue;
            for (const [name, expected] of Object.entries(record(adamAfter[key], `${path}.adam_after.${key}`))) {
              compare(`${prefix} adam ${key} ${name}`, moments[name]?.data ?? [], numbers(expected, `${path}.adam_after.${key}.${name}`));
            }
          }
        }
      }

      // Communication: the file's weights; the server keeps the never-trained global-site model's counter
      // (initial_state's), the sites keep their own.
      const states = await Promise.all(modules.map((module) => module.exportState()));
      const aggregated = weightedAverageStates(states, trainingSites.map((site) => site.weight));
      for (const name of counterNames) if (initial[name] !== undefined) aggregated[name] = initial[name];
      const expectedAggregate = flatState(round.aggregated_state, `rounds[${r}].aggregated_state`, sizes, false);
      for (const [name, expected] of Object.entries(expectedAggregate)) compare(`${label} aggregated_state ${name}`, aggregated[name]?.data ?? [], expected.data);
      server.loadState(aggregated);
      for (const [slot, module] of modules.entries()) {
        const own = states[slot] as ModuleState;
        const broadcast: ModuleState = { ...aggregated };
        for (const name of counterNames) if (own[name] !== undefined) broadcast[name] = own[name];
        module.loadState(broadcast);
      }
      if (round.num_batches_tracked_after_communication !== undefined) {
        const counters = sites.map((site) => {
          const slot = header.trainingSites.indexOf(site.index);
          return slot >= 0 ? (modules[slot]?.numBatchesTracked ?? -1) : server.numBatchesTracked;
        });
        compareExact(`${label} num_batches_tracked after communication`, counters, numbers(round.num_batches_tracked_after_communication, `rounds[${r}].num_batches_tracked_after_communication`, sites.length));
      }

      // Evaluation (eval mode): each training site with its broadcast model, the global site with the server model.
      const evaluation = record(round.eval, `rounds[${r}].eval`);
      const score = async (name: string, module: FeatureAttention, site: Site, raw: unknown, path: string): Promise<void> => {
        const part = record(raw, path);
        const rows = rowList(part.rows, `${path}.rows`, site.data.labels.length);
        const set = selectRows(site.data, rows);
        const predictions = rows.length === 0 ? new Int32Array(0) : (await predict(module, set, text, { logitScale })).predictions;
        compareExact(`${name} predictions`, predictions, numbers(part.predictions, `${path}.predictions`, rows.length));
        if (rows.length === 0) return;
        const metrics = classificationMetrics(set.labels, predictions, numClasses);
        compare(`${name} accuracy`, [metrics.accuracy], [number(part.accuracy, `${path}.accuracy`)]);
        compare(`${name} balanced_accuracy`, [metrics.balancedAccuracy], [number(part.balanced_accuracy, `${path}.balanced_accuracy`)]);
      };
      for (const [i, raw] of list(evaluation.sites, `rounds[${r}].eval.sites`).entries()) {
        const path = `rounds[${r}].eval.sites[${i}]`;
        const siteEval = record(raw, path);
        const siteIndex = positiveIntegerOrZero(siteEval.site, `${path}.site`);
        const slot = header.trainingSites.indexOf(siteIndex);
        const module = modules[slot];
        const site = sites[siteIndex];
        if (module === undefined || site === undefined) throw new ProtocolFormatError(`${path}.site ${siteIndex} is not a training site`);
        for (const part of ['train', 'val', 'test']) {
          if (siteEval[part] !== undefined) await score(`${label} site ${siteIndex} eval ${part}`, module, site, siteEval[part], `${path}.${part}`);
        }
      }
      if (evaluation.global !== undefined) await score(`${label} global eval`, server, globalSite, evaluation.global, `rounds[${r}].eval.global`);
    }
  } finally {
    for (const module of modules) module.dispose();
    for (const optimizer of optimizers) optimizer.dispose();
    server.dispose();
  }
  const maxError = quantities.reduce((max, quantity) => Math.max(max, quantity.maxRelativeError), 0);
  return { quantities, maxRelativeError: maxError, passed: quantities.length > 0 && maxError <= PARITY_RELATIVE_TOLERANCE };
}
