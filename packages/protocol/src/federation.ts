/** What a federation is: its settings (as an admin creates them) and the view every site receives. */
import { z } from 'zod';
import { base64Schema } from './binary.ts';
import { privacySettingsSchema } from './privacy-settings.ts';

/** Federation and site ids: lowercase slug, e.g. `demo-brain-tumor`, `fed-3k9x2m7q`. */
export const idSchema = z.string().regex(/^[a-z0-9][a-z0-9-]{0,63}$/, 'ids are 1-64 lowercase letters, digits or dashes');
export const federationIdSchema = idSchema;
export const siteIdSchema = idSchema;
/** Site and admin tokens: URL-safe, 16 to 256 characters. */
export const tokenSchema = z.string().regex(/^[A-Za-z0-9_-]{16,256}$/, 'tokens are 16-256 URL-safe characters');

/** Federated methods a coordinator runs (`local` and `zeroshot` need no coordinator). */
export const FEDERATED_METHODS = ['facmic', 'fedclip'] as const;
export const methodSchema = z.enum(FEDERATED_METHODS);
export type FederatedMethod = z.infer<typeof methodSchema>;

export const DEFAULT_PROMPT_TEMPLATE = 'a picture of a {class}';
export const PROMPT_CLASS_PLACEHOLDER = '{class}';

/** Largest sample count a site may report for one round. */
export const MAX_SAMPLE_COUNT = 10_000_000;
/** Largest feature dimension accepted (ViT-L/14 is 768; 1024 leaves room). */
export const MAX_FEATURE_DIM = 1024;

/** Adam with L2 weight decay added to the gradient (torch `Adam(weight_decay=...)`), as in the paper. */
export const optimizerSchema = z.strictObject({
  name: z.literal('adam').default('adam'),
  learningRate: z.number().positive().max(1).default(5e-5),
  betas: z.tuple([z.number().min(0).lt(1), z.number().min(0).lt(1)]).default([0.9, 0.98]),
  epsilon: z.number().positive().max(1).default(1e-6),
  weightDecay: z.number().min(0).max(1).default(0.02),
});
export type OptimizerSettings = z.infer<typeof optimizerSchema>;

/** Steps per local round, as the paper's code runs it (`n_iter` 200, its loop breaking at i == n_iter). */
export const DEFAULT_STEPS_PER_ROUND = 199;

/** Settings stored before `stepsPerRound` (protocol 2) named the step cap `maxStepsPerRound`: read them as it. */
function renameLegacyTraining(value: unknown): unknown {
  if (typeof value !== 'object' || value === null || Array.isArray(value) || !('maxStepsPerRound' in value) || 'stepsPerRound' in value) return value;
  const { maxStepsPerRound, ...rest } = value as Record<string, unknown>;
  return { localEpochs: 1, ...rest, stepsPerRound: maxStepsPerRound };
}

/**
 * Local training per round. The paper's code: 199 steps of 32 images a round, drawn from an endless reshuffled stream
 * of the site's training images (its "1 local epoch" is one pass of that loop, not of the data), Adam lr 5e-5, betas
 * (0.9, 0.98), eps 1e-6, wd 0.02. `localEpochs` (optional) bounds a round by passes over the data instead; with both,
 * whichever comes first; at least one of the two is set.
 */
export const trainingSchema = z.preprocess(renameLegacyTraining, z.strictObject({
  stepsPerRound: z.int().min(1).max(1_000_000).nullable().default(DEFAULT_STEPS_PER_ROUND),
  localEpochs: z.int().min(1).max(1000).nullable().default(null),
  batchSize: z.int().min(2).max(4096).default(32),
  optimizer: optimizerSchema.prefault({}),
}).refine((training) => training.stepsPerRound !== null || training.localEpochs !== null, { error: 'set steps per round, local epochs, or both', path: ['stepsPerRound'] }));
export type TrainingSettings = z.infer<typeof trainingSchema>;
export const PAPER_TRAINING: TrainingSettings = trainingSchema.parse({});

/** Largest uploaded image or feature file in a federation request body. */
export const MAX_UPLOAD_BYTES = 48 * 1024 * 1024;

const uploadedImageSchema = z.strictObject({
  name: z.string().min(1).max(256),
  /** Base64 of the image file (PNG, JPEG, ...). */
  data: base64Schema(8 * 1024 * 1024),
});

/**
 * Unlabelled reference images for LMMD (the paper's "global" unlabelled set), encoded by the coordinator with the
 * federation's encoder, or features encoded elsewhere (a tensor file holding `features` [N, D]).
 */
