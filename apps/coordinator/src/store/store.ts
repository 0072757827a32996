/**
 * The coordinator's storage, behind a small synchronous interface (better-sqlite3 is synchronous: every transition is
 * on disk before the coordinator announces it). One implementation, SQLite (`sqlite-store.ts`); tests use the same
 * one on a temporary file or `:memory:`.
 */
import type {
  AuditEntry,
  EncoderIdentity,
  EvalMetrics,
  FederatedMethod,
  FederationStatus,
  PrivacySettings,
  RoundStatus,
  SiteRoundMetrics,
  TrainingSettings,
} from '@facmic/protocol';
import type { PrivacyStore } from './privacy-store.ts';

/** What an admin chose at creation (and may partly change later). */
export interface FederationSettingsRecord {
  name: string;
  classNames: string[];
  promptTemplate: string;
  method: FederatedMethod;
  rounds: number;
  training: TrainingSettings;
  quorum: number;
  roundDeadlineSeconds: number;
  /** Shortest round in seconds (0: none). Federations stored before this setting existed read as 0. */
  minRoundSeconds: number;
  /** Secure aggregation, differential privacy, update encoding. Federations stored before read as none (all off). */
  privacy: PrivacySettings;
}

/** The federation's place in its life cycle. */
export interface FederationStateRecord {
  status: FederationStatus;
  /** The state `paused` came from. */
  pausedFrom: FederationStatus | null;
  /** Open round (training / aggregating), or last published round (waiting / finished / stopped); 0 before any. */
  round: number;
  /** Deadline of the open round (epoch ms). */
  deadline: number | null;
  /** Time the open round had left when paused (ms). */
  pausedRemainingMs: number | null;
}

export interface FederationRecord extends FederationStateRecord {
  id: string;
  settings: FederationSettingsRecord;
  encoder: EncoderIdentity;
  featuresChecksum: string;
  referenceCount: number;
  hasGlobalTest: boolean;
  isDemo: boolean;
  createdAt: number;
  updatedAt: number;
}

export interface SiteRecord {
  id: string;
  federationId: string;
  name: string;
  /** SHA-256 (hex) of the site token; the token itself is never stored. */
  tokenHash: string;
  createdAt: number;
  revokedAt: number | null;
  firstSeenAt: number | null;
  lastSeenAt: number | null;
  client: string | null;
  virtual: boolean;
}

export interface RoundRecord {
  federationId: string;
  round: number;
  status: RoundStatus;
  startedAt: number;
  deadline: number | null;
  closedAt: number | null;
  publishedAt: number | null;
  participants: string[];
  extensions: number;
  /** Time of the last accepted submission (start of the aggregation-time measurement). */
  lastSubmissionAt: number | null;
  /** Wall time from the last accepted submission to publication, measured by the coordinator (ms). */
  aggregationMs: number | null;
}

export interface SubmissionRecord {
  federationId: string;
  round: number;
  siteId: string;
  sampleCount: number;
  /** The tensor file as received (null once pruned). */
  weights: Uint8Array | null;
  checksum: string;
  bytes: number;
  dtype: 'float32' | 'float16' | 'int8' | 'mixed';
  metrics: SiteRoundMetrics;
  receivedAt: number;
}

export interface GlobalModelRecord {
  federationId: string;
  round: number;
  /** float32 tensor file. */
  weights: Uint8Array;
  checksum: string;
  contributors: string[];
  totalSamples: number;
  metrics: EvalMetrics | null;
  createdAt: number;
}

export interface TrafficRecord {
  bytesReceived: number;
  bytesSent: number;
}

export type NewAuditEntry = Omit<AuditEntry, 'id'>;

export interface CoordinatorStore {
  /** Where the data lives (a file path, or `:memory:`). */
  readonly location: string;
  /** Runs `fn` in one transaction (nested calls join the outer one). */
  transaction<T>(fn: () => T): T;

  getSetting(key: string): string | null;
  setSetting(key: string, value: string): void;

  insertFederation(record: FederationRecord, features: Uint8Array, globalTest: Uint8Array | null): void;
  getFederation(id: string): FederationRecord | null;
  listFederations(): FederationRecord[];
  updateFederationState(id: string, state: FederationStateRecord, updatedAt: number): void;
  updateFederationSettings(id: string, settings: FederationSettingsRecord, updatedAt: number): void;
  deleteFederation(id: string): void;
  /** Tensor file with `text` [C, D] and `reference` [N, D]. */
  getFederationFeatures(id: string): Uint8Array | null;
  /** Tensor file with `features` [N, D] and `labels` [N], or null without a global test set. */
  getGlobalTest(id: string): Uint8Array | null;

  insertSite(record: SiteRecord): void;
  getSite(id: string): SiteRecord | null;
  findSiteByTokenHash(tokenHash: string): SiteRecord | null;
  listSites(federationId: string): SiteRecord[];
  /** Ids of the federation's revoked sites (the close check runs after every update: not every site's row). */
  listRevokedSiteIds(federationId: string): string[];
  updateSite(id: string, patch: Partial<Pick<SiteRecord, 'revokedAt' | 'firstSeenAt' | 'lastSeenAt' | 'client' | 'name'>>): void;

  insertRound(record: RoundRecord): void;
  getRound(federationId: string, round: number): RoundRecord | null;
  listRounds(federationId: string): RoundRecord[];
  updateRound(federationId: string, round: number, patch: Partial<Omit<RoundRecord, 'federationId' | 'round'>>): void;
  addTraffic(federationId: string, round: number, traffic: TrafficRecord): void;
  getTraffic(federationId: string, round: number): TrafficRecord;

  insertSubmission(record: SubmissionRecord): void;
  /** The next arrival number of a submission (its order in the round), for a row written by the submission worker. */
  reserveSubmissionSeq(): number;
  getSubmission(federationId: string, round: number, siteId: string): SubmissionRecord | null;
  /** Submissions of a round in order of arrival. */
  listSubmissions(federationId: string, round: number, options?: { withWeights?: boolean }): SubmissionRecord[];
  /** Site ids of a round's submissions in order of arrival (what round checks and views need, read from an index). */
  listSubmitters(federationId: string, round: number): string[];
  countSubmissionsBySite(federationId: string): Map<string, number>;
  /** Drops the weights (keeps the metadata) of submissions to rounds before `beforeRound`. */
  pruneSubmissionWeights(federationId: string, beforeRound: number): number;

  insertGlobalModel(record: GlobalModelRecord): void;
  getGlobalModel(federationId: string, round: number): GlobalModelRecord | null;
  /** Every global model without its weights. */
  listGlobalModels(federationId: string): Omit<GlobalModelRecord, 'weights'>[];
  setGlobalModelMetrics(federationId: string, round: number, metrics: EvalMetrics): void;

  appendAudit(entry: NewAuditEntry): AuditEntry;
  listAudit(filter: { federationId?: string; limit: number; beforeId?: number }): AuditEntry[];

  /** Every row of every table, blobs replaced by their checksum (tests compare snapshots). */
  snapshot(): Record<string, unknown[]>;
  /** Secure aggregation sessions and the privacy ledger (`privacy-store.ts`). */
  readonly privacy: PrivacyStore;
  close(): void;
}
