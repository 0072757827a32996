/**
 * SQLite store (better-sqlite3 12): one file, WAL journal, `synchronous = FULL` (an acknowledged submission survives
 * a `kill -9` and a power cut), foreign keys on, schema versioned with `PRAGMA user_version` and applied by
 * the migrations of `migrations.ts` in order inside a transaction; rows and records are mapped in `sqlite-rows.ts`.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { crc32Hex, type AuditEntry, type EvalMetrics } from '@facmic/protocol';
import Database from 'better-sqlite3';
import { migrate } from './migrations.ts';
import { createPrivacyStore, type PrivacyStore } from './privacy-store.ts';
import {
  auditFromRow,
  federationFromRow,
  globalModelFromRow,
  roundFromRow,
  siteFromRow,
  submissionFromRow,
  toBytes,
  type AuditRow,
  type FederationRow,
  type GlobalModelRow,
  type RoundRow,
  type SiteRow,
  type SubmissionRow,
} from './sqlite-rows.ts';
import type {
  CoordinatorStore,
  FederationRecord,
  FederationSettingsRecord,
  FederationStateRecord,
  GlobalModelRecord,
  NewAuditEntry,
  RoundRecord,
  SiteRecord,
  SubmissionRecord,
  TrafficRecord,
} from './store.ts';
import { StoreError } from './store-error.ts';
import { INSERT_SUBMISSION_SQL, PRUNE_WEIGHTS_SQL, submissionRowValues } from './submission-row.ts';

export { MIGRATIONS, SCHEMA_VERSION } from './migrations.ts';
export { StoreError } from './store-error.ts';

/** Opens (creating and migrating when needed) the store at `location`, a file path or `:memory:`. */
export function openSqliteStore(location: string): CoordinatorStore {
  if (location !== ':memory:') mkdirSync(dirname(location), { recursive: true });
  const db = new Database(location);
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.pragma('foreign_keys = ON');
    db.pragma('busy_timeout = 5000');
    migrate(db);
  } catch (error) {
    db.close();
    throw error;
  }
  return new SqliteStore(db, location);
}

class SqliteStore implements CoordinatorStore {
  private readonly statements = new Map<string, Database.Statement>();
  private submissionSeq: number;
  readonly privacy: PrivacyStore;

  constructor(
    private readonly db: Database.Database,
    readonly location: string,
  ) {
    const row = db.prepare('SELECT COALESCE(MAX(seq), 0) AS seq FROM submissions').get() as { seq: number };
    this.submissionSeq = row.seq;
    this.privacy = createPrivacyStore(db);
  }

  private stmt(sql: string): Database.Statement {
    let statement = this.statements.get(sql);
    if (!statement) {
      statement = this.db.prepare(sql);
      this.statements.set(sql, statement);
    }
    return statement;
  }

  transaction<T>(fn: () => T): T {
    if (this.db.inTransaction) return fn();
    return this.db.transaction(fn).immediate();
  }

  getSetting(key: string): string | null {
    const row = this.stmt('SELECT value FROM settings WHERE key = ?').get(key) as { value: string } | undefined;
    return row?.value ?? null;
  }

  setSetting(key: string, value: string): void {
    this.stmt('INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value').run(key, value);
  }

