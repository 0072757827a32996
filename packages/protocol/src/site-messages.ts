/** Messages between a hospital site and the coordinator on the `/site` namespace. */
import { z } from 'zod';
import { ackSchema } from './ack.ts';
import { binarySchema } from './binary.ts';
import { privacySpentSchema } from './privacy-settings.ts';
import {
  federationConfigSchema,
  federationIdSchema,
  federationStatusSchema,
  MAX_SAMPLE_COUNT,
  siteIdSchema,
  siteRoundMetricsSchema,
  tokenSchema,
} from './federation.ts';

/** `auth` of the Socket.IO handshake on `/site`. */
export const siteHandshakeSchema = z.strictObject({
  protocolVersion: z.int().min(0),
  federationId: federationIdSchema,
  siteToken: tokenSchema,
  /** Free text identifying the client software, e.g. `facmic-web/0.1 (Chrome)`, shown to admins. */
  client: z.string().max(200).optional(),
});
export type SiteHandshake = z.infer<typeof siteHandshakeSchema>;

/** The round as one site sees it. Sent on connect, on every transition, and in `site:ready`'s ack. */
export const roundUpdateSchema = z.strictObject({
  federationId: federationIdSchema,
  status: federationStatusSchema,
  /** The state `paused` came from (null unless paused). */
  pausedFrom: federationStatusSchema.nullable(),
  /** Current round (open or last published); 0 before the first round. */
  round: z.int().min(0),
  totalRounds: z.int().min(1),
  /** When the open round closes (epoch ms), null when no round is open. */
  deadline: z.number().nullable(),
  /** Newest global model; round r trains from the model of round r - 1 (0: the initial model). */
  latestModelRound: z.int().min(0),
  /** Whether this site is a participant of the open round (else it waits for the next one). */
  participating: z.boolean(),
  /** Whether the coordinator holds this site's accepted submission for the open round. */
  submitted: z.boolean(),
  participants: z.int().min(0),
  submissions: z.int().min(0),
  quorum: z.int().min(1),
  readySites: z.int().min(0),
  /** Differential privacy spent so far and the budget (null without differential privacy). */
  privacy: privacySpentSchema.nullable(),
});
export type RoundUpdate = z.infer<typeof roundUpdateSchema>;

/** `session:welcome`, the first message after a successful handshake. */
export const sessionWelcomeSchema = z.strictObject({
  protocolVersion: z.int(),
  serverTime: z.number(),
  site: z.strictObject({ id: siteIdSchema, name: z.string() }),
  federation: federationConfigSchema,
  round: roundUpdateSchema,
});
export type SessionWelcome = z.infer<typeof sessionWelcomeSchema>;

/** `session:closed`: why the coordinator is about to disconnect this site; the site must not reconnect. */
export const sessionClosedSchema = z.strictObject({
  code: z.enum(['SESSION_REPLACED', 'TOKEN_REVOKED', 'UNKNOWN_FEDERATION']),
  message: z.string(),
});
export type SessionClosed = z.infer<typeof sessionClosedSchema>;

/** `site:ready`: the site has its data encoded and its encoder matches; it counts towards quorum. */
export const siteReadySchema = z.strictObject({
  encoderHash: z.string().min(1).max(200),
  trainSamples: z.int().min(0).max(MAX_SAMPLE_COUNT),
  testSamples: z.int().min(0).max(MAX_SAMPLE_COUNT),
});
export type SiteReady = z.infer<typeof siteReadySchema>;
export const siteReadyAckSchema = ackSchema({ round: roundUpdateSchema });

/** What a site is doing, shown on the dashboard. */
export const SITE_PHASES = [
  'connecting',
  'loading',
  'encoding',
  'ready',
  'waiting',
  'downloading',
  'training',
  'evaluating',
  'submitting',
  'submitted',
  'paused',
  'finished',
  'stopped',
  'error',
] as const;
export const sitePhaseSchema = z.enum(SITE_PHASES);
export type SitePhase = z.infer<typeof sitePhaseSchema>;

/** `site:status`: progress report (fire and forget; acked when the client asks). */
export const siteStatusSchema = z.strictObject({
  phase: sitePhaseSchema,
  /** 0..1 within the phase, null when unknown. */
  progress: z.number().min(0).max(1).nullable(),
  round: z.int().min(0).nullable(),
  message: z.string().max(300).nullable(),
});
export type SiteStatus = z.infer<typeof siteStatusSchema>;
export const siteStatusAckSchema = ackSchema({});

/** `features:get`: the federation's text features [C, D] and reference features [N, D], as one tensor file. */
export const featuresRequestSchema = z.strictObject({});
export const featuresAckSchema = ackSchema({ checksum: z.string(), data: binarySchema });
/** Tensor names inside the features file. */
export const FEATURE_TENSOR_NAMES = { text: 'text', reference: 'reference' } as const;

/** `model:get`: the global model published after `round` (0: the initial model), as a tensor file (float32). */
export const modelRequestSchema = z.strictObject({ round: z.int().min(0) });
export type ModelRequest = z.infer<typeof modelRequestSchema>;
export const modelAckSchema = ackSchema({ round: z.int().min(0), checksum: z.string(), data: binarySchema });

/** `round:submit`: the site's module state after local training on `sampleCount` samples. */
export const submissionSchema = z.strictObject({
  federationId: federationIdSchema,
  round: z.int().min(1),
  sampleCount: z.int().min(1).max(MAX_SAMPLE_COUNT),
  /** Tensor file (float32 or float16) of the module state. */
  weights: binarySchema,
  metrics: siteRoundMetricsSchema,
});
export type Submission = z.input<typeof submissionSchema>;
export type ParsedSubmission = z.output<typeof submissionSchema>;
export const submissionAckSchema = ackSchema({ round: z.int(), checksum: z.string(), duplicate: z.boolean() });
