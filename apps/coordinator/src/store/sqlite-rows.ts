/** Rows of the SQLite tables and their records (`store.ts`). */
import { NO_PRIVACY, type AuditEntry, type EvalMetrics, type SiteRoundMetrics } from '@facmic/protocol';
import type { FederationRecord, FederationSettingsRecord, GlobalModelRecord, RoundRecord, SiteRecord, SubmissionRecord } from './store.ts';

export interface FederationRow {
  id: string;
  settings_json: string;
  encoder_json: string;
  features_checksum: string;
  reference_count: number;
  has_global_test: number;
  is_demo: number;
  status: string;
  paused_from: string | null;
  round: number;
  deadline: number | null;
  paused_remaining_ms: number | null;
  created_at: number;
  updated_at: number;
}
export interface SiteRow {
  id: string;
  federation_id: string;
  name: string;
  token_hash: string;
  created_at: number;
  revoked_at: number | null;
  first_seen_at: number | null;
  last_seen_at: number | null;
  client: string | null;
  virtual: number;
}
export interface RoundRow {
  federation_id: string;
  round: number;
  status: string;
  started_at: number;
  deadline: number | null;
  closed_at: number | null;
  published_at: number | null;
  participants_json: string;
  extensions: number;
  last_submission_at: number | null;
  aggregation_ms: number | null;
}
export interface SubmissionRow {
  federation_id: string;
  round: number;
  site_id: string;
  sample_count: number;
  weights?: Buffer | null;
  checksum: string;
  bytes: number;
  dtype: string;
  metrics_json: string;
  received_at: number;
}
export interface GlobalModelRow {
  federation_id: string;
  round: number;
  weights?: Buffer;
  checksum: string;
  contributors_json: string;
  total_samples: number;
  metrics_json: string | null;
  created_at: number;
}
export interface AuditRow {
  id: number;
  at: number;
  actor: string;
  action: string;
  federation_id: string | null;
  details_json: string;
}

export const toBytes = (b: Buffer): Uint8Array => new Uint8Array(b.buffer, b.byteOffset, b.byteLength);

export function federationFromRow(row: FederationRow): FederationRecord {
  return {
    id: row.id,
    // Settings added later read with their neutral value in rows written before them.
    settings: { minRoundSeconds: 0, privacy: NO_PRIVACY, ...(JSON.parse(row.settings_json) as Partial<FederationSettingsRecord>) } as FederationSettingsRecord,
    encoder: JSON.parse(row.encoder_json) as FederationRecord['encoder'],
    featuresChecksum: row.features_checksum,
    referenceCount: row.reference_count,
    hasGlobalTest: row.has_global_test === 1,
    isDemo: row.is_demo === 1,
    status: row.status as FederationRecord['status'],
    pausedFrom: row.paused_from as FederationRecord['pausedFrom'],
    round: row.round,
    deadline: row.deadline,
    pausedRemainingMs: row.paused_remaining_ms,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

export function siteFromRow(row: SiteRow): SiteRecord {
  return {
    id: row.id,
    federationId: row.federation_id,
    name: row.name,
    tokenHash: row.token_hash,
    createdAt: row.created_at,
    revokedAt: row.revoked_at,
    firstSeenAt: row.first_seen_at,
    lastSeenAt: row.last_seen_at,
    client: row.client,
    virtual: row.virtual === 1,
  };
}

export function roundFromRow(row: RoundRow): RoundRecord {
  return {
    federationId: row.federation_id,
    round: row.round,
    status: row.status as RoundRecord['status'],
    startedAt: row.started_at,
    deadline: row.deadline,
    closedAt: row.closed_at,
    publishedAt: row.published_at,
    participants: JSON.parse(row.participants_json) as string[],
    extensions: row.extensions,
    lastSubmissionAt: row.last_submission_at,
    aggregationMs: row.aggregation_ms,
  };
}

export function submissionFromRow(row: SubmissionRow): SubmissionRecord {
  return {
    federationId: row.federation_id,
    round: row.round,
    siteId: row.site_id,
    sampleCount: row.sample_count,
    weights: row.weights ? toBytes(row.weights) : null,
    checksum: row.checksum,
    bytes: row.bytes,
    dtype: row.dtype as SubmissionRecord['dtype'],
    metrics: JSON.parse(row.metrics_json) as SiteRoundMetrics,
    receivedAt: row.received_at,
  };
}

export function globalModelFromRow(row: GlobalModelRow): Omit<GlobalModelRecord, 'weights'> & { weights?: Uint8Array } {
  return {
    federationId: row.federation_id,
    round: row.round,
    ...(row.weights ? { weights: toBytes(row.weights) } : {}),
    checksum: row.checksum,
    contributors: JSON.parse(row.contributors_json) as string[],
    totalSamples: row.total_samples,
    metrics: row.metrics_json === null ? null : (JSON.parse(row.metrics_json) as EvalMetrics),
    createdAt: row.created_at,
  };
}

export function auditFromRow(row: AuditRow): AuditEntry {
  return {
    id: row.id,
    at: row.at,
    actor: row.actor,
    action: row.action,
    federationId: row.federation_id,
    details: JSON.parse(row.details_json) as Record<string, unknown>,
  };
}
