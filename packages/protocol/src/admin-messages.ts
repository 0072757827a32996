/** Messages between the admin dashboard and the coordinator on the `/admin` namespace, and REST bodies. */
import { z } from 'zod';
import { ackSchema } from './ack.ts';
import {
  encoderIdentitySchema,
  evalMetricsSchema,
  federationConfigSchema,
  federationIdSchema,
  federationStatusSchema,
  roundStatusSchema,
  siteIdSchema,
  siteRoundMetricsSchema,
} from './federation.ts';
import { privacySpentSchema } from './privacy-settings.ts';
import { sitePhaseSchema } from './site-messages.ts';

/** `auth` of the Socket.IO handshake on `/admin`. */
export const adminHandshakeSchema = z.strictObject({
  protocolVersion: z.int().min(0),
  adminToken: z.string().min(1).max(512),
});
export type AdminHandshake = z.infer<typeof adminHandshakeSchema>;

/** One federation in lists and live updates. */
export const federationSummarySchema = z.strictObject({
  id: federationIdSchema,
  name: z.string(),
  status: federationStatusSchema,
  pausedFrom: federationStatusSchema.nullable(),
  round: z.int().min(0),
  totalRounds: z.int().min(1),
  deadline: z.number().nullable(),
  quorum: z.int().min(1),
  method: z.string(),
  classNames: z.array(z.string()),
  isDemo: z.boolean(),
  sitesTotal: z.int().min(0),
  sitesOnline: z.int().min(0),
  sitesReady: z.int().min(0),
  participants: z.int().min(0),
  submissions: z.int().min(0),
  latestModelRound: z.int().min(0),
  /** Global test metrics of the newest global model that has them (null without a global test set). */
  latestGlobalMetrics: evalMetricsSchema.nullable(),
  /** Differential privacy spent so far and the budget (null without differential privacy). */
  privacy: privacySpentSchema.nullable(),
  createdAt: z.number(),
  updatedAt: z.number(),
});
export type FederationSummary = z.infer<typeof federationSummarySchema>;

/** `GET /api/federations/:id`. */
export const federationDetailSchema = z.strictObject({
  summary: federationSummarySchema,
  config: federationConfigSchema,
});
export type FederationDetail = z.infer<typeof federationDetailSchema>;

/** Body of `POST /api/demo/runs`: a fresh run of the coordinator's demo federation (its settings are fixed). */
export const startDemoRunRequestSchema = z.strictObject({
  /** Steps per local round of this run (default the demo's, the paper's 199): a shorter demo for a slow machine or a test. */
  stepsPerRound: z.int().min(1).max(1_000_000).optional(),
});
export type StartDemoRunRequest = z.infer<typeof startDemoRunRequestSchema>;

/**
 * One of a demo run's hospitals: an invite whose link (with `demo=<index>`) opens a tab that generates that
 * hospital's images. The coordinator can give the link again (its token is derived from a secret it keeps), so the
 * links printed by `npm start` and those on the landing page are the same three hospitals.
 */
export const demoHospitalSchema = z.strictObject({
  siteId: siteIdSchema,
  name: z.string(),
  index: z.int().min(0),
  link: z.string(),
});
export type DemoHospital = z.infer<typeof demoHospitalSchema>;

/** A demo run: its federation and its demo hospitals. */
export const demoRunSchema = z.strictObject({
  federation: federationDetailSchema,
  hospitals: z.array(demoHospitalSchema),
});
export type DemoRun = z.infer<typeof demoRunSchema>;

/** `GET /api/demo/runs/current`: the current demo run (`demoFederationId` of `/api/info`), or null. */
export const currentDemoRunSchema = z.strictObject({ run: demoRunSchema.nullable() });
export type CurrentDemoRun = z.infer<typeof currentDemoRunSchema>;

/**
 * Answer of `POST /api/demo/runs`: the new run, now the current demo, and the run it replaced (stopped if it was
 * still going; it stays listed with its rounds and models), or null.
 */
export const demoRunStartedSchema = z.strictObject({
  run: demoRunSchema,
  previous: federationSummarySchema.nullable(),
});
export type DemoRunStarted = z.infer<typeof demoRunStartedSchema>;

/** One site (= one invite) with its live state. */
export const siteSummarySchema = z.strictObject({
  id: siteIdSchema,
  federationId: federationIdSchema,
  name: z.string(),
  createdAt: z.number(),
  revokedAt: z.number().nullable(),
  firstSeenAt: z.number().nullable(),
  lastSeenAt: z.number().nullable(),
  online: z.boolean(),
  ready: z.boolean(),
  phase: sitePhaseSchema.nullable(),
  progress: z.number().nullable(),
  phaseRound: z.int().nullable(),
  message: z.string().nullable(),
  client: z.string().nullable(),
  trainSamples: z.int().nullable(),
  testSamples: z.int().nullable(),
  submissions: z.int().min(0),
  /** A virtual hospital run by the coordinator itself (demo). */
  virtual: z.boolean(),
});
export type SiteSummary = z.infer<typeof siteSummarySchema>;

