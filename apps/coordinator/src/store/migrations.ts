/**
 * The SQLite schema, versioned with `PRAGMA user_version`: {@link MIGRATIONS} applied in order, each in a transaction.
 */
import type Database from 'better-sqlite3';
import { StoreError } from './store-error.ts';

/** Schema migrations; index i moves `user_version` from i to i + 1. Never edit a released one: append. */
export const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT;
  CREATE TABLE federations (
    id TEXT PRIMARY KEY,
    settings_json TEXT NOT NULL,
    encoder_json TEXT NOT NULL,
    features_checksum TEXT NOT NULL,
    reference_count INTEGER NOT NULL,
    has_global_test INTEGER NOT NULL,
    is_demo INTEGER NOT NULL,
    status TEXT NOT NULL,
    paused_from TEXT,
    round INTEGER NOT NULL,
    deadline INTEGER,
    paused_remaining_ms INTEGER,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
  ) STRICT;
  CREATE TABLE federation_data (
    federation_id TEXT PRIMARY KEY REFERENCES federations(id) ON DELETE CASCADE,
    features BLOB NOT NULL,
    global_test BLOB
  ) STRICT;
  CREATE TABLE sites (
    id TEXT PRIMARY KEY,
    federation_id TEXT NOT NULL REFERENCES federations(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    created_at INTEGER NOT NULL,
    revoked_at INTEGER,
    first_seen_at INTEGER,
    last_seen_at INTEGER,
    client TEXT,
    virtual INTEGER NOT NULL
  ) STRICT;
  CREATE INDEX sites_by_federation ON sites(federation_id);
  CREATE TABLE rounds (
    federation_id TEXT NOT NULL REFERENCES federations(id) ON DELETE CASCADE,
    round INTEGER NOT NULL,
    status TEXT NOT NULL,
    started_at INTEGER NOT NULL,
    deadline INTEGER,
    closed_at INTEGER,
    published_at INTEGER,
    participants_json TEXT NOT NULL,
    extensions INTEGER NOT NULL,
    last_submission_at INTEGER,
    aggregation_ms REAL,
    PRIMARY KEY (federation_id, round)
  ) STRICT;
  CREATE TABLE traffic (
    federation_id TEXT NOT NULL REFERENCES federations(id) ON DELETE CASCADE,
    round INTEGER NOT NULL,
    bytes_received INTEGER NOT NULL,
    bytes_sent INTEGER NOT NULL,
    PRIMARY KEY (federation_id, round)
  ) STRICT;
  CREATE TABLE submissions (
    federation_id TEXT NOT NULL REFERENCES federations(id) ON DELETE CASCADE,
    round INTEGER NOT NULL,
    site_id TEXT NOT NULL REFERENCES sites(id) ON DELETE CASCADE,
    sample_count INTEGER NOT NULL,
    weights BLOB,
    checksum TEXT NOT NULL,
    bytes INTEGER NOT NULL,
    dtype TEXT NOT NULL,
    metrics_json TEXT NOT NULL,
    received_at INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    PRIMARY KEY (federation_id, round, site_id)
  ) STRICT;
  CREATE TABLE global_models (
    federation_id TEXT NOT NULL REFERENCES federations(id) ON DELETE CASCADE,
    round INTEGER NOT NULL,
    weights BLOB NOT NULL,
    checksum TEXT NOT NULL,
    contributors_json TEXT NOT NULL,
    total_samples INTEGER NOT NULL,
    metrics_json TEXT,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (federation_id, round)
  ) STRICT;
  CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at INTEGER NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    federation_id TEXT,
    details_json TEXT NOT NULL
  ) STRICT;
  CREATE INDEX audit_by_federation ON audit_log(federation_id, id);
  `,
  // 2: weight blobs last in their rows. SQLite reads a row's columns in order through its overflow pages, so with
  // the weights (2 MB) before checksum, metrics and times, every listing of submissions or global models read the
  // blobs too: at 50 rounds the dashboard waited seconds for its rounds and per-site metrics.
  `
  CREATE TABLE submissions_v2 (
    federation_id TEXT NOT NULL REFERENCES federations(id) ON DELETE CASCADE,
    round INTEGER NOT NULL,
    site_id TEXT NOT NULL REFERENCES sites(id) ON DELETE CASCADE,
    sample_count INTEGER NOT NULL,
    checksum TEXT NOT NULL,
    bytes INTEGER NOT NULL,
    dtype TEXT NOT NULL,
    metrics_json TEXT NOT NULL,
    received_at INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    weights BLOB,
    PRIMARY KEY (federation_id, round, site_id)
  ) STRICT;
  INSERT INTO submissions_v2 (federation_id, round, site_id, sample_count, checksum, bytes, dtype, metrics_json, received_at, seq, weights)
    SELECT federation_id, round, site_id, sample_count, checksum, bytes, dtype, metrics_json, received_at, seq, weights FROM submissions;
  DROP TABLE submissions;
  ALTER TABLE submissions_v2 RENAME TO submissions;
  CREATE TABLE global_models_v2 (
    federation_id TEXT NOT NULL REFERENCES federations(id) ON DELETE CASCADE,
    round INTEGER NOT NULL,
    checksum TEXT NOT NULL,
    contributors_json TEXT NOT NULL,
    total_samples INTEGER NOT NULL,
    metrics_json TEXT,
    created_at INTEGER NOT NULL,
    weights BLOB NOT NULL,
    PRIMARY KEY (federation_id, round)
  ) STRICT;
  INSERT INTO global_models_v2 (federation_id, round, checksum, contributors_json, total_samples, metrics_json, created_at, weights)
    SELECT federation_id, round, checksum, contributors_json, total_samples, metrics_json, created_at, weights FROM global_models;
  DROP TABLE global_models;
  ALTER TABLE global_models_v2 RENAME TO global_models;
  `,
  // 3: a round's submissions without their weights, in order of arrival, read from an index alone (the close check,
  // the ingest and every round:update list them; with many sites even a row read per submission adds up).
  `
  CREATE INDEX submissions_by_arrival ON submissions(federation_id, round, seq, site_id, sample_count, checksum, bytes, dtype, metrics_json, received_at);
  `,
  // 4 (issue 14): secure aggregation sessions (the coordinator's protocol state: public keys, ciphertexts addressed
  // to other sites, the sets it fixed; never an update), their masked inputs (uniformly random words to anyone
  // without the masks), and the privacy ledger (one row per round that released a noisy aggregate).
  `
  CREATE TABLE secagg_sessions (
    federation_id TEXT NOT NULL REFERENCES federations(id) ON DELETE CASCADE,
    round INTEGER NOT NULL,
    attempt INTEGER NOT NULL,
    session TEXT NOT NULL UNIQUE,
    phase TEXT NOT NULL,
    context_json TEXT NOT NULL,
    state_json TEXT NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (federation_id, round, attempt)
  ) STRICT;
  CREATE TABLE secagg_masked_inputs (
    session TEXT NOT NULL REFERENCES secagg_sessions(session) ON DELETE CASCADE,
    site_id TEXT NOT NULL,
    words BLOB NOT NULL,
    PRIMARY KEY (session, site_id)
  ) STRICT;
  CREATE TABLE privacy_ledger (
    federation_id TEXT NOT NULL REFERENCES federations(id) ON DELETE CASCADE,
    round INTEGER NOT NULL,
    noise_multiplier REAL NOT NULL,
    contributors INTEGER NOT NULL,
    epsilon_spent REAL NOT NULL,
    recorded_at INTEGER NOT NULL,
    PRIMARY KEY (federation_id, round)
  ) STRICT;
  `,
];

export const SCHEMA_VERSION = MIGRATIONS.length;

/** Moves the database to {@link SCHEMA_VERSION}; refuses a database from a newer coordinator. */
export function migrate(db: Database.Database): void {
  const version = db.pragma('user_version', { simple: true }) as number;
  if (version > MIGRATIONS.length) {
    throw new StoreError(`the database has schema version ${version}; this coordinator knows up to ${MIGRATIONS.length}. Update the coordinator.`);
  }
  for (let v = version; v < MIGRATIONS.length; v++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[v] as string);
      db.pragma(`user_version = ${v + 1}`);
    })();
  }
}
