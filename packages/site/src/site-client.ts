/**
 * A hospital's round loop, platform-free (no DOM, no Node APIs): connects to the coordinator, checks that its encoder
 * is the federation's, encodes its data once (through the caller's `loadData`), then for every round it takes part in
 * downloads the global model, evaluates it on the local test split, trains locally with `@facmic/learning`, evaluates
 * the result and submits the weights. It reconnects by itself and resumes where it was (same site identity: the
 * token), and resubmits an unacknowledged update after a reconnection (the coordinator acknowledges duplicates).
 *
 * The loop is driven by the coordinator's `round:update` snapshots, so a reconnection, a restart of the coordinator or
 * a missed message all end in the same place: act on the latest snapshot.
 */
import {
  AdamL2,
  evaluate,
  FeatureAttention,
  getMethod,
  moduleSpec,
  trainLocal,
  type FeatureMatrix,
  type FeatureSet,
  type ModuleState,
  type TextFeatures,
} from '@facmic/learning';
import {
  decodeTensors,
  encodeTensors,
  featuresAckSchema,
  FEATURE_TENSOR_NAMES,
  modelAckSchema,
  PERMANENT_CONNECT_ERRORS,
  PROTOCOL_VERSION,
  readConnectError,
  roundUpdateSchema,
  sessionClosedSchema,
  sessionWelcomeSchema,
  SITE_NAMESPACE,
  siteReadyAckSchema,
  submissionAckSchema,
  TensorEncodingError,
  type EvalMetrics,
  type FederationConfig,
  type RoundUpdate,
  type SessionWelcome,
  type SitePhase,
  type SiteRoundMetrics,
  type SiteServerEvents,
  type SiteClientEvents,
  type TensorDtype,
  type TensorSpec,
} from '@facmic/protocol';
import { io, type Socket } from 'socket.io-client';
import type { z } from 'zod';
import { SiteError, SiteEvents, type SiteErrorCode, type SiteEventListener, type SiteEventName, type SiteRunResult, type SiteStatusEvent } from './events.ts';

/** The local encoder's identity, compared with the federation's before taking part. */
export interface LocalEncoderIdentity {
  modelId: string;
  hash: string;
}

/** A site's data as features (labels are indices into the federation's `classNames`). */
export interface SiteData {
  train: FeatureSet;
  /** Local test split for evaluating the global and local models; null to skip evaluation. */
  test: FeatureSet | null;
}

export interface LoadDataContext {
  federation: FederationConfig;
  signal: AbortSignal;
  /** Reports encoding progress (0..1) to the UI and the coordinator. */
  progress: (fraction: number | null, message?: string) => void;
}

export interface SiteClientOptions {
  /** Coordinator base URL, e.g. `http://10.0.0.5:3000` (the invite link's origin). */
  coordinatorUrl: string;
  federationId: string;
  token: string;
  /**
   * The local encoder's identity, or a function that loads the encoder once the federation is known (its
   * `federation.encoder.modelId` says which model to load).
   */
  encoder: LocalEncoderIdentity | ((federation: FederationConfig, signal: AbortSignal) => Promise<LocalEncoderIdentity>);
  /** Encodes the local images (called once, after the encoder check). */
  loadData: (context: LoadDataContext) => Promise<SiteData>;
  /** Shown to admins, e.g. `facmic-web/0.1`. */
  clientName?: string;
  /** Value type of submitted weights (default float32; float16 halves the upload). */
  weightsDtype?: TensorDtype;
  /** Seed of local shuffling (default 0); the round number is added each round. */
  seed?: number;
  signal?: AbortSignal;
  connection?: {
    /** Socket.IO path (default `/socket.io`). */
    path?: string;
    transports?: ('websocket' | 'polling' | 'webtransport')[];
    reconnectionDelayMs?: number;
    reconnectionDelayMaxMs?: number;
    /** Timeout of small requests (default 30 s). */
    requestTimeoutMs?: number;
    /** Timeout of a weight upload (default 120 s). */
    uploadTimeoutMs?: number;
  };
  /** Least time between two progress reports to the coordinator (default 500 ms; phase changes go at once). */
  statusIntervalMs?: number;
}

interface PendingSubmission {
  round: number;
  bytes: Uint8Array;
  sampleCount: number;
  metrics: SiteRoundMetrics;
}