/** Body of `POST /api/federations/:id/invites`. */
export const createInviteRequestSchema = z.strictObject({
  /** Site name shown to admins, e.g. `Hospital A`. */
  name: z.string().trim().min(1).max(100),
});
export type CreateInviteRequest = z.infer<typeof createInviteRequestSchema>;

/** Answer of `POST /api/federations/:id/invites`: the token is shown this once (the coordinator keeps a hash). */
export const inviteCreatedSchema = z.strictObject({
  site: siteSummarySchema,
  token: z.string(),
  link: z.string(),
});
export type InviteCreated = z.infer<typeof inviteCreatedSchema>;

/** Body of `POST /api/federations/:id/virtual-sites` (demo hospitals run beside the coordinator). */
export const addVirtualSitesRequestSchema = z.strictObject({
  count: z.int().min(1).max(32),
  /** Training samples per virtual site (default 64). */
  samplesPerSite: z.int().min(4).max(10_000).optional(),
});
export type AddVirtualSitesRequest = z.infer<typeof addVirtualSitesRequestSchema>;
export const virtualSitesAddedSchema = z.strictObject({ sites: z.array(siteSummarySchema) });

/** One round in lists and live updates. */
export const roundSummarySchema = z.strictObject({
  federationId: federationIdSchema,
  round: z.int().min(1),
  status: roundStatusSchema,
  startedAt: z.number(),
  deadline: z.number().nullable(),
  closedAt: z.number().nullable(),
  publishedAt: z.number().nullable(),
  participants: z.array(siteIdSchema),
  submissions: z.int().min(0),
  totalSamples: z.int().min(0),
  /** Deadline extensions because too few sites had submitted. */
  extensions: z.int().min(0),
  bytesReceived: z.int().min(0),
  bytesSent: z.int().min(0),
  /** Coordinator time from the last accepted submission to the published global model (ms). */
  aggregationMs: z.number().nullable(),
  globalMetrics: evalMetricsSchema.nullable(),
  modelChecksum: z.string().nullable(),
});
export type RoundSummary = z.infer<typeof roundSummarySchema>;

/** One accepted submission with its metrics (per round, per site). */
export const submissionSummarySchema = z.strictObject({
  federationId: federationIdSchema,
  round: z.int().min(1),
  siteId: siteIdSchema,
  siteName: z.string(),
  sampleCount: z.int().min(1),
  bytes: z.int().min(0),
  dtype: z.enum(['float32', 'float16', 'int8', 'mixed']),
  checksum: z.string(),
  receivedAt: z.number(),
  metrics: siteRoundMetricsSchema,
});
export type SubmissionSummary = z.infer<typeof submissionSummarySchema>;

/** `GET /api/federations/:id/rounds/:round`. */
export const roundDetailSchema = z.strictObject({
  summary: roundSummarySchema,
  submissions: z.array(submissionSummarySchema),
});
export type RoundDetail = z.infer<typeof roundDetailSchema>;

export const auditEntrySchema = z.strictObject({
  id: z.int(),
  at: z.number(),
  /** `admin`, `site:<id>`, `coordinator`. */
  actor: z.string(),
  action: z.string(),
  federationId: z.string().nullable(),
  details: z.record(z.string(), z.unknown()),
});
export type AuditEntry = z.infer<typeof auditEntrySchema>;

/** `GET /api/info` (public): what a page needs before it connects. */
export const coordinatorInfoSchema = z.strictObject({
  service: z.literal('facmic-coordinator'),
  version: z.string(),
  protocolVersion: z.int(),
  minProtocolVersion: z.int(),
  encoder: encoderIdentitySchema.extend({
    /** Where the encoder came from: `FACMIC_MODEL`, the models mirror, or the generated tiny CLIP. */
    source: z.enum(['env', 'mirror', 'tiny']),
    /** Plain words on what it means for accuracy. */
    note: z.string(),
  }),
  /** Id of the current demo run (created on first start, replaced by `POST /api/demo/runs`), if it still exists. */
  demoFederationId: federationIdSchema.nullable(),
  /** URL paths the web app loads from: model mirror and ONNX Runtime's wasm files. */
  paths: z.strictObject({ models: z.string(), ort: z.string() }),
});
export type CoordinatorInfo = z.infer<typeof coordinatorInfoSchema>;

/** `GET /healthz`. */
export const healthSchema = z.strictObject({ ok: z.boolean(), uptimeSeconds: z.number(), federations: z.int() });
export type Health = z.infer<typeof healthSchema>;

/** Admin namespace requests. */
export const federationListRequestSchema = z.strictObject({});
export const federationListAckSchema = ackSchema({ federations: z.array(federationSummarySchema) });
export const federationGetRequestSchema = z.strictObject({ federationId: federationIdSchema });
export const federationGetAckSchema = ackSchema({
  federation: federationSummarySchema,
  sites: z.array(siteSummarySchema),
  rounds: z.array(roundSummarySchema),
});
export const federationDeletedSchema = z.strictObject({ federationId: federationIdSchema });
