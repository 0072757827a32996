/**
 * A hospital's round loop, platform-free (no DOM, no Node APIs): connects to the coordinator, checks that its encoder
 * is the federation's, encodes its data once (through the caller's `loadData`), then for every round it takes part in
 * downloads the global model, trains with {@link trainRound} and submits the weights. It reconnects by itself and
 * resumes where it was (same site identity: the token), and resubmits an unacknowledged update after a reconnection
 * (the coordinator acknowledges duplicates).
 *
 * Parts: `connection.ts` (handshake, reconnection, requests), `decide-round.ts` (what to do with a `round:update`,
 * pure), `train-round.ts` (one round of local work). The loop acts on the newest `round:update` snapshot only.
 */
import type { ModuleState } from '@facmic/learning';
import { decodeTensors, type FederationConfig, type RoundUpdate, type SessionWelcome } from '@facmic/protocol';
import { errorMessage, SiteConnection } from './connection.ts';
import { decideRound } from './decide-round.ts';
import {
  classifyError,
  FATAL_SESSION_CODES,
  SiteError,
  SiteEvents,
  type SiteEventListener,
  type SiteEventMessageListener,
  type SiteEventName,
  type SiteRunResult,
  type SiteStatusEvent,
} from './events.ts';
import { prepareSite, type Prepared } from './prepare-site.ts';
import { announceReady, fetchModel, submitUpdate } from './requests.ts';
import { SecureParticipant } from './secure-participant.ts';
import type { SiteClientOptions } from './site-options.ts';
import { StatusReporter } from './status-reporter.ts';
import { SiteOptimizer } from './optimizer-state.ts';
import { trainRound, type TrainedUpdate } from './train-round.ts';

export type { LoadDataContext, LocalEncoderIdentity, SiteClientOptions } from './site-options.ts';

export class SiteClient {
  private readonly events = new SiteEvents();
  private readonly abort = new AbortController();
  private connection: SiteConnection | null = null;
  private welcome: SessionWelcome | null = null;
  /** Encoder identity, features and data, each obtained once (a failed step is retried on the next welcome). */
  private readonly prepared: Partial<Prepared> = {};
  private preparation: Promise<void> | null = null;
  /** `site:ready` acknowledged on the current connection. */
  private ready = false;
  private latest: RoundUpdate | null = null;
  private pumping = false;
  private dirty = false;
  private readonly optimizer: SiteOptimizer;
  private pending: TrainedUpdate | null = null;
  private readonly doneRounds = new Set<number>();
  private readonly acceptedRounds: number[] = [];
  private work: { round: number; abort: AbortController } | null = null;
  private cachedModel: { round: number; state: ModuleState } | null = null;
  private readonly status: StatusReporter;
  private settle: { resolve: (r: SiteRunResult) => void; reject: (e: SiteError) => void } | null = null;
  private running: Promise<SiteRunResult> | null = null;
  private closed = false;
  private readonly secure = new SecureParticipant({ connection: () => this.connection, federation: () => this.federation, siteId: () => this.welcome?.site.id ?? null, report: (report) => { this.events.emit('secure', report); }, onInput: (round, delta, weight) => { this.options.onSecureInput?.(round, delta, weight); } });

  constructor(private readonly options: SiteClientOptions) {
    this.optimizer = new SiteOptimizer(options.optimizerStore, (notice) => { this.events.emit('optimizer', notice); });
    this.status = new StatusReporter(
      (status) => { this.events.emit('status', status); },
      (status) => {
        if (this.closed || !this.connection?.connected) return false;
        this.connection.sendStatus(status);
        return true;
      },
      options.statusIntervalMs ?? 500,
    );
    if (options.signal) {
      if (options.signal.aborted) this.abort.abort(options.signal.reason);
      else options.signal.addEventListener('abort', () => { this.stop(); }, { once: true });
    }
  }

  on<K extends SiteEventName>(type: K, listener: SiteEventListener<K>): () => void {
    return this.events.on(type, listener);
  }

  /** Every event as one `{ name, data }` message (for relays such as the web worker's). */
  onAny(listener: SiteEventMessageListener): () => void {
    return this.events.onAny(listener);
  }