  insertFederation(record: FederationRecord, features: Uint8Array, globalTest: Uint8Array | null): void {
    this.transaction(() => {
      this.stmt(
        `INSERT INTO federations (id, settings_json, encoder_json, features_checksum, reference_count, has_global_test, is_demo,
           status, paused_from, round, deadline, paused_remaining_ms, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ).run(
        record.id,
        JSON.stringify(record.settings),
        JSON.stringify(record.encoder),
        record.featuresChecksum,
        record.referenceCount,
        record.hasGlobalTest ? 1 : 0,
        record.isDemo ? 1 : 0,
        record.status,
        record.pausedFrom,
        record.round,
        record.deadline,
        record.pausedRemainingMs,
        record.createdAt,
        record.updatedAt,
      );
      this.stmt('INSERT INTO federation_data (federation_id, features, global_test) VALUES (?, ?, ?)').run(
        record.id,
        Buffer.from(features.buffer, features.byteOffset, features.byteLength),
        globalTest ? Buffer.from(globalTest.buffer, globalTest.byteOffset, globalTest.byteLength) : null,
      );
    });
  }

  getFederation(id: string): FederationRecord | null {
    const row = this.stmt('SELECT * FROM federations WHERE id = ?').get(id) as FederationRow | undefined;
    return row ? federationFromRow(row) : null;
  }

  listFederations(): FederationRecord[] {
    return (this.stmt('SELECT * FROM federations ORDER BY created_at, id').all() as FederationRow[]).map(federationFromRow);
  }

  updateFederationState(id: string, state: FederationStateRecord, updatedAt: number): void {
    const result = this.stmt(
      'UPDATE federations SET status = ?, paused_from = ?, round = ?, deadline = ?, paused_remaining_ms = ?, updated_at = ? WHERE id = ?',
    ).run(state.status, state.pausedFrom, state.round, state.deadline, state.pausedRemainingMs, updatedAt, id);
    if (result.changes !== 1) throw new StoreError(`no federation ${id}`);
  }

  updateFederationSettings(id: string, settings: FederationSettingsRecord, updatedAt: number): void {
    const result = this.stmt('UPDATE federations SET settings_json = ?, updated_at = ? WHERE id = ?').run(JSON.stringify(settings), updatedAt, id);
    if (result.changes !== 1) throw new StoreError(`no federation ${id}`);
  }

  deleteFederation(id: string): void {
    this.stmt('DELETE FROM federations WHERE id = ?').run(id);
  }

  getFederationFeatures(id: string): Uint8Array | null {
    const row = this.stmt('SELECT features FROM federation_data WHERE federation_id = ?').get(id) as { features: Buffer } | undefined;
    return row ? toBytes(row.features) : null;
  }

  getGlobalTest(id: string): Uint8Array | null {
    const row = this.stmt('SELECT global_test FROM federation_data WHERE federation_id = ?').get(id) as { global_test: Buffer | null } | undefined;
    return row?.global_test ? toBytes(row.global_test) : null;
  }

  insertSite(record: SiteRecord): void {
    this.stmt(
      `INSERT INTO sites (id, federation_id, name, token_hash, created_at, revoked_at, first_seen_at, last_seen_at, client, virtual)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ).run(
      record.id,
      record.federationId,
      record.name,
      record.tokenHash,
      record.createdAt,
      record.revokedAt,
      record.firstSeenAt,
      record.lastSeenAt,
      record.client,
      record.virtual ? 1 : 0,
    );
  }

  getSite(id: string): SiteRecord | null {
    const row = this.stmt('SELECT * FROM sites WHERE id = ?').get(id) as SiteRow | undefined;
    return row ? siteFromRow(row) : null;
  }

  findSiteByTokenHash(tokenHash: string): SiteRecord | null {
    const row = this.stmt('SELECT * FROM sites WHERE token_hash = ?').get(tokenHash) as SiteRow | undefined;
    return row ? siteFromRow(row) : null;
  }

  listSites(federationId: string): SiteRecord[] {
    return (this.stmt('SELECT * FROM sites WHERE federation_id = ? ORDER BY created_at, id').all(federationId) as SiteRow[]).map(siteFromRow);
  }

  listRevokedSiteIds(federationId: string): string[] {
    return (this.stmt('SELECT id FROM sites WHERE federation_id = ? AND revoked_at IS NOT NULL').all(federationId) as { id: string }[]).map((r) => r.id);
  }

  updateSite(id: string, patch: Partial<Pick<SiteRecord, 'revokedAt' | 'firstSeenAt' | 'lastSeenAt' | 'client' | 'name'>>): void {
    const columns: Record<string, string> = { revokedAt: 'revoked_at', firstSeenAt: 'first_seen_at', lastSeenAt: 'last_seen_at', client: 'client', name: 'name' };
    const entries = Object.entries(patch).filter(([k, v]) => k in columns && (v as unknown) !== undefined);
    if (entries.length === 0) return;
    const sql = `UPDATE sites SET ${entries.map(([k]) => `${columns[k] as string} = ?`).join(', ')} WHERE id = ?`;
    this.stmt(sql).run(...entries.map(([, v]) => v), id);
  }

  insertRound(record: RoundRecord): void {
    this.stmt(
      `INSERT INTO rounds (federation_id, round, status, started_at, deadline, closed_at, published_at, participants_json, extensions,
         last_submission_at, aggregation_ms)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ).run(
      record.federationId,
      record.round,
      record.status,
      record.startedAt,
      record.deadline,
      record.closedAt,
      record.publishedAt,
      JSON.stringify(record.participants),
      record.extensions,
      record.lastSubmissionAt,
      record.aggregationMs,
    );
  }

  getRound(federationId: string, round: number): RoundRecord | null {
    const row = this.stmt('SELECT * FROM rounds WHERE federation_id = ? AND round = ?').get(federationId, round) as RoundRow | undefined;
    return row ? roundFromRow(row) : null;
  }

  listRounds(federationId: string): RoundRecord[] {
    return (this.stmt('SELECT * FROM rounds WHERE federation_id = ? ORDER BY round').all(federationId) as RoundRow[]).map(roundFromRow);
  }

  updateRound(federationId: string, round: number, patch: Partial<Omit<RoundRecord, 'federationId' | 'round'>>): void {
    const columns: Record<string, string> = {
      status: 'status',
      startedAt: 'started_at',
      deadline: 'deadline',
      closedAt: 'closed_at',
      publishedAt: 'published_at',
      participants: 'participants_json',
      extensions: 'extensions',
      lastSubmissionAt: 'last_submission_at',
      aggregationMs: 'aggregation_ms',
    };
    const entries = Object.entries(patch).filter(([k, v]) => k in columns && (v as unknown) !== undefined);
    if (entries.length === 0) return;
    const sql = `UPDATE rounds SET ${entries.map(([k]) => `${columns[k] as string} = ?`).join(', ')} WHERE federation_id = ? AND round = ?`;
    const values = entries.map(([k, v]) => (k === 'participants' ? JSON.stringify(v) : (v as string | number | null)));
    const result = this.stmt(sql).run(...values, federationId, round);
    if (result.changes !== 1) throw new StoreError(`no round ${round} in federation ${federationId}`);
  }

  addTraffic(federationId: string, round: number, traffic: TrafficRecord): void {
    this.stmt(
      `INSERT INTO traffic (federation_id, round, bytes_received, bytes_sent) VALUES (?, ?, ?, ?)
       ON CONFLICT(federation_id, round) DO UPDATE SET bytes_received = bytes_received + excluded.bytes_received,
         bytes_sent = bytes_sent + excluded.bytes_sent`,
    ).run(federationId, round, traffic.bytesReceived, traffic.bytesSent);
  }

  getTraffic(federationId: string, round: number): TrafficRecord {
    const row = this.stmt('SELECT bytes_received, bytes_sent FROM traffic WHERE federation_id = ? AND round = ?').get(federationId, round) as
      | { bytes_received: number; bytes_sent: number }
      | undefined;
    return { bytesReceived: row?.bytes_received ?? 0, bytesSent: row?.bytes_sent ?? 0 };
  }

  insertSubmission(record: SubmissionRecord): void {
    this.stmt(INSERT_SUBMISSION_SQL).run(...submissionRowValues(record, this.reserveSubmissionSeq()));
  }

  reserveSubmissionSeq(): number {
    this.submissionSeq += 1;
    return this.submissionSeq;
  }

  getSubmission(federationId: string, round: number, siteId: string): SubmissionRecord | null {
    const row = this.stmt('SELECT * FROM submissions WHERE federation_id = ? AND round = ? AND site_id = ?').get(federationId, round, siteId) as
      | SubmissionRow
      | undefined;
    return row ? submissionFromRow(row) : null;
  }

  listSubmissions(federationId: string, round: number, options: { withWeights?: boolean } = {}): SubmissionRecord[] {
    const columns = options.withWeights === true ? '*' : 'federation_id, round, site_id, sample_count, checksum, bytes, dtype, metrics_json, received_at';
    return (this.stmt(`SELECT ${columns} FROM submissions WHERE federation_id = ? AND round = ? ORDER BY seq`).all(federationId, round) as SubmissionRow[]).map(
      submissionFromRow,
    );
  }

  listSubmitters(federationId: string, round: number): string[] {
    return (this.stmt('SELECT site_id FROM submissions WHERE federation_id = ? AND round = ? ORDER BY seq').all(federationId, round) as { site_id: string }[]).map((r) => r.site_id);
  }

  countSubmissionsBySite(federationId: string): Map<string, number> {
    const rows = this.stmt('SELECT site_id, COUNT(*) AS n FROM submissions WHERE federation_id = ? GROUP BY site_id').all(federationId) as { site_id: string; n: number }[];
    return new Map(rows.map((r) => [r.site_id, r.n]));
  }

  pruneSubmissionWeights(federationId: string, beforeRound: number): number {
    return this.stmt(PRUNE_WEIGHTS_SQL).run(federationId, beforeRound).changes;
  }

  insertGlobalModel(record: GlobalModelRecord): void {
    this.stmt(
      `INSERT INTO global_models (federation_id, round, weights, checksum, contributors_json, total_samples, metrics_json, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    ).run(
      record.federationId,
      record.round,
      Buffer.from(record.weights.buffer, record.weights.byteOffset, record.weights.byteLength),
      record.checksum,
      JSON.stringify(record.contributors),
      record.totalSamples,
      record.metrics ? JSON.stringify(record.metrics) : null,
      record.createdAt,
    );
  }

  getGlobalModel(federationId: string, round: number): GlobalModelRecord | null {
    const row = this.stmt('SELECT * FROM global_models WHERE federation_id = ? AND round = ?').get(federationId, round) as GlobalModelRow | undefined;
    if (!row?.weights) return null;
    return globalModelFromRow(row) as GlobalModelRecord;
  }

  listGlobalModels(federationId: string): Omit<GlobalModelRecord, 'weights'>[] {
    return (
      this.stmt(
        'SELECT federation_id, round, checksum, contributors_json, total_samples, metrics_json, created_at FROM global_models WHERE federation_id = ? ORDER BY round',
      ).all(federationId) as GlobalModelRow[]
    ).map(globalModelFromRow);
  }

  setGlobalModelMetrics(federationId: string, round: number, metrics: EvalMetrics): void {
    this.stmt('UPDATE global_models SET metrics_json = ? WHERE federation_id = ? AND round = ?').run(JSON.stringify(metrics), federationId, round);
  }

  appendAudit(entry: NewAuditEntry): AuditEntry {
    const result = this.stmt('INSERT INTO audit_log (at, actor, action, federation_id, details_json) VALUES (?, ?, ?, ?, ?)').run(
      entry.at,
      entry.actor,
      entry.action,
      entry.federationId,
      JSON.stringify(entry.details),
    );
    return { ...entry, id: Number(result.lastInsertRowid) };
  }

  listAudit(filter: { federationId?: string; limit: number; beforeId?: number }): AuditEntry[] {
    const where: string[] = [];
    const params: (string | number)[] = [];
    if (filter.federationId !== undefined) {
      where.push('federation_id = ?');
      params.push(filter.federationId);
    }
    if (filter.beforeId !== undefined) {
      where.push('id < ?');
      params.push(filter.beforeId);
    }
    const sql = `SELECT * FROM audit_log ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT ?`;
    return (this.stmt(sql).all(...params, filter.limit) as AuditRow[]).map(auditFromRow);
  }

  snapshot(): Record<string, unknown[]> {
    const tables = (this.db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name").all() as { name: string }[]).map(
      (t) => t.name,
    );
    const out: Record<string, unknown[]> = {};
    for (const table of tables) {
      const rows = this.db.prepare(`SELECT * FROM "${table}" ORDER BY rowid`).all() as Record<string, unknown>[];
      out[table] = rows.map((row) =>
        Object.fromEntries(Object.entries(row).map(([k, v]) => [k, Buffer.isBuffer(v) ? `blob:${v.byteLength}:${crc32Hex(toBytes(v))}` : v])),
      );
    }
    return out;
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}
