/**
 * The paper's protocol with N sites in one process: one held-out global site (as in the paper's `getfeadataloader`,
 * its whole data is both the unlabelled LMMD reference stream and the labelled global test set; `globalSplit` keeps
 * them disjoint instead), the other sites train locally each round (the paper's round: 199 steps of 32 over endless
 * reshuffled streams, kept across rounds, `trainLocal`) and, for federated methods, their modules are averaged with
 * sample-weighted FedAvg.
 *
 * Per method:
 * - facmic / facmic-nolmmd / facmic-oracle / fedclip: every site starts each round from the global module; after aggregation the global module is
 *   scored on every site's test split and on the global test split. Each site keeps its own Adam state across rounds
 *   (as the paper's code keeps one optimiser per client).
 * - local: every site trains its own module, never aggregated; a site is scored with its own module; the global site
 *   is scored as the MEAN over sites of each site's own module on the global test split.
 * - zeroshot: no module, no training; raw features against the class prompts, the same every round.
 * - facmic-oracle: as facmic, but LMMD weights the reference rows by their true labels (the simulation knows them).
 * Round 0 is the state before any training. Each round also reports its diagnostics: the share of the reference rows
 * LMMD drew whose pseudo label was right, the mean contrastive and LMMD losses, and the bytes each site sent.
 */
import type { Evaluation, FeatureSet, LocalTrainingResult, ModuleState } from '@facmic/learning';
import { AdamL2, FeatureAttention, FedAvg, METHODS, PAPER_SPLIT, SeededRandom, ShuffledBatches, addTallies, evaluate, initialModuleState, moduleTensorSpec, pseudoLabelAccuracy, rowCount, splitFeatureSet, trainLocal } from '@facmic/learning';
import { encodedTensorsByteLength } from '@facmic/protocol';
import type { EvaluationSummary, RoundDiagnostics, RoundResult, SimulationData, SimulationHooks, SimulationOptions, SimulationResult, SiteFeatures, SiteRoundResult, SiteSplit } from './types.ts';

export class SimulationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SimulationError';
  }
}

function summary(evaluation: Evaluation): EvaluationSummary {
  return { accuracy: evaluation.accuracy, balancedAccuracy: evaluation.balancedAccuracy, count: evaluation.count };
}

function mean(values: readonly number[]): number {
  return values.reduce((a, b) => a + b, 0) / values.length;
}

function meanOrNull(values: readonly (number | null)[]): number | null {
  const known = values.filter((v): v is number => v !== null);
  return known.length === 0 ? null : mean(known);
}

/** A site's round without its scores: what its local training did, and what it sent. */
type SiteTraining = Pick<SiteRoundResult, 'meanLoss' | 'meanContrastiveLoss' | 'meanLmmdLoss' | 'pseudoLabels' | 'steps' | 'bytesSent'>;

const NO_TRAINING: SiteTraining = { meanLoss: null, meanContrastiveLoss: null, meanLmmdLoss: null, pseudoLabels: null, steps: 0, bytesSent: 0 };

function siteTraining(result: LocalTrainingResult, lmmd: boolean, bytesSent: number): SiteTraining {
  const losses = result.losses;
  return {
    meanLoss: losses.length > 0 ? mean(losses.map((l) => l.total)) : null,
    meanContrastiveLoss: losses.length > 0 ? mean(losses.map((l) => l.contrastive)) : null,
    meanLmmdLoss: lmmd && losses.length > 0 ? mean(losses.map((l) => l.lmmd)) : null,
    pseudoLabels: result.pseudoLabels,
    steps: result.steps,
    bytesSent,
  };
}

function diagnosticsOf(sites: readonly SiteRoundResult[]): RoundDiagnostics {
  const tallies = sites.map((site) => site.pseudoLabels).filter((t): t is { rows: number; correct: number } => t !== null);
  return {
    pseudoLabelAccuracy: tallies.length === 0 ? null : pseudoLabelAccuracy(addTallies(tallies)),
    meanContrastiveLoss: meanOrNull(sites.map((site) => site.meanContrastiveLoss)),
    meanLmmdLoss: meanOrNull(sites.map((site) => site.meanLmmdLoss)),
    bytesSentPerSite: mean(sites.map((site) => site.bytesSent)),
  };
}

async function scoreOn(module: FeatureAttention | null, set: FeatureSet, text: SimulationData['textFeatures']): Promise<EvaluationSummary | null> {
  return set.labels.length === 0 ? null : summary(await evaluate(module, set, text));
}

