/**
 * The one way a submission row is written, shared by the store (`sqlite-store.ts`) and the submission worker
 * (`submission-worker.ts`, its own connection to the same file), so that both write the same columns.
 */
import type { SubmissionRecord } from './store.ts';

export const INSERT_SUBMISSION_SQL = `INSERT INTO submissions (federation_id, round, site_id, sample_count, weights, checksum, bytes, dtype, metrics_json, received_at, seq)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`;

export const ADD_BYTES_RECEIVED_SQL = `INSERT INTO traffic (federation_id, round, bytes_received, bytes_sent) VALUES (?, ?, ?, 0)
       ON CONFLICT(federation_id, round) DO UPDATE SET bytes_received = bytes_received + excluded.bytes_received`;

/** Drops the stored weights of a federation's rounds before `?` (they are no longer needed to rebuild a sum). */
export const PRUNE_WEIGHTS_SQL = 'UPDATE submissions SET weights = NULL WHERE federation_id = ? AND round < ? AND weights IS NOT NULL';
export const SET_LAST_SUBMISSION_SQL = 'UPDATE rounds SET last_submission_at = ? WHERE federation_id = ? AND round = ?';

/** The round a federation accepts submissions for now, as `openRound` of the protocol decides it, from its row. */
export const OPEN_ROUND_SQL = `SELECT round FROM federations
       WHERE id = ? AND (status = 'training' OR (status = 'paused' AND paused_from = 'training'))`;

/** The values of INSERT_SUBMISSION_SQL, in order. */
export function submissionRowValues(record: SubmissionRecord, seq: number): unknown[] {
  return [
    record.federationId,
    record.round,
    record.siteId,
    record.sampleCount,
    record.weights ? Buffer.from(record.weights.buffer, record.weights.byteOffset, record.weights.byteLength) : null,
    record.checksum,
    record.bytes,
    record.dtype,
    JSON.stringify(record.metrics),
    record.receivedAt,
    seq,
  ];
}
