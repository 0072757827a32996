/**
 * The simulation's data contract. A data source (the synthetic generator here; encoded real images elsewhere) produces
 * a `SimulationData`; `runSimulation` does the rest.
 */
import type { FeatureSet, FeatureSplit, MethodName, SplitFractions, TextFeatures } from '@facmic/learning';

/** A site's data split for the protocol. */
export type SiteSplit = FeatureSplit;

export interface SiteFeatures {
  readonly name: string;
  /** All of the site's labelled features; split 80/10/10 (seeded) unless `split` is given. */
  readonly data: FeatureSet;
  /** A split decided by the data source (for example an official test set); used as is. */
  readonly split?: SiteSplit;
}

export interface SimulationData {
  /** What the data is, for reports (e.g. "synthetic, seed 1"). */
  readonly description: string;
  readonly dim: number;
  readonly classNames: readonly string[];
  /** Class-prompt features [classes, dim], raw. */
  readonly textFeatures: TextFeatures;
  readonly sites: readonly SiteFeatures[];
}

export interface SimulationOptions {
  readonly method: MethodName;
  readonly rounds: number;
  /**
   * Index (0-based) of the held-out global site. As the paper's code: its whole data is both the unlabelled LMMD
   * reference stream and the labelled global test set; with `globalSplit`, it is split like the others and its train
   * part is the reference set, its test part the global test set (disjoint).
   */
  readonly globalSite: number;
  readonly globalSplit?: boolean;
  readonly seed: number;
  /** Steps per local round (default 199, the paper's, when `localEpochs` is absent). */
  readonly localSteps?: number;
  /** Passes over the site's training rows per round; with `localSteps` too, whichever comes first. */
  readonly localEpochs?: number;
  readonly batchSize: number;
  readonly learningRate: number;
  /** λ, the weight of the LMMD term (default 1, the paper's code). */
  readonly lmmdWeight?: number;
  /** Train / validation / test fractions of each site (default the paper's 0.8 / 0.1 / 0.1). */
  readonly splitFractions?: SplitFractions;
}

export interface EvaluationSummary {
  readonly accuracy: number;
  readonly balancedAccuracy: number;
  readonly count: number;
}

export interface SiteRoundResult extends EvaluationSummary {
  readonly site: string;
  /** The same module on the site's validation split (null when the split is empty). */
  readonly validation: EvaluationSummary | null;
  /** Mean total loss of this round's local steps (null without training). */
  readonly meanLoss: number | null;
  /** Mean contrastive and LMMD (unweighted, before λ) losses of this round's steps (null without training / LMMD). */
  readonly meanContrastiveLoss: number | null;
  readonly meanLmmdLoss: number | null;
  /** Pseudo labels LMMD saw this round: reference rows, and how many had their true label (null without LMMD). */
  readonly pseudoLabels: { rows: number; correct: number } | null;
  readonly steps: number;
  /** Bytes this site sent this round: its module update, float32 in the protocol's tensor encoding (0 if none). */
  readonly bytesSent: number;
}

/** The round's diagnostics, over the training sites. */
export interface RoundDiagnostics {
  /**
   * Share of the reference rows drawn this round (all sites' LMMD batches) whose pseudo label equals the true label;
   * null for methods without LMMD and for round 0.
   */
  readonly pseudoLabelAccuracy: number | null;
  /** Mean over sites of each site's mean loss (null without training / LMMD). */
  readonly meanContrastiveLoss: number | null;
  readonly meanLmmdLoss: number | null;
  /** Mean over sites of the bytes each sent. */
  readonly bytesSentPerSite: number;
}

export interface RoundResult {
  /** 0 = before any training. */
  readonly round: number;
  /** Each training site's local test split. */
  readonly sites: SiteRoundResult[];
  /** The global site's test split. */
  readonly global: EvaluationSummary;
  readonly diagnostics: RoundDiagnostics;
  readonly durationMs: number;
}

export interface SimulationResult {
  readonly method: MethodName;
  /** λ used (1 unless set). */
  readonly lmmdWeight: number;
  readonly description: string;
  readonly globalSite: string;
  readonly trainingSites: { name: string; train: number; val: number; test: number }[];
  readonly referenceSize: number;
  readonly globalTestSize: number;
  /** How the global site is scored for this method. */
  readonly globalEvaluation: string;
  readonly rounds: RoundResult[];
  readonly wallTimeMs: number;
}

export interface SimulationHooks {
  readonly onRound?: (result: RoundResult) => void;
  readonly signal?: AbortSignal;
}
