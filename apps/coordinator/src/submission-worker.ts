/**
 * The submission worker (a `worker_threads` worker, started by `submission-writer.ts`): its own connection to the
 * coordinator's SQLite file (WAL, `synchronous = FULL`, as the store's), on which it decodes and checks each update
 * (`decodeSubmission`) and writes the rows of every update that arrived in one turn of its event loop in one
 * transaction (one fsync). A row is written only if its round is still open inside that transaction. Each request
 * is answered after the commit, in the order received, with the decoded state (transferred, not copied), a refusal,
 * or an error. It says `{ ready: true }` once its connection is open.
 */
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { ADD_BYTES_RECEIVED_SQL, INSERT_SUBMISSION_SQL, OPEN_ROUND_SQL, SET_LAST_SUBMISSION_SQL, submissionRowValues } from './store/submission-row.ts';
import { decodeSubmission } from './submission-check.ts';
import type { WriteReply, WriteRequest } from './submission-writer.ts';

const port = parentPort;
if (!port) throw new Error('submission-worker.ts runs as a worker thread');
const { dbPath } = workerData as { dbPath: string };

const db = new Database(dbPath);
db.pragma('journal_mode = WAL');
db.pragma('synchronous = FULL');
db.pragma('foreign_keys = ON');
db.pragma('busy_timeout = 5000');
const openRound = db.prepare(OPEN_ROUND_SQL);
const insert = db.prepare(INSERT_SUBMISSION_SQL);
const setLast = db.prepare(SET_LAST_SUBMISSION_SQL);
const addBytes = db.prepare(ADD_BYTES_RECEIVED_SQL);

type Decoded = Extract<WriteReply, { ok: true }>;

let queue: WriteRequest[] = [];
let scheduled = false;

port.on('message', (request: WriteRequest) => {
  queue.push(request);
  if (!scheduled) {
    scheduled = true;
    setImmediate(flush);
  }
});
// Until this arrives (loading the worker's code takes seconds on a busy machine), the main thread stores updates.
port.postMessage({ ready: true });

function decode(request: WriteRequest): WriteReply {
  try {
    const outcome = decodeSubmission(request.weights, request.spec, request.maxBytes);
    if (!outcome.ok) return { id: request.id, ok: false, code: outcome.code, message: outcome.message };
    const { checksum, dtype, state } = outcome.checked;
    return { id: request.id, ok: true, checksum, dtype, state };
  } catch (error) {
    return { id: request.id, ok: null, error: error instanceof Error ? error.message : String(error) };
  }
}

/** Writes one decoded update's rows (inside a transaction); a refusal when its round closed meanwhile. */
function store(request: WriteRequest, decoded: Decoded): WriteReply {
  const { record } = request;
  const open = openRound.get(record.federationId) as { round: number } | undefined;
  if (open?.round !== record.round) {
    return { id: request.id, ok: false, code: 'ROUND_CLOSED', message: `round ${record.round} closed before this submission was stored` };
  }
  const bytes = request.weights.byteLength;
  insert.run(...submissionRowValues({ ...record, weights: request.weights, checksum: decoded.checksum, dtype: decoded.dtype, bytes }, request.seq));
  setLast.run(record.receivedAt, record.federationId, record.round);
  addBytes.run(record.federationId, record.round, bytes);
  return decoded;
}

function flush(): void {
  scheduled = false;
  const batch = queue;
  queue = [];
  const decoded = batch.map((request) => ({ request, reply: decode(request) }));
  const replies = new Map<number, WriteReply>();
  try {
    db.transaction(() => {
      for (const { request, reply } of decoded) replies.set(request.id, reply.ok === true ? store(request, reply) : reply);
    }).immediate();
  } catch {
    // One write failed (the disk, a constraint): each alone, so that the others still land.
    replies.clear();
    for (const { request, reply } of decoded) {
      try {
        replies.set(request.id, reply.ok === true ? db.transaction(() => store(request, reply)).immediate() : reply);
      } catch (error) {
        replies.set(request.id, { id: request.id, ok: null, error: error instanceof Error ? error.message : String(error) });
      }
    }
  }
  for (const { request } of decoded) {
    const reply = replies.get(request.id) as WriteReply;
    // The decoded state's arrays go back without a copy (float16 was widened into arrays of their own; float32 ones
    // are views of the copy of the bytes this worker was sent, which is stored now).
    const buffers = reply.ok === true ? [...new Set(Object.values(reply.state).map((t) => t.data.buffer as ArrayBuffer))] : [];
    port?.postMessage(reply, buffers);
  }
}
