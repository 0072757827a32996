/**
 * @facmic/learning: FACMIC's maths on TensorFlow.js (tfjs-core only; the app picks the backend).
 * The tfjs-free part is also available alone as `@facmic/learning/plain`.
 */
export * from './plain.ts';

export type { AttentionOutput, BatchStatistics, ForwardCache, ForwardMode } from './attention.ts';
export { BATCH_NORM_EPSILON, BATCH_NORM_MOMENTUM, FeatureAttention, LEAKY_RELU_SLOPE, disposeBatchStatistics, disposeForwardCache } from './attention.ts';
export type { KernelOptions, LmmdWeights } from './losses.ts';
export {
  LMMD_KERNEL_MUL,
  LMMD_KERNEL_NUM,
  LOGIT_SCALE,
  contrastiveLoss,
  contrastiveLossWithGradient,
  cosineProbabilities,
  gaussianKernel,
  lmmdClassWeights,
  lmmdLoss,
  lmmdLossWithGradient,
  normalizeRows,
  normalizeRowsBackward,
} from './losses.ts';
export { AdamL2 } from './adam.ts';
export type { LocalStepBatch, LocalStepDiagnostics, LocalStepOptions, LocalStepResult, StepLosses } from './local-step.ts';
export { localStep } from './local-step.ts';
export type { LocalTrainingOptions, LocalTrainingResult, TrainingProgress } from './trainer.ts';
export type { BatchOrder } from './trainer.ts';
export { RecordedBatches, ShuffledBatches, stepsPerEpoch, trainLocal } from './trainer.ts';
export type { Evaluation, PredictOptions, Predictions } from './inference.ts';
export { evaluate, predict } from './inference.ts';
export type { ParityQuantity, ParityReport, ParityVectors, ReplayOptions } from './parity/replay.ts';
export { PARITY_ABSOLUTE_TOLERANCE, PARITY_RELATIVE_TOLERANCE, maxRelativeError, parseParityVectors, replayParity } from './parity/replay.ts';
export type { ProtocolSummary } from './parity/protocol-replay.ts';
export { isProtocolVectors, replayProtocol, summarizeProtocol } from './parity/protocol-replay.ts';