  /** The latest status (phase, progress, round). */
  get currentStatus(): SiteStatusEvent {
    return this.status.current;
  }

  /** The federation, once the coordinator welcomed this site. */
  get federation(): FederationConfig | null {
    return this.welcome?.federation ?? null;
  }

  /** The class prompts' text features the coordinator encoded (once fetched): a hospital has no text tower. */
  get textFeatures(): Float32Array | null {
    return this.prepared.features?.text.features ?? null;
  }

  /** The latest round snapshot received. */
  get round(): RoundUpdate | null {
    return this.latest;
  }

  /**
   * Connects and takes part until the federation finishes or is stopped (resolves), or a fatal error (rejects with a
   * {@link SiteError}: encoder mismatch, bad or revoked token, protocol too old, ...). `stop()` resolves with `aborted`.
   */
  run(): Promise<SiteRunResult> {
    if (this.running) return this.running;
    this.running = new Promise<SiteRunResult>((resolve, reject) => {
      this.settle = { resolve, reject };
    });
    if (this.abort.signal.aborted) {
      this.finish('aborted');
      return this.running;
    }
    this.connection = new SiteConnection(this.options, {
      connected: () => { this.events.emit('connection', { connected: true, reason: null }); },
      disconnected: (reason) => {
        this.ready = false;
        this.events.emit('connection', { connected: false, reason });
      },
      ended: (error) => { this.fail(error); },
      retrying: (reason) => { this.events.emit('connection', { connected: false, reason }); },
      welcome: (welcome) => { this.onWelcome(welcome); },
      roundUpdate: (update) => { this.onRoundUpdate(update); },
      secureRequest: (request) => { this.secure.onRequest(request); },
      malformed: (message) => { this.events.emit('error', { code: 'PROTOCOL_VIOLATION', message, fatal: false }); },
    });
    this.connection.open();
    return this.running;
  }

  /** Stops cleanly: aborts local work, disconnects, and resolves `run()` with `aborted`. */
  stop(): void {
    if (!this.abort.signal.aborted) this.abort.abort(new Error('site stopped'));
    this.finish('aborted');
  }

  private onWelcome(welcome: SessionWelcome): void {
    this.welcome = welcome;
    this.ready = false;
    this.events.emit('welcome', welcome);
    this.latest = welcome.round;
    this.events.emit('round', welcome.round);
    void this.prepareAndAnnounce();
  }

  /** Encoder check, features and local data (once), then `site:ready` on this connection. */
  private async prepareAndAnnounce(): Promise<void> {
    try {
      const federation = this.federation;
      if (!federation) return;
      this.preparation ??= prepareSite({
        federation,
        encoder: this.options.encoder,
        loadData: this.options.loadData,
        connection: this.requireConnection(),
        signal: this.abort.signal,
        prepared: this.prepared,
        setStatus: (status) => { this.status.set(status); },
      }).catch((error: unknown) => {
        this.preparation = null;
        throw error;
      });
      await this.preparation;
      const { connection } = this;
      const { data, identity } = this.prepared;
      if (this.closed || !connection?.connected || !data || !identity) return;
      const answer = await announceReady(connection, identity.hash, data);
      if (!answer.ok) {
        if (answer.code === 'ENCODER_MISMATCH') this.fail(new SiteError(answer.code, answer.message));
        else this.events.emit('error', { code: answer.code, message: answer.message, fatal: false });
        return;
      }
      this.ready = true;
      this.onRoundUpdate(answer.round);
    } catch (error) {
      this.handleError(error, 'preparing');
    }
  }

  private requireConnection(): SiteConnection {
    if (!this.connection) throw new SiteError('CONNECTION_LOST', 'not connected');
    return this.connection;
  }

  private local() {
    return { ready: this.ready, doneRounds: this.doneRounds, pendingRound: this.pending?.round ?? null, workingRound: this.work?.round ?? null };
  }

  private onRoundUpdate(update: RoundUpdate): void {
    if (this.closed) return;
    this.latest = update;
    this.events.emit('round', update);
    if (this.work && decideRound(update, this.local()).abortWork) this.work.abort.abort(new Error(`round ${this.work.round} is over`));
    this.dirty = true;
    void this.pump();
  }