export const referenceSourceSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('generated'), count: z.int().min(1).max(10_000) }),
  z.strictObject({ kind: z.literal('folder'), path: z.string().min(1).max(4096) }),
  z.strictObject({ kind: z.literal('images'), images: z.array(uploadedImageSchema).min(1).max(10_000) }),
  z.strictObject({ kind: z.literal('features'), data: base64Schema(MAX_UPLOAD_BYTES) }),
]);
export type ReferenceSource = z.infer<typeof referenceSourceSchema>;

/**
 * Optional labelled global test set: the coordinator reports accuracy and balanced accuracy of every new global
 * model on it. A folder holds one sub-folder per class name; features are a tensor file with `features` [N, D] and
 * `labels` [N] (class indices).
 */
export const globalTestSourceSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('generated'), perClass: z.int().min(1).max(1000) }),
  z.strictObject({ kind: z.literal('folder'), path: z.string().min(1).max(4096) }),
  z.strictObject({
    kind: z.literal('images'),
    images: z.array(uploadedImageSchema.extend({ label: z.string().min(1).max(100) })).min(1).max(10_000),
  }),
  z.strictObject({ kind: z.literal('features'), data: base64Schema(MAX_UPLOAD_BYTES) }),
]);
export type GlobalTestSource = z.infer<typeof globalTestSourceSchema>;

const classNamesSchema = z
  .array(z.string().trim().min(1).max(100))
  .min(2)
  .max(1000)
  .refine((names) => new Set(names).size === names.length, 'class names must be unique');

/** Largest shortest-round setting (seconds). */
export const MAX_MIN_ROUND_SECONDS = 3600;

/**
 * Weights of the frozen CLIP every site of a federation runs (the ONNX files' dtype): `fp32`, `fp16`, or `q8`
 * (8-bit dynamic quantization: a quarter of the download, 1.5-2x as fast as fp32 in a browser on a CPU, features at
 * cosine 0.9999 to fp32's, less than half the memory). One dtype per federation, so no site's features are shifted by a different rounding.
 */
export const ENCODER_DTYPES = ['fp32', 'fp16', 'q8'] as const;
export const encoderDtypeSchema = z.enum(ENCODER_DTYPES);
export type EncoderDtype = z.infer<typeof encoderDtypeSchema>;

/** Body of `POST /api/federations`. Omitted fields take the paper's defaults. */
export const createFederationRequestSchema = z.strictObject({
  name: z.string().trim().min(1).max(100),
  classNames: classNamesSchema,
  promptTemplate: z
    .string()
    .max(300)
    .refine((t) => t.includes(PROMPT_CLASS_PLACEHOLDER), 'the prompt template must contain {class}')
    .default(DEFAULT_PROMPT_TEMPLATE),
  method: methodSchema.default('facmic'),
  rounds: z.int().min(1).max(10_000).default(50),
  training: trainingSchema.prefault({}),
  /** Fewest sites a round needs: a round starts with at least this many ready sites and publishes with this many submissions. */
  quorum: z.int().min(1).max(10_000).default(2),
  /**
   * Seconds a round stays open for submissions. The default leaves a slow site time for the paper's 199 steps of 32:
   * one such round (D 512, FACMIC with LMMD, evaluation included) took 15 to 132 s per site in Node WASM on a 2-core
   * machine at load 6 (issue 9, `simulate` on the Brain Tumor folders), so 600 s is 4.5x the slowest measured.
   */
  roundDeadlineSeconds: z.int().min(1).max(7 * 24 * 3600).default(600),
  /**
   * Shortest round (seconds): a round whose updates are all in sooner stays open until then, so people can follow
   * each round (demos). 0: a round closes as soon as every update is in. Shorter than the deadline.
   */
  minRoundSeconds: z.int().min(0).max(MAX_MIN_ROUND_SECONDS).default(0),
  reference: referenceSourceSchema.default({ kind: 'generated', count: 64 }),
  globalTest: globalTestSourceSchema.nullable().default(null),
  /** The encoder's dtype; omitted: the coordinator's model's recommended one (q8 when the model publishes it). */
  encoderDtype: encoderDtypeSchema.optional(),
  /** Secure aggregation, differential privacy and the update encoding (`privacy-settings.ts`). */
  privacy: privacySettingsSchema.prefault({}),
}).refine((s) => s.minRoundSeconds < s.roundDeadlineSeconds, {
  error: 'the shortest round must be shorter than the round deadline',
  path: ['minRoundSeconds'],
});
export type CreateFederationRequest = z.input<typeof createFederationRequestSchema>;
export type FederationSettings = z.output<typeof createFederationRequestSchema>;

/** Body of `PATCH /api/federations/:id`: what may change after creation. */
export const updateFederationRequestSchema = z
  .strictObject({
    name: z.string().trim().min(1).max(100),
    rounds: z.int().min(1).max(10_000),
    quorum: z.int().min(1).max(10_000),
    roundDeadlineSeconds: z.int().min(1).max(7 * 24 * 3600),
    minRoundSeconds: z.int().min(0).max(MAX_MIN_ROUND_SECONDS),
  })
  .partial()
  .refine((body) => Object.keys(body).length > 0, 'nothing to change');
