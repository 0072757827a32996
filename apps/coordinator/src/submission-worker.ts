/**
 * The submission worker (a `worker_threads` worker, started by `submission-writer.ts`): its own connection to the
 * coordinator's SQLite file (WAL, `synchronous = FULL`, as the store's), on which it decodes and checks each update
 * (`decodeSubmission`) and writes the rows of every update that arrived in one turn of its event loop in one
 * transaction (one fsync). A row is written only if its round is still open inside that transaction. Each request
 * is answered after the commit, in the order received, with the decoded state (transferred, not copied), a refusal,
 * or an error. It says `{ ready: true }` once its connection is open.
 *
 * A request with `sum: true` is added, after its commit, to the float64 running sum the worker keeps for its round
 * (one per federation), and answered without the state; `take` answers with the round's averaged sum and its
 * contributors, after the writes received before it (`round-ingest.ts` checks them against the store). `prune`
 * drops the stored weights of older rounds (`--keep-submission-weights`), off the main thread.
 */
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { AGGREGATION_STRATEGIES, type ModuleState, type UpdateAccumulator } from '@facmic/learning/plain';
import { ADD_BYTES_RECEIVED_SQL, INSERT_SUBMISSION_SQL, OPEN_ROUND_SQL, PRUNE_WEIGHTS_SQL, SET_LAST_SUBMISSION_SQL, submissionRowValues } from './store/submission-row.ts';
import { decodeSubmission } from './submission-check.ts';
import type { SumReply, SumRequest, WriteReply, WriteRequest } from './submission-writer.ts';

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
const pruneWeights = db.prepare(PRUNE_WEIGHTS_SQL);

type Decoded = Extract<WriteReply, { ok: true }>;

let queue: (WriteRequest | SumRequest)[] = [];
let scheduled = false;

/** The running sums this worker keeps, per federation: the round, the sum, who is in it (null once an add failed). */
interface KeptSum {
  readonly round: number;
  readonly accumulator: UpdateAccumulator;
  contributors: string[] | null;
  totalSamples: number;
}
const sums = new Map<string, KeptSum>();
const fedavg = AGGREGATION_STRATEGIES.fedavg();

port.on('message', (request: WriteRequest | SumRequest) => {
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

function keep(request: WriteRequest, state: ModuleState): void {
  const { federationId, round, siteId, sampleCount } = request.record;
  let kept = sums.get(federationId);
  if (kept?.round !== round) {
    kept = { round, accumulator: fedavg.createAccumulator(), contributors: [], totalSamples: 0 };
    sums.set(federationId, kept);
  }
  if (kept.contributors === null) return;
  try {
    kept.accumulator.add({ state, numSamples: sampleCount, clientId: siteId });
    kept.contributors.push(siteId);
    kept.totalSamples += sampleCount;
  } catch {
    kept.contributors = null; // the round is rebuilt from the store on the main thread
  }
}

function answerSum(request: SumRequest): void {
  if (request.kind === 'forget') {
    sums.delete(request.federationId);
    return;
  }
  if (request.kind === 'prune') {
    try {
      pruneWeights.run(request.federationId, request.beforeRound);
    } catch {
      // Kept for now: the next publication prunes every older round again.
    }
    return;
  }
  const kept = sums.get(request.federationId);
  let reply: SumReply = { kind: 'sum', id: request.id, sum: null };
  if (kept?.round === request.round) {
    sums.delete(request.federationId);
    if (kept.contributors !== null && kept.contributors.length > 0) {
      try {
        reply = { kind: 'sum', id: request.id, sum: { state: kept.accumulator.result(), contributors: kept.contributors, totalSamples: kept.totalSamples } };
      } catch {
        // a non-finite average: the main thread rebuilds it and reports the error
      }
    }
  }
  port?.postMessage(reply, reply.sum ? [...new Set(Object.values(reply.sum.state).map((t) => t.data.buffer as ArrayBuffer))] : []);
}

function flush(): void {
  scheduled = false;
  const all = queue;
  queue = [];
  // Writes in runs between the sum requests, so that a `take` sees exactly the writes sent before it.
  let run: WriteRequest[] = [];
  for (const request of all) {
    if ('kind' in request) {
      flushWrites(run);
      run = [];
      answerSum(request);
    } else run.push(request);
  }
  flushWrites(run);
}

function flushWrites(batch: readonly WriteRequest[]): void {
  if (batch.length === 0) return;
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
    let reply = replies.get(request.id) as WriteReply;
    if (reply.ok === true && reply.state !== null && request.sum) {
      keep(request, reply.state);
      reply = { ...reply, state: null };
    }
    // The decoded state's arrays go back without a copy (float16 was widened into arrays of their own; float32 ones
    // are views of the copy of the bytes this worker was sent, which is stored now).
    const buffers = reply.ok === true && reply.state !== null ? [...new Set(Object.values(reply.state).map((t) => t.data.buffer as ArrayBuffer))] : [];
    port?.postMessage(reply, buffers);
  }
}