  /** Acts on the newest snapshot, one at a time. */
  private async pump(): Promise<void> {
    if (this.pumping) return;
    this.pumping = true;
    try {
      while (this.dirty && !this.closed) {
        this.dirty = false;
        const update = this.latest;
        if (update) await this.act(update);
      }
    } finally {
      this.pumping = false;
    }
  }

  private async act(update: RoundUpdate): Promise<void> {
    const decision = decideRound(update, this.local());
    if (decision.acknowledged !== null) {
      if (this.pending?.round === decision.acknowledged) this.pending = null;
      this.doneRounds.add(decision.acknowledged);
    }
    const next = decision.next;
    switch (next.kind) {
      case 'finish':
        if (next.reason === 'finished') await this.fetchFinalModel(update);
        this.status.set({ phase: next.reason, progress: null, round: update.round, message: null });
        this.finish(next.reason);
        return;
      case 'not-ready':
        return;
      case 'take-part':
        await this.takePart(next.round);
        return;
      case 'wait':
        this.status.set({ phase: next.phase, progress: null, round: update.round, message: next.message });
        return;
    }
  }

  /** Downloads the newest global model once the federation has ended, so the site keeps the final shared model. */
  private async fetchFinalModel(update: RoundUpdate): Promise<void> {
    if (!this.federation || this.cachedModel?.round === update.latestModelRound) return;
    try {
      await this.downloadModel(update.latestModelRound, true);
    } catch (error) {
      // The federation is over either way; the site just has no copy of the final model.
      this.events.emit('error', { code: error instanceof SiteError ? error.code : 'PROTOCOL_VIOLATION', message: `final model: ${errorMessage(error)}`, fatal: false });
    }
  }

  private async downloadModel(round: number, final: boolean): Promise<ModuleState> {
    const federation = this.federation;
    if (!federation) throw new SiteError('PROTOCOL_VIOLATION', 'not welcomed');
    const model = await fetchModel(this.requireConnection(), federation, round);
    this.cachedModel = { round, state: model.state };
    this.events.emit('model', { round, checksum: model.checksum, bytes: model.bytes, state: model.state, final });
    return model.state;
  }

  /** Trains and submits round `round` (or resubmits the update already trained for it). */
  private async takePart(round: number): Promise<void> {
    if (this.pending?.round !== round) {
      this.pending = null;
      const abort = new AbortController();
      this.work = { round, abort };
      const signal = AbortSignal.any([this.abort.signal, abort.signal]);
      try {
        this.pending = await this.train(round, signal);
      } catch (error) {
        if (signal.aborted) return;
        this.handleError(error, `round ${round}`);
        // A dropped connection is retried after the reconnection; anything else ends this round for the site.
        if (!(error instanceof SiteError && error.code === 'CONNECTION_LOST')) this.doneRounds.add(round);
        return;
      } finally {
        this.work = null;
      }
    }
    await this.submit(this.pending);
  }

  private async train(round: number, signal: AbortSignal): Promise<TrainedUpdate> {
    const { federation } = this;
    const { data, features } = this.prepared;
    if (!federation || !data || !features) throw new SiteError('PROTOCOL_VIOLATION', 'not prepared');
    let globalState = this.cachedModel?.round === round - 1 ? this.cachedModel.state : null;
    if (!globalState) {
      this.status.set({ phase: 'downloading', progress: null, round, message: null });
      globalState = await this.downloadModel(round - 1, false);
    }
    signal.throwIfAborted();
    // One optimizer for the whole federation: Adam's moments carry over from round to round (and reloads: the store).
    const optimizer = await this.optimizer.forRound(federation, round);
    const update = await trainRound({
      round,
      federation,
      data,
      features,
      globalState,
      optimizer,
      seed: (this.options.seed ?? 0) * 100_003 + round,
      // Under secure aggregation the update is never sent as a file: its fixed-point words replace the encoding.
      weightsDtype: federation.privacy.secureAggregation.enabled ? 'float32' : (this.options.weightsDtype ?? federation.privacy.updateEncoding),
      signal,
      onPhase: (phase, progress, message) => { this.status.set({ phase, progress, round, message }); },
      onEvaluated: (event) => { this.events.emit('evaluated', event); },
      onStep: (event) => { this.events.emit('step', event); },
    });
    await this.optimizer.trained(optimizer, round);
    return update;
  }