export type UpdateFederationRequest = z.infer<typeof updateFederationRequestSchema>;

/** The frozen image encoder a federation uses; sites refuse to take part when theirs differs. */
export const encoderIdentitySchema = z.strictObject({
  modelId: z.string().min(1).max(300),
  /** Content hash of the vision tower in `dtype` (config + ONNX file, as computed by `@facmic/encoder`): sites must match it. */
  hash: z.string().min(1).max(200),
  featureDim: z.int().min(1).max(MAX_FEATURE_DIM),
  /** Weights sites load (absent: fp32). */
  dtype: encoderDtypeSchema.optional(),
  /** Hash of the text tower the coordinator encoded the prompts with (sites never load it). */
  textHash: z.string().min(1).max(200).optional(),
});
export type EncoderIdentity = z.infer<typeof encoderIdentitySchema>;

/** The federation as sites (and the dashboard) see it. */
export const federationConfigSchema = z.strictObject({
  id: federationIdSchema,
  name: z.string(),
  classNames: z.array(z.string()),
  promptTemplate: z.string(),
  /** The prompt text of each class, in class order. */
  prompts: z.array(z.string()),
  method: methodSchema,
  rounds: z.int().min(1),
  training: trainingSchema,
  quorum: z.int().min(1),
  roundDeadlineSeconds: z.int().min(1),
  /** Shortest round in seconds (0: none); see `createFederationRequestSchema`. */
  minRoundSeconds: z.int().min(0),
  encoder: encoderIdentitySchema,
  /** The trained module: `moduleSpec(module.kind, module.featureDim)` in `@facmic/learning`. */
  module: z.strictObject({ kind: methodSchema, featureDim: z.int().min(1) }),
  /**
   * Features shipped by `features:get`: `text` [C, D] (the prompts, encoded by the coordinator) and `reference` [N, D]
   * (unlabelled images for LMMD). `checksum` identifies the file, so a site can cache it.
   */
  features: z.strictObject({ referenceCount: z.int().min(0), checksum: z.string() }),
  hasGlobalTest: z.boolean(),
  privacy: privacySettingsSchema,
  createdAt: z.number(),
});
export type FederationConfig = z.infer<typeof federationConfigSchema>;

/** Text of each class's prompt. */
export function promptsFor(template: string, classNames: readonly string[]): string[] {
  return classNames.map((c) => template.split(PROMPT_CLASS_PLACEHOLDER).join(c));
}

/**
 * Federation life cycle. `waiting`: for quorum before the next round; `training`: a round is open;
 * `aggregating`: the round closed and the global model is being computed; `paused` (resumable), `stopped` and
 * `finished` (terminal).
 */
export const FEDERATION_STATUSES = ['waiting', 'training', 'aggregating', 'paused', 'stopped', 'finished'] as const;
export const federationStatusSchema = z.enum(FEDERATION_STATUSES);
export type FederationStatus = z.infer<typeof federationStatusSchema>;

/** Round life cycle: `training` (open), `aggregating`, `published` (its global model exists), `abandoned` (stopped). */
export const ROUND_STATUSES = ['training', 'aggregating', 'published', 'abandoned'] as const;
export const roundStatusSchema = z.enum(ROUND_STATUSES);
export type RoundStatus = z.infer<typeof roundStatusSchema>;

/** Accuracy and balanced accuracy (mean per-class recall) of a model on a labelled set. */
export const evalMetricsSchema = z.strictObject({
  accuracy: z.number().min(0).max(1),
  balancedAccuracy: z.number().min(0).max(1),
  samples: z.int().min(0).max(MAX_SAMPLE_COUNT),
  /**
   * Global models only, when the coordinator knows the reference set's true classes: the share of reference rows
   * whose pseudo label (the class this model predicts, which LMMD weights by at a round's first step) is the true one.
   */
  pseudoLabelAccuracy: z.number().min(0).max(1).optional(),
});
export type EvalMetrics = z.infer<typeof evalMetricsSchema>;

/** What a site reports with its weights: training summary and test metrics of the global and its local model. */
export const siteRoundMetricsSchema = z.strictObject({
  /** Mean training loss over the round's steps (null when not measured). */
  trainLoss: z.number().nullable(),
  steps: z.int().min(0).max(100_000_000),
  trainSeconds: z.number().min(0).max(1e7),
  /** The global model received at the start of the round, on the site's local test split. */
  globalModel: evalMetricsSchema.nullable(),
  /** The model after local training, on the same split. */
  localModel: evalMetricsSchema.nullable(),
});
export type SiteRoundMetrics = z.infer<typeof siteRoundMetricsSchema>;
