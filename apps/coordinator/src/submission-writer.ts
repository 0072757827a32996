/**
 * The main thread's side of the submission worker (`submission-worker.ts`): a `worker_threads` worker with its own
 * connection to the coordinator's SQLite file that decodes and checks an update's weights and writes its row (the
 * weights blob, the round's last submission time, the bytes received) in a durable transaction. The main thread only
 * routes: it checks the submission's place (federation, round, participant, size), sends a copy of the bytes, and
 * acknowledges when the worker answers that the row is committed. Profiled at 100 sites (D=512 float16, 1 MiB a
 * update), these two were about three quarters of the main thread's time per update.
 *
 * The worker writes a row only if its round is still open in the same transaction that inserts it (SQLite serializes
 * the two connections' writes), so an update is either in its round before the round closes (and the close, which
 * reads the stored submissions, counts it) or refused with ROUND_CLOSED.
 *
 * The worker also keeps the running sum of a round whose updates it was asked to sum (`sum: true`, see
 * `round-ingest.ts`): it adds each decoded update after its commit and answers without the state, so the decoded
 * arrays never cross back; `take` gets the round's averaged sum when the round closes.
 *
 * Until the worker says it is ready (loading its code takes seconds on a busy machine), and after it failed, the desk
 * writes on the main thread. A worker that fails (exits, throws) fails the writes in flight (their sites get an error and submit again; a
 * committed one is then a duplicate) and is not used again: the desk falls back to writing on the main thread.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { ModuleState } from '@facmic/learning/plain';
import type { TensorSpec } from '@facmic/protocol';
import type { Logger } from './logger.ts';
import type { RemoteSum, RemoteSums } from './round-ingest.ts';
import type { SubmissionRecord } from './store/store.ts';
import type { SubmissionRefusalCode, WeightsDtype } from './submission-check.ts';

/** What the worker is asked to check and store. */
export interface WriteRequest {
  readonly id: number;
  /** A copy of the submission's bytes (transferred to the worker). */
  readonly weights: Uint8Array;
  readonly spec: TensorSpec;
  readonly maxBytes: number;
  readonly seq: number;
  readonly record: Omit<SubmissionRecord, 'weights' | 'checksum' | 'dtype' | 'bytes'>;
  /** Add the update to the round's sum kept in the worker (the reply then has no state), or send the state back. */
  readonly sum: boolean;
}

/** The other requests: the round's sum kept in the worker (answered after the writes sent before), or drop it. */
export type SumRequest =
  | { readonly kind: 'take'; readonly id: number; readonly federationId: string; readonly round: number }
  | { readonly kind: 'forget'; readonly federationId: string }
  | { readonly kind: 'prune'; readonly federationId: string; readonly beforeRound: number };

export interface SumReply {
  readonly kind: 'sum';
  readonly id: number;
  readonly sum: RemoteSum | null;
}

/** The worker's answer: stored (with the decoded state, unless the worker summed it), refused, or failed. */
export type WriteReply =
  | { readonly id: number; readonly ok: true; readonly checksum: string; readonly dtype: WeightsDtype; readonly state: ModuleState | null }
  | { readonly id: number; readonly ok: false; readonly code: SubmissionRefusalCode; readonly message: string }
  | { readonly id: number; readonly ok: null; readonly error: string };

export type WriteResult = Exclude<WriteReply, { ok: null }>;

/** The worker's TypeScript entry (tests, `npm start` under tsx); a bundle passes its own JavaScript entry. */
export const SUBMISSION_WORKER_ENTRY = new URL('./submission-worker.ts', import.meta.url);

/** tsx's ESM API (`tsx/esm/api`, its `import` condition), which `register()`s its loader in the calling thread. */
function tsxEsmApi(): string {
  const require = createRequire(import.meta.url);
  const manifest = require.resolve('tsx/package.json');
  const { exports } = JSON.parse(readFileSync(manifest, 'utf8')) as { exports: Record<string, { import?: { default?: string } }> };
  const entry = exports['./esm/api']?.import?.default;
  if (entry === undefined) throw new Error('this tsx has no ESM API (tsx/esm/api)');
  return pathToFileURL(join(dirname(manifest), entry)).href;
}

function spawn(entry: URL, dbPath: string): Worker {
  const workerData = { dbPath };
  if (!entry.pathname.endsWith('.ts')) return new Worker(entry, { workerData });
  // Workers do not inherit tsx's loader: the worker registers it, then imports its TypeScript entry.
  const tsx = tsxEsmApi();
  const code = `import(${JSON.stringify(tsx)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(entry.href)}); });`;
  return new Worker(code, { eval: true, workerData });
}