  private async submit(pending: TrainedUpdate): Promise<void> {
    const connection = this.connection;
    if (!connection?.connected) {
      this.status.set({ phase: 'submitting', progress: null, round: pending.round, message: 'waiting for the connection to come back' });
      return; // resubmitted after the next welcome
    }
    if (this.federation?.privacy.secureAggregation.enabled && this.cachedModel?.round === pending.round - 1) {
      // Secure aggregation: the update is never sent; the round's session asks for its masked form.
      this.secure.offer(pending.round, decodeTensors(pending.bytes).tensors, this.cachedModel.state, pending.sampleCount);
      this.pending = null;
      this.doneRounds.add(pending.round);
      this.status.set({ phase: 'submitted', progress: null, round: pending.round, message: 'secure aggregation: only a masked form of the update is sent' });
      return;
    }
    this.status.set({ phase: 'submitting', progress: null, round: pending.round, message: null });
    let answer;
    try {
      answer = await submitUpdate(connection, this.options.federationId, pending);
    } catch (error) {
      // Timeout or disconnection: the update stays pending and is sent again once reconnected.
      this.events.emit('error', { code: 'CONNECTION_LOST', message: `submission of round ${pending.round} not acknowledged: ${errorMessage(error)}`, fatal: false });
      return;
    }
    if (this.pending === pending) this.pending = null;
    this.doneRounds.add(pending.round);
    if (answer.ok) {
      this.acceptedRounds.push(pending.round);
      this.events.emit('submitted', { round: pending.round, sampleCount: pending.sampleCount, bytes: pending.bytes.byteLength, checksum: answer.checksum, duplicate: answer.duplicate, metrics: pending.metrics });
      this.status.set({ phase: 'submitted', progress: null, round: pending.round, message: null });
      return;
    }
    if (FATAL_SESSION_CODES.includes(answer.code)) {
      this.fail(new SiteError(answer.code, answer.message));
      return;
    }
    this.events.emit('refused', { round: pending.round, code: answer.code, message: answer.message });
    this.status.set({ phase: 'waiting', progress: null, round: pending.round, message: `round ${pending.round} refused: ${answer.message}` });
  }

  private handleError(error: unknown, context: string): void {
    if (this.closed) return;
    const kind = classifyError(error, context);
    if ('fatal' in kind) {
      this.fail(kind.fatal);
      return;
    }
    this.events.emit('error', { ...kind.report, fatal: false });
    if (kind.problem) this.status.set({ phase: 'error', progress: null, round: this.latest?.round ?? null, message: kind.report.message.slice(0, 300) });
  }

  private fail(error: SiteError): void {
    if (this.closed) return;
    this.status.set({ phase: 'error', progress: null, round: this.latest?.round ?? null, message: error.message.slice(0, 300) });
    this.events.emit('error', { code: error.code, message: error.message, fatal: true });
    this.close();
    this.settle?.reject(error);
  }

  private finish(reason: SiteRunResult['reason']): void {
    if (this.closed) return;
    const outcome: SiteRunResult = { reason, roundsSubmitted: [...this.acceptedRounds] };
    this.close();
    this.events.emit('finished', outcome);
    this.settle?.resolve(outcome);
  }

  private close(): void {
    this.closed = true;
    this.work?.abort.abort(new Error('site closed'));
    if (!this.abort.signal.aborted) this.abort.abort(new Error('site closed'));
    this.status.dispose();
    // Flush the last status (finished, stopped, error) before leaving.
    this.connection?.close(this.status.current);
    this.optimizer.disposeAfter(this.waitIdle());
  }

  private async waitIdle(): Promise<void> {
    while (this.pumping) await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Creates a site client; call `run()` to take part. */
export function createSiteClient(options: SiteClientOptions): SiteClient {
  return new SiteClient(options);
}
