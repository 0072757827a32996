/**
 * Storage of secure aggregation sessions and of the privacy ledger (migration 4), on the coordinator's SQLite
 * database. A session is stored as the server state of `@facmic/privacy` (JSON) with its masked inputs as blobs:
 * public keys, ciphertexts addressed to other sites, masked words, the sets the coordinator fixed, and the shares it
 * was sent to remove masks. Nothing here is a site's update.
 */
import type Database from 'better-sqlite3';

export interface StoredSession<C> {
  federationId: string;
  round: number;
  attempt: number;
  session: string;
  phase: string;
  /** What the coordinator decided for the session (participants, encoding, DP parameters). */
  context: C;
  /** The server state without its masked inputs. */
  state: unknown;
  maskedInputs: Map<string, Uint8Array>;
  updatedAt: number;
}

export interface LedgerRow {
  round: number;
  noiseMultiplier: number;
  contributors: number;
  epsilonSpent: number;
  recordedAt: number;
}

export interface PrivacyStore {
  saveSession(record: Omit<StoredSession<unknown>, 'maskedInputs'>): void;
  addMaskedInput(session: string, siteId: string, words: Uint8Array): void;
  /** The newest attempt of a round's session. */
  latestSession<C>(federationId: string, round: number): StoredSession<C> | null;
  appendLedger(federationId: string, row: LedgerRow): void;
  ledger(federationId: string): LedgerRow[];
}

interface SessionRow {
  federation_id: string;
  round: number;
  attempt: number;
  session: string;
  phase: string;
  context_json: string;
  state_json: string;
  updated_at: number;
}

export function createPrivacyStore(db: Database.Database): PrivacyStore {
  const upsert = db.prepare(
    `INSERT INTO secagg_sessions (federation_id, round, attempt, session, phase, context_json, state_json, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT(federation_id, round, attempt) DO UPDATE SET phase = excluded.phase, context_json = excluded.context_json, state_json = excluded.state_json, updated_at = excluded.updated_at`,
  );
  const insertInput = db.prepare('INSERT INTO secagg_masked_inputs (session, site_id, words) VALUES (?, ?, ?) ON CONFLICT(session, site_id) DO NOTHING');
  const latest = db.prepare('SELECT * FROM secagg_sessions WHERE federation_id = ? AND round = ? ORDER BY attempt DESC LIMIT 1');
  const inputs = db.prepare('SELECT site_id, words FROM secagg_masked_inputs WHERE session = ?');
  const insertLedger = db.prepare('INSERT INTO privacy_ledger (federation_id, round, noise_multiplier, contributors, epsilon_spent, recorded_at) VALUES (?, ?, ?, ?, ?, ?)');
  const ledger = db.prepare('SELECT round, noise_multiplier, contributors, epsilon_spent, recorded_at FROM privacy_ledger WHERE federation_id = ? ORDER BY round');
  return {
    saveSession(record) {
      upsert.run(record.federationId, record.round, record.attempt, record.session, record.phase, JSON.stringify(record.context), JSON.stringify(record.state), record.updatedAt);
    },
    addMaskedInput(session, siteId, words) {
      insertInput.run(session, siteId, words);
    },
    latestSession<C>(federationId: string, round: number): StoredSession<C> | null {
      const row = latest.get(federationId, round) as SessionRow | undefined;
      if (!row) return null;
      const maskedInputs = new Map<string, Uint8Array>();
      for (const input of inputs.all(row.session) as { site_id: string; words: Buffer }[]) {
        maskedInputs.set(input.site_id, new Uint8Array(input.words.buffer.slice(input.words.byteOffset, input.words.byteOffset + input.words.byteLength)));
      }
      return {
        federationId: row.federation_id,
        round: row.round,
        attempt: row.attempt,
        session: row.session,
        phase: row.phase,
        context: JSON.parse(row.context_json) as C,
        state: JSON.parse(row.state_json) as unknown,
        maskedInputs,
        updatedAt: row.updated_at,
      };
    },
    appendLedger(federationId, row) {
      insertLedger.run(federationId, row.round, row.noiseMultiplier, row.contributors, row.epsilonSpent, row.recordedAt);
    },
    ledger(federationId) {
      return (ledger.all(federationId) as { round: number; noise_multiplier: number; contributors: number; epsilon_spent: number; recorded_at: number }[]).map((r) => ({
        round: r.round,
        noiseMultiplier: r.noise_multiplier,
        contributors: r.contributors,
        epsilonSpent: r.epsilon_spent,
        recordedAt: r.recorded_at,
      }));
    },
  };
}