function checkOptions(data: SimulationData, options: SimulationOptions): void {
  if (data.sites.length < 2) throw new SimulationError('the simulation needs at least 2 sites (one is held out as the global site)');
  if (!Number.isInteger(options.globalSite) || options.globalSite < 0 || options.globalSite >= data.sites.length) {
    throw new SimulationError(`global site must be one of 1..${data.sites.length}`);
  }
  if (!Number.isInteger(options.rounds) || options.rounds < 1) throw new SimulationError('rounds must be a positive integer');
  if (options.localEpochs !== undefined && !(Number.isInteger(options.localEpochs) && options.localEpochs >= 1)) throw new SimulationError('local epochs must be a positive integer');
  if (options.localSteps !== undefined && !(Number.isInteger(options.localSteps) && options.localSteps >= 1)) throw new SimulationError('local steps must be a positive integer');
  if (!(options.learningRate > 0)) throw new SimulationError('learning rate must be positive');
  if (options.lmmdWeight !== undefined && !(Number.isFinite(options.lmmdWeight) && options.lmmdWeight >= 0)) throw new SimulationError('the LMMD weight λ must be a number >= 0');
  if (data.textFeatures.dim !== data.dim || data.textFeatures.features.length !== data.classNames.length * data.dim) {
    throw new SimulationError('text features must be [classes, dim]');
  }
}