export class SubmissionWriter implements RemoteSums {
  private readonly worker: Worker;
  private readonly pending = new Map<number, { resolve: (result: WriteResult) => void; reject: (error: Error) => void }>();
  private readonly takes = new Map<number, { resolve: (sum: RemoteSum | null) => void; reject: (error: Error) => void }>();
  private nextId = 1;
  private failure: Error | null = null;
  private started = false;
  private readonly starting: (() => void)[] = [];
  private closing = false;
  private readonly idle: (() => void)[] = [];

  constructor(dbPath: string, private readonly logger: Logger, entry: URL = SUBMISSION_WORKER_ENTRY) {
    this.worker = spawn(entry, dbPath);
    this.worker.on('message', (message: WriteReply | SumReply | { ready: true }) => {
      if ('ready' in message) {
        this.started = true;
        for (const resolve of this.starting.splice(0)) resolve();
      } else if ('kind' in message) {
        const waiting = this.takes.get(message.id);
        this.takes.delete(message.id);
        waiting?.resolve(message.sum);
      } else this.answered(message);
    });
    this.worker.on('error', (error) => { this.fail(error); });
    this.worker.on('exit', (code) => { if (!this.closing) this.fail(new Error(`the submission worker exited (code ${code})`)); });
  }

  /** Whether writes can go to the worker (it is ready and has not failed, the coordinator is not closing). */
  get usable(): boolean {
    return this.started && this.failure === null && !this.closing;
  }

  /** Resolves once the worker is ready, or has failed (tests). */
  whenStarted(): Promise<void> {
    if (this.started || this.failure) return Promise.resolve();
    return new Promise((resolve) => this.starting.push(resolve));
  }

  /** Writes in flight (tests, metrics). */
  get inFlight(): number {
    return this.pending.size;
  }

  write(request: Omit<WriteRequest, 'id'>): Promise<WriteResult> {
    if (this.failure) return Promise.reject(this.failure);
    const id = this.nextId++;
    return new Promise<WriteResult>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ ...request, id }, [request.weights.buffer as ArrayBuffer]);
    });
  }

  /** The round's averaged sum kept in the worker, after every write sent before; null when it holds none. */
  take(federationId: string, round: number): Promise<RemoteSum | null> {
    if (this.failure) return Promise.reject(this.failure);
    const id = this.nextId++;
    return new Promise<RemoteSum | null>((resolve, reject) => {
      this.takes.set(id, { resolve, reject });
      this.worker.postMessage({ kind: 'take', id, federationId, round } satisfies SumRequest);
    });
  }

  /** Drops the sum the worker keeps for the federation (its round was abandoned or rebuilt here). */
  forget(federationId: string): void {
    if (this.failure === null && !this.closing) this.worker.postMessage({ kind: 'forget', federationId } satisfies SumRequest);
  }

  /**
   * Drops the stored weights of the federation's rounds before `beforeRound` in the worker (freeing a round's blobs
   * took tens of ms of the event loop at 100 sites). False when the worker cannot: the caller prunes itself.
   */
  prune(federationId: string, beforeRound: number): boolean {
    if (!this.usable) return false;
    this.worker.postMessage({ kind: 'prune', federationId, beforeRound } satisfies SumRequest);
    return true;
  }

  /** Waits for the writes in flight, then stops the worker. */
  async close(): Promise<void> {
    this.closing = true;
    if (this.pending.size > 0 && this.failure === null) await new Promise<void>((resolve) => this.idle.push(resolve));
    await this.worker.terminate();
  }

  private answered(reply: WriteReply): void {
    const waiting = this.pending.get(reply.id);
    if (!waiting) return;
    this.pending.delete(reply.id);
    if (reply.ok === null) waiting.reject(new Error(`the submission worker could not store an update: ${reply.error}`));
    else waiting.resolve(reply);
    if (this.pending.size === 0) for (const resolve of this.idle.splice(0)) resolve();
  }

  private fail(error: Error): void {
    if (this.failure) return;
    this.failure = error;
    this.logger.error('the submission worker failed; submissions are stored on the main thread from now on', { error, inFlight: this.pending.size });
    for (const waiting of this.pending.values()) waiting.reject(error);
    this.pending.clear();
    for (const waiting of this.takes.values()) waiting.reject(error);
    this.takes.clear();
    for (const resolve of this.idle.splice(0)) resolve();
    for (const resolve of this.starting.splice(0)) resolve();
  }
}