interface FederationFeatures {
  text: TextFeatures;
  reference: FeatureMatrix;
  checksum: string;
}

type SiteSocket = Socket<SiteServerEvents, SiteClientEvents>;

/** Refusals mid-session after which the site cannot go on. */
const FATAL_SESSION_CODES: readonly SiteErrorCode[] = ['SESSION_REPLACED', 'TOKEN_REVOKED', 'UNKNOWN_FEDERATION'];

export class SiteClient {
  private readonly events = new SiteEvents();
  private readonly abort = new AbortController();
  private socket: SiteSocket | null = null;
  private welcome: SessionWelcome | null = null;
  private encoderChecked = false;
  private features: FederationFeatures | null = null;
  private data: SiteData | null = null;
  private preparation: Promise<void> | null = null;
  /** `site:ready` acknowledged on the current connection. */
  private ready = false;
  private latest: RoundUpdate | null = null;
  private pumping = false;
  private dirty = false;
  private optimizer: AdamL2 | null = null;
  private pending: PendingSubmission | null = null;
  private readonly doneRounds = new Set<number>();
  private readonly acceptedRounds: number[] = [];
  private roundAbort: AbortController | null = null;
  private workingRound: number | null = null;
  private cachedModel: { round: number; state: ModuleState } | null = null;
  private status: SiteStatusEvent = { phase: 'connecting', progress: null, round: null, message: null };
  private lastStatusSentAt = 0;
  private statusTimer: ReturnType<typeof setTimeout> | null = null;
  private reconnectTimer: ReturnType<typeof setTimeout> | null = null;
  private settle: { resolve: (r: SiteRunResult) => void; reject: (e: SiteError) => void } | null = null;
  private running: Promise<SiteRunResult> | null = null;
  private closed = false;

  constructor(private readonly options: SiteClientOptions) {
    if (options.signal) {
      if (options.signal.aborted) this.abort.abort(options.signal.reason);
      else options.signal.addEventListener('abort', () => { this.stop(); }, { once: true });
    }
  }

  on<K extends SiteEventName>(type: K, listener: SiteEventListener<K>): () => void {
    return this.events.on(type, listener);
  }

  /** The latest status (phase, progress, round). */
  get currentStatus(): SiteStatusEvent {
    return this.status;
  }