export async function runSimulation(data: SimulationData, options: SimulationOptions, hooks: SimulationHooks = {}): Promise<SimulationResult> {
  checkOptions(data, options);
  const started = performance.now();
  const method = METHODS[options.method];
  const splits: SiteSplit[] = data.sites.map((site, k) => site.split ?? splitFeatureSet(site.data, options.seed * 1009 + k, options.splitFractions ?? PAPER_SPLIT));
  const globalSplit = splits[options.globalSite] as SiteSplit;
  const globalData = (data.sites[options.globalSite] as SiteFeatures).data;
  const reference = { dim: data.dim, features: options.globalSplit === true ? globalSplit.train.features : globalData.features };
  // The reference set's true labels: never seen by a real site; here they score the pseudo labels and feed the oracle.
  const referenceLabels = options.globalSplit === true ? globalSplit.train.labels : globalData.labels;
  const lmmdWeight = options.lmmdWeight ?? 1;
  const globalTest = options.globalSplit === true ? globalSplit.test : globalData;
  const training = data.sites.map((site, k) => ({ name: site.name, index: k, split: splits[k] as SiteSplit })).filter((site) => site.index !== options.globalSite);
  for (const site of training) {
    if (site.split.test.labels.length === 0) throw new SimulationError(`${site.name} has no test samples`);
  }
  if (globalTest.labels.length === 0) throw new SimulationError('the global site has no test samples');
  const text = data.textFeatures;
  const rounds: RoundResult[] = [];
  const report = (result: RoundResult): void => {
    rounds.push(result);
    hooks.onRound?.(result);
  };
  const common = {
    method: options.method,
    lmmdWeight,
    description: data.description,
    globalSite: data.sites[options.globalSite]?.name ?? '',
    trainingSites: training.map((site) => ({ name: site.name, train: site.split.train.labels.length, val: site.split.validation.labels.length, test: site.split.test.labels.length })),
    referenceSize: rowCount(reference),
    globalTestSize: globalTest.labels.length,
  };

  if (method.module === null) {
    const sites: SiteRoundResult[] = [];
    for (const site of training) sites.push({ site: site.name, ...summary(await evaluate(null, site.split.test, text)), validation: await scoreOn(null, site.split.validation, text), ...NO_TRAINING });
    const global = summary(await evaluate(null, globalTest, text));
    for (let round = 0; round <= options.rounds; round++) {
      hooks.signal?.throwIfAborted();
      report({ round, sites, global, diagnostics: diagnosticsOf(sites), durationMs: 0 });
    }
    return { ...common, globalEvaluation: 'raw features against the class prompts', rounds, wallTimeMs: performance.now() - started };
  }

  const kind = method.module;
  const initial = initialModuleState(kind, data.dim, options.seed);
  const modules = training.map(() => FeatureAttention.fromState(kind, data.dim, initial));
  const optimizers = training.map(() => new AdamL2({ learningRate: options.learningRate }));
  // Every site's source and reference streams run on across rounds, as the paper's InfiniteDataLoaders do (each site
  // draws its own reference stream, as it would in a real federation; the paper's one shared stream is an artefact of
  // its single process). Sites with fewer than 2 training rows get no stream: trainLocal refuses them with a clear error.
  const streams = training.map((site) => {
    const random = new SeededRandom(options.seed * 100_003 + site.index);
    const rows = site.split.train.labels.length;
    return {
      source: rows >= 2 ? new ShuffledBatches(rows, options.batchSize, random.fork(1)) : undefined,
      reference: rowCount(reference) >= 2 ? new ShuffledBatches(rowCount(reference), options.batchSize, random.fork(2)) : undefined,
    };
  });
  const updateBytes = method.federated ? encodedTensorsByteLength(moduleTensorSpec(kind, data.dim)) : 0;
  const strategy = new FedAvg();
  let globalState: ModuleState = initial;
  const globalModule = FeatureAttention.fromState(kind, data.dim, initial);
  try {
    const evaluateRound = async (round: number, trainings: readonly SiteTraining[], durationMs: number): Promise<RoundResult> => {
      const sites: SiteRoundResult[] = [];
      let global: EvaluationSummary;
      const scoreSite = async (module: FeatureAttention, i: number, split: SiteSplit, name: string): Promise<SiteRoundResult> => ({
        site: name,
        ...summary(await evaluate(module, split.test, text)),
        validation: await scoreOn(module, split.validation, text),
        ...(trainings[i] ?? NO_TRAINING),
      });
      if (method.federated) {
        globalModule.loadState(globalState);
        for (const [i, site] of training.entries()) sites.push(await scoreSite(globalModule, i, site.split, site.name));
        global = summary(await evaluate(globalModule, globalTest, text));
      } else {
        const perSiteGlobal: EvaluationSummary[] = [];
        for (const [i, site] of training.entries()) {
          const module = modules[i] as FeatureAttention;
          sites.push(await scoreSite(module, i, site.split, site.name));
          perSiteGlobal.push(summary(await evaluate(module, globalTest, text)));
        }
        global = {
          accuracy: mean(perSiteGlobal.map((s) => s.accuracy)),
          balancedAccuracy: mean(perSiteGlobal.map((s) => s.balancedAccuracy)),
          count: globalTest.labels.length,
        };
      }
      return { round, sites, global, diagnostics: diagnosticsOf(sites), durationMs };
    };

    report(await evaluateRound(0, [], 0));
    for (let round = 1; round <= options.rounds; round++) {
      hooks.signal?.throwIfAborted();
      const roundStart = performance.now();
      const updates: { state: ModuleState; numSamples: number }[] = [];
      const trainings: SiteTraining[] = [];
      for (const [i, site] of training.entries()) {
        const module = modules[i] as FeatureAttention;
        if (method.federated) module.loadState(globalState);
        const result = await trainLocal(module, site.split.train, {
          textFeatures: text,
          lmmd: method.lmmd,
          reference: method.lmmd ? reference : null,
          ...(method.lmmd ? { referenceLabels, oracle: method.oracle, lmmdWeight } : {}),
          seed: options.seed * 100_003 + round * 1009 + site.index,
          batchSize: options.batchSize,
          ...(options.localEpochs === undefined ? {} : { epochs: options.localEpochs }),
          ...(options.localSteps === undefined ? {} : { steps: options.localSteps }),
          ...(streams[i]?.source === undefined ? {} : { sourceBatches: streams[i].source }),
          ...(method.lmmd && streams[i]?.reference !== undefined ? { referenceBatches: streams[i].reference } : {}),
          optimizer: optimizers[i],
          ...(hooks.signal === undefined ? {} : { signal: hooks.signal }),
        });
        trainings.push(siteTraining(result, method.lmmd, updateBytes));
        if (method.federated) updates.push({ state: await module.exportState(), numSamples: result.numSamples });
      }
      if (method.federated) globalState = strategy.aggregateTrain(updates);
      report(await evaluateRound(round, trainings, performance.now() - roundStart));
    }
  } finally {
    for (const module of modules) module.dispose();
    for (const optimizer of optimizers) optimizer.dispose();
    globalModule.dispose();
  }
  const globalEvaluation = method.federated ? 'the aggregated global module' : "mean over training sites of each site's own module";
  return { ...common, globalEvaluation, rounds, wallTimeMs: performance.now() - started };
}
