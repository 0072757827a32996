/**
 * One round of local work, as a function: evaluate the global model on the local test split, train it on the local
 * data with `@facmic/learning` (the caller's optimizer carries Adam's state across rounds), evaluate the result, and
 * encode the weights to submit. No connection: the caller downloads the model and submits what this returns.
 */
import { AdamL2, evaluate, FeatureAttention, getMethod, trainLocal, type ModuleState } from '@facmic/learning';
import { counterEntryNames, moduleSpec, SeededRandom } from '@facmic/learning/plain';
import { encodeTensors, type EvalMetrics, type FederationConfig, type SitePhase, type SiteRoundMetrics, type TensorDtype } from '@facmic/protocol';
import type { SiteEventMap } from './events.ts';
import { toEvalMetrics, type FederationFeatures, type SiteData } from './site-data.ts';

export interface TrainRoundInput {
  round: number;
  federation: FederationConfig;
  data: SiteData;
  features: FederationFeatures;
  /** The global model the round trains from (it is not modified). */
  globalState: ModuleState;
  optimizer: AdamL2;
  /** Seed of this round's shuffling. */
  seed: number;
  /** int8: the delta from `globalState` (the model after round - 1), running statistics and counters in float32. */
  weightsDtype: TensorDtype;
  signal: AbortSignal;
  /** What the site is doing (training progress 0..1, or null). */
  onPhase: (phase: Extract<SitePhase, 'evaluating' | 'training'>, progress: number | null, message: string | null) => void;
  onEvaluated: (event: SiteEventMap['evaluated']) => void;
  onStep: (event: SiteEventMap['step']) => void;
}

/** The round's update, ready to submit (and to resubmit as is after a reconnection). */
export interface TrainedUpdate {
  round: number;
  bytes: Uint8Array;
  checksum: string;
  sampleCount: number;
  metrics: SiteRoundMetrics;
}

/** The federation's optimizer (Adam with L2 decay, the paper's), for the caller to keep across rounds. */
export function createOptimizer(training: FederationConfig['training']): AdamL2 {
  const { optimizer } = training;
  return new AdamL2({ learningRate: optimizer.learningRate, beta1: optimizer.betas[0], beta2: optimizer.betas[1], epsilon: optimizer.epsilon, weightDecay: optimizer.weightDecay });
}

/**
 * The trained state as the file to submit. 8-bit: each trained parameter as its delta from the round's global model
 * (stochastic rounding seeded by the round's seed, so a resubmission is the same bytes); the running statistics stay
 * float32, because their delta is as large as their value in the first rounds.
 */
function encodeUpdate(trained: ModuleState, input: TrainRoundInput): { bytes: Uint8Array; checksum: string } {
  const { kind, featureDim: dim } = input.federation.module;
  if (input.weightsDtype !== 'int8') return encodeTensors(trained, { dtype: input.weightsDtype, float32Names: counterEntryNames(kind, dim) });
  const random = new SeededRandom(input.seed * 7 + 3);
  return encodeTensors(trained, {
    dtype: 'int8',
    float32Names: moduleSpec(kind, dim).filter((entry) => entry.kind !== 'parameter').map((entry) => entry.name),
    base: { round: input.round - 1, tensors: input.globalState },
    random: () => random.nextUint32() / 4_294_967_296,
  });
}

export async function trainRound(input: TrainRoundInput): Promise<TrainedUpdate> {
  const { round, federation, data, features, signal } = input;
  const { kind, featureDim: dim } = federation.module;
  const module = FeatureAttention.fromState(kind, dim, input.globalState);
  try {
    const evaluateOn = async (model: 'global' | 'local', message: string): Promise<EvalMetrics | null> => {
      if (!data.test) return null;
      input.onPhase('evaluating', null, message);
      const metrics = toEvalMetrics(await evaluate(module, data.test, features.text));
      input.onEvaluated({ round, model, metrics });
      return metrics;
    };
    const globalMetrics = await evaluateOn('global', 'global model on the local test split');
    signal.throwIfAborted();

    const training = federation.training;
    const method = getMethod(federation.method);
    input.onPhase('training', 0, null);
    const started = Date.now();
    const result = await trainLocal(module, data.train, {
      textFeatures: features.text,
      lmmd: method.lmmd,
      reference: method.lmmd ? features.reference : null,
      seed: input.seed,
      batchSize: training.batchSize,
      ...(training.localEpochs === null ? {} : { epochs: training.localEpochs }),
      ...(training.stepsPerRound === null ? {} : { steps: training.stepsPerRound }),
      optimizer: input.optimizer,
      signal,
      onStep: (progress) => {
        input.onStep({ round, step: progress.step, totalSteps: progress.totalSteps, loss: progress.losses.total });
        input.onPhase('training', progress.step / progress.totalSteps, null);
      },
    });
    const trainSeconds = (Date.now() - started) / 1000;

    const localMetrics = await evaluateOn('local', 'local model on the local test split');
    const trained = await module.exportState();
    signal.throwIfAborted();
    const losses = result.losses.map((l) => l.total).filter((l) => Number.isFinite(l));
    const metrics: SiteRoundMetrics = {
      trainLoss: losses.length > 0 ? losses.reduce((a, b) => a + b, 0) / losses.length : null,
      steps: result.steps,
      trainSeconds,
      globalModel: globalMetrics,
      localModel: localMetrics,
    };
    const { bytes, checksum } = encodeUpdate(trained, input);
    return { round, bytes, checksum, sampleCount: result.numSamples, metrics };
  } finally {
    module.dispose();
  }
}
