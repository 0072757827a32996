/**
 * The tfjs-free half of @facmic/learning (`@facmic/learning/plain`): module layout and initialisation, aggregation
 * strategies, metrics, the method table, the one seeded generator, the one train / validation / test split and the error types. Safe to import from the
 * coordinator or the protocol layer without loading TensorFlow.js.
 */
export * from './errors.ts';
export type { ModuleKind, ModuleState, NamedTensor, StateEntryKind, StateEntrySpec } from './module-spec.ts';
export {
  MODULE_KINDS,
  cloneModuleState,
  counterEntryNames,
  findNonFinite,
  initialModuleState,
  isCounterEntry,
  isModuleKind,
  moduleSpec,
  moduleTensorSpec,
  moduleValueCount,
  shapeSize,
  validateCounters,
  validateModuleState,
} from './module-spec.ts';
export * from './aggregation/index.ts';
export type { ClassificationMetrics } from './metrics.ts';
export { accuracy, balancedAccuracy, classificationMetrics, confusionMatrix } from './metrics.ts';
export type { PseudoLabelTally } from './pseudo-labels.ts';
export { addTallies, oneHotProbabilities, pseudoLabelAccuracy, pseudoLabelsFromProbabilities, tallyPseudoLabels } from './pseudo-labels.ts';
export type { MethodName, MethodSpec } from './methods.ts';
export { METHODS, METHOD_NAMES, getMethod, isMethodName } from './methods.ts';
export { SeededRandom, textSeed } from './prng.ts';
export type { FeatureSplit, ItemSplit, RowSplit, SplitFractions, SplitPart, SplitSeed } from './split.ts';
export { PAPER_SPLIT, splitFeatureSet, splitItems, splitRows, splitSizes } from './split.ts';
export type { AdamOptions, AdamState } from './adam-options.ts';
export { PAPER_ADAM } from './adam-options.ts';
export { DEFAULT_BATCH_SIZE, DEFAULT_STEPS_PER_ROUND } from './round-settings.ts';
export type { FeatureMatrix, FeatureSet, TextFeatures } from './features.ts';
export { rowCount, selectRows } from './features.ts';