  /** The federation, once the coordinator welcomed this site. */
  get federation(): FederationConfig | null {
    return this.welcome?.federation ?? null;
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
      this.finish({ reason: 'aborted' });
      return this.running;
    }
    this.connect();
    return this.running;
  }

  /** Stops cleanly: aborts local work, disconnects, and resolves `run()` with `aborted`. */
  stop(): void {
    if (!this.abort.signal.aborted) this.abort.abort(new Error('site stopped'));
    this.finish({ reason: 'aborted' });
  }

  private connect(): void {
    const connection = this.options.connection ?? {};
    const url = this.options.coordinatorUrl.replace(/\/+$/, '') + SITE_NAMESPACE;
    const socket: SiteSocket = io(url, {
      path: connection.path ?? '/socket.io',
      auth: {
        protocolVersion: PROTOCOL_VERSION,
        federationId: this.options.federationId,
        siteToken: this.options.token,
        ...(this.options.clientName === undefined ? {} : { client: this.options.clientName }),
      },
      reconnection: true,
      reconnectionDelay: connection.reconnectionDelayMs ?? 1000,
      reconnectionDelayMax: connection.reconnectionDelayMaxMs ?? 10_000,
      ...(connection.transports ? { transports: connection.transports } : {}),
      autoConnect: false,
    });
    this.socket = socket;

    socket.on('connect', () => {
      this.events.emit('connection', { connected: true, reason: null });
    });
    socket.on('disconnect', (reason) => {
      this.ready = false;
      this.events.emit('connection', { connected: false, reason });
      if (this.closed) return;
      // A server-side disconnect (e.g. a coordinator shutting down) does not reconnect by itself.
      if (reason === 'io server disconnect') this.scheduleReconnect();
    });
    socket.on('connect_error', (error) => {
      if (this.closed) return;
      const refusal = readConnectError(error);
      if (refusal && PERMANENT_CONNECT_ERRORS.includes(refusal.code)) {
        this.fail(new SiteError(refusal.code, refusal.message));
        return;
      }
      this.events.emit('connection', { connected: false, reason: refusal?.message ?? error.message });
      // Refusals from the coordinator's middleware (e.g. RATE_LIMITED) stop Socket.IO's own retries.
      if (!socket.active) this.scheduleReconnect();
    });
    socket.on('session:welcome', (payload) => {
      this.onWelcome(payload);
    });
    socket.on('round:update', (payload) => {
      const parsed = roundUpdateSchema.safeParse(payload);
      if (!parsed.success) {
        this.events.emit('error', { code: 'PROTOCOL_VIOLATION', message: 'malformed round:update from the coordinator', fatal: false });
        return;
      }
      this.onRoundUpdate(parsed.data);
    });
    socket.on('session:closed', (payload) => {
      const parsed = sessionClosedSchema.safeParse(payload);
      const code = parsed.success ? parsed.data.code : 'SESSION_REPLACED';
      this.fail(new SiteError(code, parsed.success ? parsed.data.message : 'the coordinator closed this session'));
    });
    socket.connect();
  }

  private scheduleReconnect(): void {
    if (this.reconnectTimer !== null || this.closed) return;
    const delay = this.options.connection?.reconnectionDelayMs ?? 1000;
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      if (!this.closed && this.socket && !this.socket.connected) this.socket.connect();
    }, delay);
  }

  private onWelcome(payload: unknown): void {
    const parsed = sessionWelcomeSchema.safeParse(payload);
    if (!parsed.success) {
      this.fail(new SiteError('PROTOCOL_VIOLATION', 'malformed session:welcome from the coordinator'));
      return;
    }
    const welcome = parsed.data;
    if (welcome.federation.id !== this.options.federationId) {
      this.fail(new SiteError('PROTOCOL_VIOLATION', `welcomed to federation ${welcome.federation.id}, asked for ${this.options.federationId}`));
      return;
    }
    if (this.welcome && this.welcome.site.id !== welcome.site.id) {
      this.fail(new SiteError('PROTOCOL_VIOLATION', 'the coordinator changed this site identity'));
      return;
    }
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
      this.preparation ??= this.prepare().catch((error: unknown) => {
        this.preparation = null;
        throw error;
      });
      await this.preparation;
      if (this.closed) return;
      const socket = this.socket;
      const data = this.data;
      const identity = this.identity;
      if (!socket?.connected || !data || !identity) return;
      const answer = await this.request(siteReadyAckSchema, 'site:ready', {
        encoderHash: identity.hash,
        trainSamples: rowsOf(data.train),
        testSamples: data.test ? rowsOf(data.test) : 0,
      });
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

  private identity: LocalEncoderIdentity | null = null;

  private async prepare(): Promise<void> {
    const federation = this.federation;
    if (!federation) return;
    const signal = this.abort.signal;
    if (!this.encoderChecked) {
      this.setStatus({ phase: 'loading', progress: null, round: null, message: `loading encoder ${federation.encoder.modelId}` });
      const encoder = this.options.encoder;
      const identity = typeof encoder === 'function' ? await encoder(federation, signal) : encoder;
      if (identity.hash !== federation.encoder.hash) {
        throw new SiteError(
          'ENCODER_MISMATCH',
          `This site's encoder (${identity.modelId}, hash ${identity.hash.slice(0, 12)}) differs from the federation's ` +
            `(${federation.encoder.modelId}, hash ${federation.encoder.hash.slice(0, 12)}): its features would not be comparable, so it does not take part.`,
        );
      }
      this.identity = identity;
      this.encoderChecked = true;
    }
    if (!this.features) this.features = await this.fetchFeatures(federation);
    if (!this.data) {
      this.setStatus({ phase: 'encoding', progress: 0, round: null, message: null });
      const data = await this.options.loadData({
        federation,
        signal,
        progress: (fraction, message) => {
          this.setStatus({ phase: 'encoding', progress: fraction, round: null, message: message ?? null });
        },
      });
      checkData(data, federation);
      this.data = data;
      this.setStatus({ phase: 'ready', progress: null, round: null, message: null });
    }
  }

  private async fetchFeatures(federation: FederationConfig): Promise<FederationFeatures> {
    const answer = await this.request(featuresAckSchema, 'features:get', {});
    if (!answer.ok) throw new SiteError(answer.code, answer.message);
    const dim = federation.encoder.featureDim;
    const expected: TensorSpec = {
      [FEATURE_TENSOR_NAMES.text]: [federation.classNames.length, dim],
      [FEATURE_TENSOR_NAMES.reference]: [federation.features.referenceCount, dim],
    };
    const decoded = decodeTensors(answer.data, { expected });
    const text = decoded.tensors[FEATURE_TENSOR_NAMES.text];
    const reference = decoded.tensors[FEATURE_TENSOR_NAMES.reference];
    if (!text || !reference) throw new SiteError('PROTOCOL_VIOLATION', 'features file lacks text or reference features');
    return { text: { dim, features: text.data }, reference: { dim, features: reference.data }, checksum: decoded.checksum };
  }

  private onRoundUpdate(update: RoundUpdate): void {
    if (this.closed) return;
    this.latest = update;
    this.events.emit('round', update);
    if (this.workingRound !== null && !this.keepsWorking(update, this.workingRound)) {
      this.roundAbort?.abort(new Error(`round ${this.workingRound} is over`));
    }
    this.dirty = true;
    void this.pump();
  }

  private keepsWorking(update: RoundUpdate, round: number): boolean {
    const open = update.status === 'training' || (update.status === 'paused' && update.pausedFrom === 'training');
    return update.round === round && open && update.participating;
  }

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

  /** Downloads the newest global model once the federation has ended, so the site keeps the final shared model. */
  private async fetchFinalModel(update: RoundUpdate): Promise<void> {
    const federation = this.federation;
    if (!federation || this.cachedModel?.round === update.latestModelRound) return;
    try {
      const answer = await this.request(modelAckSchema, 'model:get', { round: update.latestModelRound });
      if (!answer.ok) throw new SiteError(answer.code, answer.message);
      const state = decodeTensors(answer.data, { expected: specOf(federation.module.kind, federation.module.featureDim) }).tensors;
      this.cachedModel = { round: update.latestModelRound, state };
      this.events.emit('model', { round: update.latestModelRound, checksum: answer.checksum, bytes: answer.data.byteLength, state, final: true });
    } catch (error) {
      // The federation is over either way; the site just has no copy of the final model.
      this.events.emit('error', { code: error instanceof SiteError ? error.code : 'PROTOCOL_VIOLATION', message: `final model: ${error instanceof Error ? error.message : String(error)}`, fatal: false });
    }
  }

  private async act(update: RoundUpdate): Promise<void> {
    if (update.status === 'finished') {
      await this.fetchFinalModel(update);
      this.setStatus({ phase: 'finished', progress: null, round: update.round, message: null });
      this.finish({ reason: 'finished' });
      return;
    }
    if (update.status === 'stopped') {
      this.setStatus({ phase: 'stopped', progress: null, round: update.round, message: null });
      this.finish({ reason: 'stopped' });
      return;
    }
    if (!this.ready) return;
    if (update.submitted) {
      if (this.pending?.round === update.round) this.pending = null;
      this.doneRounds.add(update.round);
    }
    if (this.keepsWorking(update, update.round) && !update.submitted && !this.doneRounds.has(update.round)) {
      await this.takePart(update.round);
      return;
    }
    if (update.status === 'paused') {
      this.setStatus({ phase: 'paused', progress: null, round: update.round, message: null });
    } else if (update.submitted && update.status === 'training') {
      this.setStatus({ phase: 'submitted', progress: null, round: update.round, message: null });
    } else {
      const message = update.status === 'training' && !update.participating ? 'joined mid-round: training from the next round' : null;
      this.setStatus({ phase: 'waiting', progress: null, round: update.round, message });
    }
  }

  /** Trains and submits round `round` (or resubmits the update already trained for it). */
  private async takePart(round: number): Promise<void> {
    if (this.pending?.round !== round) {
      this.pending = null;
      this.workingRound = round;
      this.roundAbort = new AbortController();
      const signal = AbortSignal.any([this.abort.signal, this.roundAbort.signal]);
      try {
        this.pending = await this.train(round, signal);
      } catch (error) {
        if (signal.aborted) return;
        this.handleError(error, `round ${round}`);
        // A dropped connection is retried after the reconnection; anything else ends this round for the site.
        if (!(error instanceof SiteError && error.code === 'CONNECTION_LOST')) this.doneRounds.add(round);
        return;
      } finally {
        this.workingRound = null;
        this.roundAbort = null;
      }
    }
    await this.submit(this.pending);
  }

  private async train(round: number, signal: AbortSignal): Promise<PendingSubmission> {
    const federation = this.federation;
    const data = this.data;
    const features = this.features;
    if (!federation || !data || !features) throw new SiteError('PROTOCOL_VIOLATION', 'not prepared');
    const { kind, featureDim: dim } = federation.module;
    const spec = specOf(kind, dim);

    let state: ModuleState;
    if (this.cachedModel?.round === round - 1) {
      state = this.cachedModel.state;
    } else {
      this.setStatus({ phase: 'downloading', progress: null, round, message: null });
      const answer = await this.request(modelAckSchema, 'model:get', { round: round - 1 });
      if (!answer.ok) throw new SiteError(answer.code, answer.message);
      state = decodeTensors(answer.data, { expected: spec }).tensors;
      this.cachedModel = { round: round - 1, state };
      this.events.emit('model', { round: round - 1, checksum: answer.checksum, bytes: answer.data.byteLength, state, final: false });
    }
    signal.throwIfAborted();

    const module = FeatureAttention.fromState(kind, dim, state);
    try {
      let globalMetrics: EvalMetrics | null = null;
      if (data.test) {
        this.setStatus({ phase: 'evaluating', progress: null, round, message: 'global model on the local test split' });
        globalMetrics = toEvalMetrics(await evaluate(module, data.test, features.text));
        this.events.emit('evaluated', { round, model: 'global', metrics: globalMetrics });
      }
      signal.throwIfAborted();

      const training = federation.training;
      const method = getMethod(federation.method);
      this.optimizer ??= new AdamL2({
        learningRate: training.optimizer.learningRate,
        beta1: training.optimizer.betas[0],
        beta2: training.optimizer.betas[1],
        epsilon: training.optimizer.epsilon,
        weightDecay: training.optimizer.weightDecay,
      });
      this.setStatus({ phase: 'training', progress: 0, round, message: null });
      const started = Date.now();
      const result = await trainLocal(module, data.train, {
        textFeatures: features.text,
        lmmd: method.lmmd,
        reference: method.lmmd ? features.reference : null,
        seed: (this.options.seed ?? 0) * 100_003 + round,
        batchSize: training.batchSize,
        epochs: training.localEpochs,
        ...(training.maxStepsPerRound === null ? {} : { maxSteps: training.maxStepsPerRound }),
        optimizer: this.optimizer,
        signal,
        onStep: (progress) => {
          this.events.emit('step', { round, step: progress.step, totalSteps: progress.totalSteps, loss: progress.losses.total });
          this.setStatus({ phase: 'training', progress: progress.step / progress.totalSteps, round, message: null });
        },
      });
      const trainSeconds = (Date.now() - started) / 1000;

      let localMetrics: EvalMetrics | null = null;
      if (data.test) {
        this.setStatus({ phase: 'evaluating', progress: null, round, message: 'local model on the local test split' });
        localMetrics = toEvalMetrics(await evaluate(module, data.test, features.text));
        this.events.emit('evaluated', { round, model: 'local', metrics: localMetrics });
      }
      const trained = await module.exportState();
      signal.throwIfAborted();
      const losses = result.losses.map((l) => l.total).filter((l) => Number.isFinite(l));
      const metrics: SiteRoundMetrics = {
        trainLoss: losses.length > 0 ? losses.reduce((a, b) => a + b, 0) / losses.length : null,
        steps: result.steps,
        trainSeconds,
        globalModel: globalMetrics,
        localModel: localMetrics,
      };
      const { bytes } = encodeTensors(trained, { dtype: this.options.weightsDtype ?? 'float32', float32Names: counterNames(kind, dim) });
      return { round, bytes, sampleCount: result.numSamples, metrics };
    } finally {
      module.dispose();
    }
  }

  private async submit(pending: PendingSubmission): Promise<void> {
    const socket = this.socket;
    if (!socket?.connected) {
      this.setStatus({ phase: 'submitting', progress: null, round: pending.round, message: 'waiting for the connection to come back' });
      return; // resubmitted after the next welcome
    }
    this.setStatus({ phase: 'submitting', progress: null, round: pending.round, message: null });
    let answer: z.output<typeof submissionAckSchema>;
    try {
      answer = await this.request(
        submissionAckSchema,
        'round:submit',
        { federationId: this.options.federationId, round: pending.round, sampleCount: pending.sampleCount, weights: pending.bytes, metrics: pending.metrics },
        this.options.connection?.uploadTimeoutMs ?? 120_000,
      );
    } catch (error) {
      // Timeout or disconnection: the update stays pending and is sent again once reconnected.
      this.events.emit('error', { code: 'CONNECTION_LOST', message: `submission of round ${pending.round} not acknowledged: ${errorMessage(error)}`, fatal: false });
      return;
    }
    if (this.pending === pending) this.pending = null;
    this.doneRounds.add(pending.round);
    if (answer.ok) {
      this.acceptedRounds.push(pending.round);
      this.events.emit('submitted', {
        round: pending.round,
        sampleCount: pending.sampleCount,
        bytes: pending.bytes.byteLength,
        checksum: answer.checksum,
        duplicate: answer.duplicate,
        metrics: pending.metrics,
      });
      this.setStatus({ phase: 'submitted', progress: null, round: pending.round, message: null });
    } else {
      if (FATAL_SESSION_CODES.includes(answer.code)) {
        this.fail(new SiteError(answer.code, answer.message));
        return;
      }
      this.events.emit('refused', { round: pending.round, code: answer.code, message: answer.message });
      this.setStatus({ phase: 'waiting', progress: null, round: pending.round, message: `round ${pending.round} refused: ${answer.message}` });
    }
  }

  /** An acked request, validated against its ack schema. Throws on timeout, disconnection or a malformed answer. */
  private async request<S extends z.ZodType>(schema: S, event: keyof SiteClientEvents, payload: unknown, timeoutMs?: number): Promise<z.output<S>> {
    const socket = this.socket;
    if (!socket?.connected) throw new SiteError('CONNECTION_LOST', `not connected (${event})`);
    const timeout = timeoutMs ?? this.options.connection?.requestTimeoutMs ?? 30_000;
    const untyped = socket as unknown as Socket;
    // A lost connection fails the request at once (rather than at its timeout): the next welcome retries it.
    const raw: unknown = await new Promise((resolve, reject) => {
      const onDisconnect = (reason: string) => {
        reject(new SiteError('CONNECTION_LOST', `connection lost during ${event} (${reason})`));
      };
      untyped.once('disconnect', onDisconnect);
      untyped
        .timeout(timeout)
        .emitWithAck(event, payload)
        .then(resolve, (error: unknown) => {
          // Socket.IO rejects with a plain Error when the ack times out.
          reject(new SiteError('CONNECTION_LOST', `no answer to ${event} (${errorMessage(error)})`));
        })
        .finally(() => untyped.off('disconnect', onDisconnect));
    });
    const parsed = schema.safeParse(raw);
    if (!parsed.success) throw new SiteError('PROTOCOL_VIOLATION', `malformed answer to ${event}`);
    return parsed.data;
  }

  private setStatus(status: SiteStatusEvent): void {
    const phaseChanged = status.phase !== this.status.phase || status.round !== this.status.round;
    this.status = status;
    this.events.emit('status', status);
    const interval = this.options.statusIntervalMs ?? 500;
    const now = Date.now();
    if (phaseChanged || now - this.lastStatusSentAt >= interval) {
      this.sendStatus();
    } else {
      this.statusTimer ??= setTimeout(() => {
        this.statusTimer = null;
        this.sendStatus();
      }, interval - (now - this.lastStatusSentAt));
    }
  }

  private sendStatus(): void {
    const socket = this.socket;
    if (!socket?.connected || this.closed) return;
    this.lastStatusSentAt = Date.now();
    const { phase, progress, round, message } = this.status;
    socket.emit('site:status', { phase: phase satisfies SitePhase, progress, round, message: message?.slice(0, 300) ?? null });
  }

  private handleError(error: unknown, context: string): void {
    if (this.closed) return;
    if (error instanceof SiteError) {
      const fatal = error.code === 'ENCODER_MISMATCH' || error.code === 'LOCAL_DATA_INVALID' || FATAL_SESSION_CODES.includes(error.code);
      if (fatal) {
        this.fail(error);
        return;
      }
      this.events.emit('error', { code: error.code, message: `${context}: ${error.message}`, fatal: false });
      return;
    }
    if (error instanceof TensorEncodingError) {
      this.events.emit('error', { code: 'PROTOCOL_VIOLATION', message: `${context}: ${error.message}`, fatal: false });
      return;
    }
    this.events.emit('error', { code: 'TRAINING_FAILED', message: `${context}: ${errorMessage(error)}`, fatal: false });
    this.setStatus({ phase: 'error', progress: null, round: this.latest?.round ?? null, message: `${context}: ${errorMessage(error)}`.slice(0, 300) });
  }

  private fail(error: SiteError): void {
    if (this.closed) return;
    this.setStatus({ phase: 'error', progress: null, round: this.latest?.round ?? null, message: error.message.slice(0, 300) });
    this.events.emit('error', { code: error.code, message: error.message, fatal: true });
    this.close();
    this.settle?.reject(error);
  }

  private finish(result: { reason: SiteRunResult['reason'] }): void {
    if (this.closed) return;
    const outcome: SiteRunResult = { reason: result.reason, roundsSubmitted: [...this.acceptedRounds] };
    this.close();
    this.events.emit('finished', outcome);
    this.settle?.resolve(outcome);
  }

  private close(): void {
    this.closed = true;
    this.roundAbort?.abort(new Error('site closed'));
    if (!this.abort.signal.aborted) this.abort.abort(new Error('site closed'));
    if (this.statusTimer !== null) clearTimeout(this.statusTimer);
    if (this.reconnectTimer !== null) clearTimeout(this.reconnectTimer);
    const socket = this.socket;
    if (socket) {
      // Flush the last status (finished, stopped, error) before leaving.
      if (socket.connected) {
        const { phase, progress, round, message } = this.status;
        socket.emit('site:status', { phase, progress, round, message: message?.slice(0, 300) ?? null });
      }
      socket.disconnect();
    }
    // The optimizer may still be used by a training step that is unwinding; free it once that is done.
    const optimizer = this.optimizer;
    this.optimizer = null;
    if (optimizer) void this.waitIdle().then(() => { optimizer.dispose(); });
  }

  private async waitIdle(): Promise<void> {
    while (this.pumping) await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Creates a site client; call `run()` to take part. */
export function createSiteClient(options: SiteClientOptions): SiteClient {
  return new SiteClient(options);
}

function specOf(kind: FederationConfig['module']['kind'], dim: number): TensorSpec {
  return Object.fromEntries(moduleSpec(kind, dim).map((entry) => [entry.name, entry.shape]));
}

function counterNames(kind: FederationConfig['module']['kind'], dim: number): string[] {
  return moduleSpec(kind, dim).filter((entry) => entry.kind === 'counter').map((entry) => entry.name);
}

function rowsOf(set: FeatureSet): number {
  return set.dim > 0 ? Math.floor(set.features.length / set.dim) : 0;
}

function toEvalMetrics(evaluation: { accuracy: number; balancedAccuracy: number; count: number }): EvalMetrics {
  return { accuracy: evaluation.accuracy, balancedAccuracy: evaluation.balancedAccuracy, samples: evaluation.count };
}

function checkData(data: SiteData, federation: FederationConfig): void {
  const dim = federation.encoder.featureDim;
  const classes = federation.classNames.length;
  const check = (set: FeatureSet, what: string, minRows: number) => {
    if (set.dim !== dim) throw new SiteError('LOCAL_DATA_INVALID', `${what} features have dimension ${set.dim}; the federation's encoder gives ${dim}`);
    const rows = rowsOf(set);
    if (set.features.length !== rows * dim || set.labels.length !== rows) throw new SiteError('LOCAL_DATA_INVALID', `${what}: ${set.labels.length} labels for ${rows} feature rows`);
    if (rows < minRows) throw new SiteError('LOCAL_DATA_INVALID', `${what} has ${rows} images; at least ${minRows} are needed`);
    for (const label of set.labels) {
      if (!(label >= 0 && label < classes)) throw new SiteError('LOCAL_DATA_INVALID', `${what}: label ${label} is not one of the federation's ${classes} classes`);
    }
  };
  check(data.train, 'training data', 2);
  if (data.test) check(data.test, 'test data', 1);
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
