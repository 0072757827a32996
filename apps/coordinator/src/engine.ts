/**
 * The federations' round state machine. Every transition is written to the store (in one transaction) before it is
 * announced; timers only call back into the machine, which re-reads the store. Nothing here knows Socket.IO: the
 * gateways feed it with calls and receive announcements through {@link EngineListener}.
 *
 * ```
 *            quorum of ready sites                all participants submitted, or
 *   waiting ───────────────────────▶ training r ── deadline with >= quorum submissions ──▶ aggregating r
 *      ▲                              │    ▲                                                 │
 *      │                              └────┘ deadline with < quorum submissions:             │ global model r
 *      │                               extended (and opened to every ready site)             ▼ persisted
 *      └──────────────────── r < rounds ─────────────────────────────────────────────── published r
 *                                                                                            │ r = rounds
 *   any non-terminal state ── pause ──▶ paused ── resume ──▶ the state it came from           ▼
 *   any non-terminal state ── stop ───▶ stopped (open round abandoned)                     finished
 * ```
 */
import { AGGREGATION_STRATEGIES, AggregationError, moduleSpec, ModuleStateError, validateModuleState, type ModuleState } from '@facmic/learning';
import {
  ackError,
  ackOk,
  decodeTensors,
  encodedTensorsByteLength,
  encodeTensors,
  promptsFor,
  TensorEncodingError,
  type Ack,
  type AuditEntry,
  type ErrorCode,
  type EvalMetrics,
  type FederationConfig,
  type FederationStatus,
  type FederationSummary,
  type ParsedSubmission,
  type RoundSummary,
  type RoundUpdate,
  type SitePhase,
  type SiteSummary,
  type SubmissionSummary,
  type TensorSpec,
} from '@facmic/protocol';
import { performance } from 'node:perf_hooks';
import type { Clock, TimerHandle } from './clock.ts';
import type { Logger } from './logger.ts';
import type { CoordinatorStore, FederationRecord, FederationSettingsRecord, FederationStateRecord, RoundRecord, SiteRecord } from './store/store.ts';

/** Announcements from the engine to the gateways. Called after the store has the new state. */
export interface EngineListener {
  /** Federation state or round changed: sites need a fresh `round:update`, admins `federation:updated`. */
  federationChanged(federationId: string): void;
  roundChanged(federationId: string, round: number): void;
  siteChanged(siteId: string): void;
  /** Disconnect a site for good (revoked, federation deleted). */
  closeSite(siteId: string, code: 'TOKEN_REVOKED' | 'UNKNOWN_FEDERATION', message: string): void;
  federationDeleted(federationId: string): void;
  audit(entry: AuditEntry): void;
}

/** Computes a global model's accuracy on the federation's global test set (null when it has none). */
export type GlobalEvaluator = (federation: FederationRecord, state: ModuleState) => Promise<EvalMetrics | null>;

export interface EngineOptions {
  store: CoordinatorStore;
  clock: Clock;
  logger: Logger;
  evaluateGlobal?: GlobalEvaluator;
  /** After a restart, an open round whose deadline passed while the coordinator was down gets this long (ms). */
  reconnectGraceMs?: number;
  /** Keep submission weights of this many most recent rounds (null: all). */
  keepSubmissionWeightsRounds?: number | null;
}

/** Live, in-memory state of a connected site (never stored: it is rebuilt when sites reconnect). */
interface Presence {
  siteId: string;
  federationId: string;
  sessionId: string;
  ready: boolean;
  encoderHash: string | null;
  trainSamples: number | null;
  testSamples: number | null;
  phase: SitePhase | null;
  progress: number | null;
  phaseRound: number | null;
  message: string | null;
  client: string | null;
}

export class EngineError extends Error {
  override readonly name = 'EngineError';
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
  }
}

const TERMINAL: readonly FederationStatus[] = ['stopped', 'finished'];
/** Margin over the float32 size of a module for a submission (header differences). */
const WEIGHTS_MARGIN_BYTES = 64 * 1024;

export class FederationEngine {
  private readonly store: CoordinatorStore;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly evaluateGlobal: GlobalEvaluator | undefined;
  private readonly reconnectGraceMs: number;
  private readonly keepRounds: number | null;
  private readonly presence = new Map<string, Presence>();
  private readonly timers = new Map<string, TimerHandle>();
  /** Paced rounds (`minRoundSeconds`) whose updates are all in: the timer closes them at their shortest length. */
  private readonly paceTimers = new Map<string, TimerHandle>();
  private readonly listeners: EngineListener[] = [];
  private readonly strategy = AGGREGATION_STRATEGIES.fedavg();
  private readonly evaluations = new Set<Promise<void>>();
  private stopped = false;

  constructor(options: EngineOptions) {
    this.store = options.store;
    this.clock = options.clock;
    this.logger = options.logger;
    this.evaluateGlobal = options.evaluateGlobal;
    this.reconnectGraceMs = options.reconnectGraceMs ?? 30_000;
    this.keepRounds = options.keepSubmissionWeightsRounds ?? null;
  }

  addListener(listener: EngineListener): void {
    this.listeners.push(listener);
  }

  private announce(fn: (l: EngineListener) => void): void {
    for (const listener of this.listeners) {
      try {
        fn(listener);
      } catch (error) {
        this.logger.error('announcement failed', { error });
      }
    }
  }

  private audit(actor: string, action: string, federationId: string | null, details: Record<string, unknown> = {}): void {
    const entry = this.store.appendAudit({ at: this.clock.now(), actor, action, federationId, details });
    this.announce((l) => { l.audit(entry); });
  }

  /** Audits an admin action taken outside the state machine (a new demo run), and tells the dashboards. */
  recordAudit(actor: string, action: string, federationId: string | null, details: Record<string, unknown> = {}): void {
    this.audit(actor, action, federationId, details);
  }

  // ---- life cycle ---------------------------------------------------------------------------------------------

  /** After a (re)start: re-arm deadlines, finish interrupted aggregations, evaluate models that lack metrics. */
  recover(): void {
    for (const federation of this.store.listFederations()) {
      if (federation.status === 'aggregating') {
        this.logger.info('resuming an interrupted aggregation', { federation: federation.id, round: federation.round });
        this.aggregate(federation.id, federation.round);
        continue;
      }
      if (federation.status === 'training' && federation.deadline !== null) {
        const now = this.clock.now();
        if (federation.deadline < now + this.reconnectGraceMs) {
          const deadline = now + this.reconnectGraceMs;
          this.store.transaction(() => {
            this.store.updateFederationState(federation.id, { ...stateOf(federation), deadline }, now);
            this.store.updateRound(federation.id, federation.round, { deadline });
          });
          this.logger.info('open round resumed with a grace period for sites to reconnect', { federation: federation.id, round: federation.round, graceMs: this.reconnectGraceMs });
        }
        this.armDeadline(federation.id);
        // A paced round may have had every update before the restart.
        this.maybeCloseRound(federation.id);
      }
      if (federation.hasGlobalTest) {
        for (const model of this.store.listGlobalModels(federation.id)) {
          if (model.metrics === null) this.scheduleEvaluation(federation.id, model.round);
        }
      }
    }
  }

  /** Cancels timers; pending evaluations are awaited. */
  async shutdown(): Promise<void> {
    this.stopped = true;
    for (const timer of [...this.timers.values(), ...this.paceTimers.values()]) timer.cancel();
    this.timers.clear();
    this.paceTimers.clear();
    await Promise.allSettled([...this.evaluations]);
  }

  // ---- federations --------------------------------------------------------------------------------------------

  /** Creates a federation (its initial model is round 0's global model) in state `waiting`. */
  createFederation(input: {
    id: string;
    settings: FederationSettingsRecord;
    encoder: FederationRecord['encoder'];
    features: Uint8Array;
    featuresChecksum: string;
    referenceCount: number;
    globalTest: Uint8Array | null;
    initialState: ModuleState;
    isDemo: boolean;
    actor: string;
  }): FederationRecord {
    const now = this.clock.now();
    const record: FederationRecord = {
      id: input.id,
      settings: input.settings,
      encoder: input.encoder,
      featuresChecksum: input.featuresChecksum,
      referenceCount: input.referenceCount,
      hasGlobalTest: input.globalTest !== null,
      isDemo: input.isDemo,
      status: 'waiting',
      pausedFrom: null,
      round: 0,
      deadline: null,
      pausedRemainingMs: null,
      createdAt: now,
      updatedAt: now,
    };
    const kind = input.settings.method;
    validateModuleState(kind, input.encoder.featureDim, input.initialState);
    const weights = encodeTensors(input.initialState);
    const checksum = decodeTensors(weights).checksum;
    this.store.transaction(() => {
      this.store.insertFederation(record, input.features, input.globalTest);
      this.store.insertGlobalModel({ federationId: record.id, round: 0, weights, checksum, contributors: [], totalSamples: 0, metrics: null, createdAt: now });
      this.audit(input.actor, 'federation.created', record.id, { name: record.settings.name, method: kind, rounds: record.settings.rounds, quorum: record.settings.quorum });
    });
    this.announce((l) => { l.federationChanged(record.id); });
    if (record.hasGlobalTest) this.scheduleEvaluation(record.id, 0);
    return record;
  }

  updateSettings(
    federationId: string,
    patch: Partial<Pick<FederationSettingsRecord, 'name' | 'rounds' | 'quorum' | 'roundDeadlineSeconds' | 'minRoundSeconds'>>,
    actor: string,
  ): FederationRecord {
    const federation = this.requireFederation(federationId);
    if (TERMINAL.includes(federation.status)) throw new EngineError('INVALID_TRANSITION', `the federation is ${federation.status}; its settings can no longer change`);
    const minRoundSeconds = patch.minRoundSeconds ?? federation.settings.minRoundSeconds;
    const roundDeadlineSeconds = patch.roundDeadlineSeconds ?? federation.settings.roundDeadlineSeconds;
    if (minRoundSeconds >= roundDeadlineSeconds) {
      throw new EngineError('BAD_REQUEST', `the shortest round (${minRoundSeconds} s) must be shorter than the round deadline (${roundDeadlineSeconds} s)`);
    }
    if (patch.rounds !== undefined && patch.rounds < federation.round) {
      throw new EngineError('INVALID_TRANSITION', `round ${federation.round} has already started; rounds cannot be fewer`);
    }
    if (patch.rounds !== undefined && patch.rounds === federation.round && federation.status !== 'waiting') {
      throw new EngineError('INVALID_TRANSITION', `round ${federation.round} is still open; set rounds to at least ${federation.round}`);
    }
    const settings = { ...federation.settings, ...patch };
    const now = this.clock.now();
    this.store.transaction(() => {
      this.store.updateFederationSettings(federationId, settings, now);
      if (settings.rounds === federation.round && federation.status === 'waiting') {
        this.store.updateFederationState(federationId, { ...stateOf(federation), status: 'finished' }, now);
      }
      this.audit(actor, 'federation.updated', federationId, { ...patch });
    });
    this.announce((l) => { l.federationChanged(federationId); });
    this.maybeStartRound(federationId);
    this.maybeCloseRound(federationId);
    return this.requireFederation(federationId);
  }

  pause(federationId: string, actor: string): FederationRecord {
    const federation = this.requireFederation(federationId);
    if (federation.status !== 'waiting' && federation.status !== 'training') {
      throw new EngineError('INVALID_TRANSITION', `a ${federation.status} federation cannot be paused`);
    }
    const now = this.clock.now();
    const remaining = federation.deadline === null ? null : Math.max(0, federation.deadline - now);
    this.store.transaction(() => {
      this.store.updateFederationState(federationId, { status: 'paused', pausedFrom: federation.status, round: federation.round, deadline: null, pausedRemainingMs: remaining }, now);
      if (federation.status === 'training') this.store.updateRound(federationId, federation.round, { deadline: null });
      this.audit(actor, 'federation.paused', federationId, { round: federation.round, from: federation.status });
    });
    this.cancelDeadline(federationId);
    this.cancelPace(federationId);
    this.announce((l) => { l.federationChanged(federationId); });
    if (federation.status === 'training') this.announce((l) => { l.roundChanged(federationId, federation.round); });
    return this.requireFederation(federationId);
  }

  resume(federationId: string, actor: string): FederationRecord {
    const federation = this.requireFederation(federationId);
    if (federation.status !== 'paused' || federation.pausedFrom === null) throw new EngineError('INVALID_TRANSITION', `a ${federation.status} federation cannot be resumed`);
    const now = this.clock.now();
    const from = federation.pausedFrom;
    const deadline = from === 'training' ? now + (federation.pausedRemainingMs ?? federation.settings.roundDeadlineSeconds * 1000) : null;
    this.store.transaction(() => {
      this.store.updateFederationState(federationId, { status: from, pausedFrom: null, round: federation.round, deadline, pausedRemainingMs: null }, now);
      if (from === 'training') this.store.updateRound(federationId, federation.round, { deadline });
      this.audit(actor, 'federation.resumed', federationId, { round: federation.round, to: from });
    });
    this.announce((l) => { l.federationChanged(federationId); });
    if (from === 'training') {
      this.announce((l) => { l.roundChanged(federationId, federation.round); });
      this.armDeadline(federationId);
      this.maybeCloseRound(federationId);
    } else {
      this.maybeStartRound(federationId);
    }
    return this.requireFederation(federationId);
  }

  stop(federationId: string, actor: string): FederationRecord {
    const federation = this.requireFederation(federationId);
    if (TERMINAL.includes(federation.status)) throw new EngineError('INVALID_TRANSITION', `the federation is already ${federation.status}`);
    const now = this.clock.now();
    const openRound = this.openRoundOf(federation);
    this.store.transaction(() => {
      if (openRound !== null) this.store.updateRound(federationId, openRound, { status: 'abandoned', closedAt: now, deadline: null });
      this.store.updateFederationState(federationId, { status: 'stopped', pausedFrom: null, round: federation.round, deadline: null, pausedRemainingMs: null }, now);
      this.audit(actor, 'federation.stopped', federationId, { round: federation.round, abandonedRound: openRound });
    });
    this.cancelDeadline(federationId);
    this.cancelPace(federationId);
    this.announce((l) => { l.federationChanged(federationId); });
    if (openRound !== null) this.announce((l) => { l.roundChanged(federationId, openRound); });
    return this.requireFederation(federationId);
  }

  deleteFederation(federationId: string, actor: string): void {
    const federation = this.requireFederation(federationId);
    this.cancelDeadline(federationId);
    this.cancelPace(federationId);
    const sites = this.store.listSites(federationId);
    this.store.transaction(() => {
      this.store.deleteFederation(federationId);
      this.audit(actor, 'federation.deleted', federationId, { name: federation.settings.name });
    });
    for (const site of sites) {
      if (this.presence.has(site.id)) this.announce((l) => { l.closeSite(site.id, 'UNKNOWN_FEDERATION', 'the federation was deleted'); });
      this.presence.delete(site.id);
    }
    this.announce((l) => { l.federationDeleted(federationId); });
  }

  // ---- sites ----------------------------------------------------------------------------------------------------

  createSite(input: { id: string; federationId: string; name: string; tokenHash: string; virtual: boolean; actor: string }): SiteRecord {
    const federation = this.requireFederation(input.federationId);
    const record: SiteRecord = {
      id: input.id,
      federationId: federation.id,
      name: input.name,
      tokenHash: input.tokenHash,
      createdAt: this.clock.now(),
      revokedAt: null,
      firstSeenAt: null,
      lastSeenAt: null,
      client: null,
      virtual: input.virtual,
    };
    this.store.transaction(() => {
      this.store.insertSite(record);
      this.audit(input.actor, 'invite.created', federation.id, { siteId: record.id, name: record.name, virtual: record.virtual });
    });
    this.announce((l) => { l.siteChanged(record.id); });
    this.announce((l) => { l.federationChanged(federation.id); });
    return record;
  }

  revokeSite(federationId: string, siteId: string, actor: string): SiteRecord {
    const site = this.store.getSite(siteId);
    if (site?.federationId !== federationId) throw new EngineError('NOT_FOUND', `no site ${siteId} in federation ${federationId}`);
    if (site.revokedAt !== null) return site;
    const now = this.clock.now();
    this.store.transaction(() => {
      this.store.updateSite(siteId, { revokedAt: now });
      this.audit(actor, 'invite.revoked', federationId, { siteId, name: site.name });
    });
    if (this.presence.has(siteId)) this.announce((l) => { l.closeSite(siteId, 'TOKEN_REVOKED', 'the invite of this site was revoked'); });
    this.presence.delete(siteId);
    this.announce((l) => { l.siteChanged(siteId); });
    this.announce((l) => { l.federationChanged(federationId); });
    this.maybeCloseRound(federationId);
    return { ...site, revokedAt: now };
  }

  /**
   * A site connected. Returns the session id of a connection it replaces (the gateway closes that one), or null.
   */
  siteConnected(site: SiteRecord, sessionId: string, client: string | null): string | null {
    const previous = this.presence.get(site.id);
    this.presence.set(site.id, {
      siteId: site.id,
      federationId: site.federationId,
      sessionId,
      ready: false,
      encoderHash: null,
      trainSamples: previous?.trainSamples ?? null,
      testSamples: previous?.testSamples ?? null,
      phase: 'connecting',
      progress: null,
      phaseRound: null,
      message: null,
      client,
    });
    const now = this.clock.now();
    this.store.transaction(() => {
      this.store.updateSite(site.id, { lastSeenAt: now, client, ...(site.firstSeenAt === null ? { firstSeenAt: now } : {}) });
      if (site.firstSeenAt === null) this.audit(`site:${site.id}`, 'site.joined', site.federationId, { name: site.name, client });
    });
    this.announce((l) => { l.siteChanged(site.id); });
    this.announce((l) => { l.federationChanged(site.federationId); });
    return previous && previous.sessionId !== sessionId ? previous.sessionId : null;
  }

  siteDisconnected(siteId: string, sessionId: string): void {
    const presence = this.presence.get(siteId);
    if (presence?.sessionId !== sessionId) return; // an older, replaced session
    this.presence.delete(siteId);
    if (this.store.getSite(siteId)) this.store.updateSite(siteId, { lastSeenAt: this.clock.now() });
    this.announce((l) => { l.siteChanged(siteId); });
    this.announce((l) => { l.federationChanged(presence.federationId); });
  }

  /** `site:ready`: the site's encoder matches and its data is encoded; it now counts towards quorum. */
  siteReady(siteId: string, sessionId: string, info: { encoderHash: string; trainSamples: number; testSamples: number }): Ack<{ round: RoundUpdate }> {
    const presence = this.presence.get(siteId);
    if (presence?.sessionId !== sessionId) return ackError('SESSION_REPLACED', 'this connection was replaced by a newer one');
    const federation = this.requireFederation(presence.federationId);
    if (info.encoderHash !== federation.encoder.hash) {
      return ackError('ENCODER_MISMATCH', `the federation uses encoder ${federation.encoder.modelId} (hash ${federation.encoder.hash.slice(0, 12)}); this site's differs`);
    }
    presence.ready = true;
    presence.encoderHash = info.encoderHash;
    presence.trainSamples = info.trainSamples;
    presence.testSamples = info.testSamples;
    this.announce((l) => { l.siteChanged(siteId); });
    this.announce((l) => { l.federationChanged(federation.id); });
    this.maybeStartRound(federation.id);
    this.maybeCloseRound(federation.id);
    return ackOk({ round: this.roundUpdateFor(siteId) });
  }

  siteStatus(siteId: string, sessionId: string, status: { phase: SitePhase; progress: number | null; round: number | null; message: string | null }): void {
    const presence = this.presence.get(siteId);
    if (presence?.sessionId !== sessionId) return;
    presence.phase = status.phase;
    presence.progress = status.progress;
    presence.phaseRound = status.round;
    presence.message = status.message;
    this.announce((l) => { l.siteChanged(siteId); });
  }

  isCurrentSession(siteId: string, sessionId: string): boolean {
    return this.presence.get(siteId)?.sessionId === sessionId;
  }

  // ---- transfers ----------------------------------------------------------------------------------------------

  /** The global model after `round`, as stored (float32 tensor file). Counts the bytes sent. */
  globalModelForSite(federationId: string, round: number): Ack<{ round: number; checksum: string; data: Uint8Array }> {
    const federation = this.requireFederation(federationId);
    const model = this.store.getGlobalModel(federationId, round);
    if (!model || round > federation.round) return ackError('NOT_FOUND', `no global model for round ${round}`);
    this.store.addTraffic(federationId, round + 1, { bytesReceived: 0, bytesSent: model.weights.byteLength });
    return ackOk({ round, checksum: model.checksum, data: model.weights });
  }

  /** The text and reference features file. Counts the bytes sent towards the open (or next) round. */
  featuresForSite(federationId: string): Ack<{ checksum: string; data: Uint8Array }> {
    const federation = this.requireFederation(federationId);
    const features = this.store.getFederationFeatures(federationId);
    if (!features) return ackError('NOT_FOUND', 'the federation has no features');
    const round = this.openRoundOf(federation) ?? federation.round + 1;
    if (!TERMINAL.includes(federation.status)) this.store.addTraffic(federationId, round, { bytesReceived: 0, bytesSent: features.byteLength });
    return ackOk({ checksum: federation.featuresChecksum, data: features });
  }

  /** Largest tensor file accepted as a submission for this federation. */
  maxWeightsBytes(federation: FederationRecord): number {
    return encodedTensorsByteLength(this.specOf(federation), 'float32') + WEIGHTS_MARGIN_BYTES;
  }

  specOf(federation: FederationRecord): TensorSpec {
    return Object.fromEntries(moduleSpec(federation.settings.method, federation.encoder.featureDim).map((e) => [e.name, e.shape]));
  }

  /**
   * `round:submit` after schema validation. Refusals change nothing in the store; an accepted submission is stored
   * (weights and metadata, in one transaction) before it is acknowledged.
   */
  submit(siteId: string, sessionFederationId: string, submission: ParsedSubmission): Ack<{ round: number; checksum: string; duplicate: boolean }> {
    if (submission.federationId !== sessionFederationId) {
      return ackError('FOREIGN_SUBMISSION', `this site belongs to federation ${sessionFederationId}, not ${submission.federationId}`);
    }
    const federation = this.store.getFederation(sessionFederationId);
    if (!federation) return ackError('UNKNOWN_FEDERATION', 'the federation no longer exists');
    const { round } = submission;

    const existing = this.store.getSubmission(federation.id, round, siteId);
    if (existing) {
      const sameBytes = existing.weights ? Buffer.compare(Buffer.from(existing.weights), Buffer.from(submission.weights)) === 0 : existing.bytes === submission.weights.byteLength;
      if (sameBytes && existing.sampleCount === submission.sampleCount) return ackOk({ round, checksum: existing.checksum, duplicate: true });
      return ackError('DUPLICATE_SUBMISSION', `this site already submitted other weights for round ${round}`);
    }
    if (federation.status === 'stopped') return ackError('FEDERATION_STOPPED', 'the federation was stopped');
    if (federation.status === 'finished') return ackError('FEDERATION_FINISHED', 'the federation finished all its rounds');
    const openRound = this.openRoundOf(federation);
    if (round < federation.round) return ackError('STALE_ROUND', `round ${round} is over; the current round is ${federation.round}`);
    if (round > federation.round) return ackError('WRONG_ROUND', `round ${round} has not started (current round: ${federation.round})`);
    if (openRound !== round) return ackError('ROUND_CLOSED', `round ${round} no longer accepts submissions (${federation.status})`);
    const roundRecord = this.store.getRound(federation.id, round);
    if (!roundRecord?.participants.includes(siteId)) {
      return ackError('NOT_A_PARTICIPANT', `this site is not a participant of round ${round}; it trains from the next round`);
    }
    const maxBytes = this.maxWeightsBytes(federation);
    if (submission.weights.byteLength > maxBytes) {
      return ackError('PAYLOAD_TOO_LARGE', `${submission.weights.byteLength} bytes of weights; this federation's module is at most ${maxBytes}`);
    }
    let checksum: string;
    let dtype: 'float32' | 'float16' | 'mixed';
    try {
      const decoded = decodeTensors(submission.weights, { expected: this.specOf(federation), maxBytes });
      validateModuleState(federation.settings.method, federation.encoder.featureDim, decoded.tensors);
      checksum = decoded.checksum;
      const dtypes = new Set(Object.entries(decoded.dtypes).filter(([name]) => !name.endsWith('num_batches_tracked')).map(([, d]) => d));
      dtype = dtypes.size === 1 ? ([...dtypes][0] as 'float32' | 'float16') : 'mixed';
    } catch (error) {
      if (error instanceof TensorEncodingError) return ackError(error.code, error.message);
      if (error instanceof ModuleStateError) return ackError(error.code === 'non-finite' ? 'NON_FINITE_WEIGHTS' : 'BAD_WEIGHTS', error.message);
      throw error;
    }

    const now = this.clock.now();
    this.store.transaction(() => {
      this.store.insertSubmission({
        federationId: federation.id,
        round,
        siteId,
        sampleCount: submission.sampleCount,
        weights: submission.weights,
        checksum,
        bytes: submission.weights.byteLength,
        dtype,
        metrics: submission.metrics,
        receivedAt: now,
      });
      this.store.updateRound(federation.id, round, { lastSubmissionAt: now });
      this.store.addTraffic(federation.id, round, { bytesReceived: submission.weights.byteLength, bytesSent: 0 });
    });
    this.logger.debug('submission accepted', { federation: federation.id, round, site: siteId, samples: submission.sampleCount, bytes: submission.weights.byteLength });
    this.announce((l) => { l.roundChanged(federation.id, round); });
    this.announce((l) => { l.federationChanged(federation.id); });
    this.announce((l) => { l.siteChanged(siteId); });
    // Acknowledge first (the caller sends the ack when this returns); close the round on the next tick.
    queueMicrotask(() => { this.maybeCloseRound(federation.id); });
    return ackOk({ round, checksum, duplicate: false });
  }

  // ---- transitions --------------------------------------------------------------------------------------------

  private openRoundOf(federation: FederationRecord): number | null {
    if (federation.status === 'training' || federation.status === 'aggregating') return federation.status === 'training' ? federation.round : null;
    if (federation.status === 'paused' && federation.pausedFrom === 'training') return federation.round;
    return null;
  }

  private readySites(federationId: string): string[] {
    const ids: string[] = [];
    for (const p of this.presence.values()) if (p.federationId === federationId && p.ready) ids.push(p.siteId);
    return ids.sort();
  }

  /** waiting -> training r + 1 when enough ready sites are connected. */
  maybeStartRound(federationId: string): void {
    if (this.stopped) return;
    const federation = this.store.getFederation(federationId);
    if (federation?.status !== 'waiting') return;
    if (federation.round >= federation.settings.rounds) return;
    const ready = this.readySites(federationId);
    if (ready.length < federation.settings.quorum) return;
    const now = this.clock.now();
    const round = federation.round + 1;
    const deadline = now + federation.settings.roundDeadlineSeconds * 1000;
    this.store.transaction(() => {
      this.store.insertRound({
        federationId,
        round,
        status: 'training',
        startedAt: now,
        deadline,
        closedAt: null,
        publishedAt: null,
        participants: ready,
        extensions: 0,
        lastSubmissionAt: null,
        aggregationMs: null,
      });
      this.store.updateFederationState(federationId, { status: 'training', pausedFrom: null, round, deadline, pausedRemainingMs: null }, now);
      this.audit('coordinator', 'round.started', federationId, { round, participants: ready, deadline });
    });
    this.logger.info('round started', { federation: federationId, round, participants: ready.length });
    this.armDeadline(federationId);
    this.announce((l) => { l.federationChanged(federationId); });
    this.announce((l) => { l.roundChanged(federationId, round); });
  }

  /**
   * training r -> aggregating r when every participant has submitted and quorum holds, and a paced round
   * (`minRoundSeconds`) has run its shortest length; until then a timer waits for it.
   */
  maybeCloseRound(federationId: string): void {
    if (this.stopped) return;
    const federation = this.store.getFederation(federationId);
    if (federation?.status !== 'training') return;
    const round = this.store.getRound(federationId, federation.round);
    if (!round) return;
    const submitted = new Set(this.store.listSubmissions(federationId, round.round).map((s) => s.siteId));
    if (submitted.size < federation.settings.quorum || submitted.size === 0) return;
    const active = round.participants.filter((id) => {
      const site = this.store.getSite(id);
      return site !== null && site.revokedAt === null;
    });
    if (!active.every((id) => submitted.has(id))) return;
    const earliestClose = round.startedAt + federation.settings.minRoundSeconds * 1000;
    const wait = earliestClose - this.clock.now();
    if (wait > 0) {
      if (!this.paceTimers.has(federationId)) {
        this.paceTimers.set(federationId, this.clock.setTimer(wait, () => {
          this.paceTimers.delete(federationId);
          this.maybeCloseRound(federationId);
        }));
      }
      return;
    }
    this.aggregate(federationId, round.round);
  }

  private onDeadline(federationId: string, roundNumber: number): void {
    this.timers.delete(federationId);
    if (this.stopped) return;
    const federation = this.store.getFederation(federationId);
    if (federation?.status !== 'training' || federation.round !== roundNumber || federation.deadline === null) return;
    const now = this.clock.now();
    if (now < federation.deadline) {
      this.armDeadline(federationId);
      return;
    }
    const submissions = this.store.listSubmissions(federationId, roundNumber).length;
    if (submissions >= federation.settings.quorum && submissions > 0) {
      this.logger.info('deadline passed: aggregating without the sites that did not submit', { federation: federationId, round: roundNumber, submissions });
      this.aggregate(federationId, roundNumber);
      return;
    }
    // Too few submissions: extend the round and open it to every ready site (newcomers included).
    const round = this.store.getRound(federationId, roundNumber);
    if (!round) return;
    const deadline = now + federation.settings.roundDeadlineSeconds * 1000;
    const participants = [...new Set([...round.participants, ...this.readySites(federationId)])].sort();
    this.store.transaction(() => {
      this.store.updateRound(federationId, roundNumber, { deadline, extensions: round.extensions + 1, participants });
      this.store.updateFederationState(federationId, { ...stateOf(federation), deadline }, now);
      this.audit('coordinator', 'round.extended', federationId, { round: roundNumber, submissions, quorum: federation.settings.quorum, deadline, participants });
    });
    this.logger.info('deadline passed below quorum: round extended', { federation: federationId, round: roundNumber, submissions, quorum: federation.settings.quorum });
    this.armDeadline(federationId);
    this.announce((l) => { l.federationChanged(federationId); });
    this.announce((l) => { l.roundChanged(federationId, roundNumber); });
  }

  /**
   * aggregating r -> published r: FedAvg (sample-weighted) of the round's accepted submissions. Runs synchronously,
   * between two transactions: a crash in between leaves the federation `aggregating`, and `recover()` runs it again.
   */
  private aggregate(federationId: string, roundNumber: number): void {
    const started = performance.now();
    const federation = this.store.getFederation(federationId);
    if (!federation) return;
    const now = this.clock.now();
    if (federation.status !== 'aggregating') {
      this.store.transaction(() => {
        this.store.updateFederationState(federationId, { status: 'aggregating', pausedFrom: null, round: roundNumber, deadline: null, pausedRemainingMs: null }, now);
        this.store.updateRound(federationId, roundNumber, { status: 'aggregating', closedAt: now, deadline: null });
      });
      this.cancelDeadline(federationId);
      this.cancelPace(federationId);
      this.announce((l) => { l.federationChanged(federationId); });
    }
    const submissions = this.store.listSubmissions(federationId, roundNumber, { withWeights: true });
    const spec = this.specOf(federation);
    let state: ModuleState;
    try {
      const updates = submissions.map((s) => {
        if (!s.weights) throw new AggregationError('no-updates', `the weights of ${s.siteId} were pruned`);
        return { state: decodeTensors(s.weights, { expected: spec }).tensors, numSamples: s.sampleCount, clientId: s.siteId };
      });
      state = this.strategy.aggregateTrain(updates);
    } catch (error) {
      // Submissions were validated on receipt, so this means a bug or a damaged store: pause and tell the admin.
      this.logger.error('aggregation failed; federation paused', { federation: federationId, round: roundNumber, error });
      this.store.transaction(() => {
        const remaining = federation.settings.roundDeadlineSeconds * 1000;
        this.store.updateFederationState(federationId, { status: 'paused', pausedFrom: 'training', round: roundNumber, deadline: null, pausedRemainingMs: remaining }, now);
        this.store.updateRound(federationId, roundNumber, { status: 'training', closedAt: null });
        this.audit('coordinator', 'round.aggregation-failed', federationId, { round: roundNumber, error: error instanceof Error ? error.message : String(error) });
      });
      this.announce((l) => { l.federationChanged(federationId); });
      return;
    }
    const weights = encodeTensors(state);
    const checksum = decodeTensors(weights).checksum;
    const publishedAt = this.clock.now();
    const finished = roundNumber >= federation.settings.rounds;
    const totalSamples = submissions.reduce((sum, s) => sum + s.sampleCount, 0);
    const contributors = submissions.map((s) => s.siteId);
    this.store.transaction(() => {
      this.store.insertGlobalModel({ federationId, round: roundNumber, weights, checksum, contributors, totalSamples, metrics: null, createdAt: publishedAt });
      this.store.updateRound(federationId, roundNumber, { status: 'published', publishedAt, aggregationMs: performance.now() - started });
      this.store.updateFederationState(federationId, { status: finished ? 'finished' : 'waiting', pausedFrom: null, round: roundNumber, deadline: null, pausedRemainingMs: null }, publishedAt);
      if (this.keepRounds !== null) this.store.pruneSubmissionWeights(federationId, roundNumber - this.keepRounds + 1);
      this.audit('coordinator', 'round.published', federationId, { round: roundNumber, contributors, totalSamples, checksum });
      if (finished) this.audit('coordinator', 'federation.finished', federationId, { rounds: roundNumber });
    });
    this.logger.info(finished ? 'final global model published: federation finished' : 'global model published', {
      federation: federationId,
      round: roundNumber,
      contributors: contributors.length,
      samples: totalSamples,
    });
    this.announce((l) => { l.federationChanged(federationId); });
    this.announce((l) => { l.roundChanged(federationId, roundNumber); });
    if (federation.hasGlobalTest) this.scheduleEvaluation(federationId, roundNumber, state);
    this.maybeStartRound(federationId);
  }

  private scheduleEvaluation(federationId: string, round: number, state?: ModuleState): void {
    const evaluate = this.evaluateGlobal;
    if (!evaluate) return;
    const task = (async () => {
      const federation = this.store.getFederation(federationId);
      if (!federation) return;
      let moduleState = state;
      if (!moduleState) {
        const model = this.store.getGlobalModel(federationId, round);
        if (!model) return;
        moduleState = decodeTensors(model.weights).tensors;
      }
      const metrics = await evaluate(federation, moduleState);
      if (!metrics || this.stopped || !this.store.getFederation(federationId)) return;
      this.store.setGlobalModelMetrics(federationId, round, metrics);
      this.logger.info('global test', { federation: federationId, round, accuracy: metrics.accuracy, balancedAccuracy: metrics.balancedAccuracy });
      if (round > 0) this.announce((l) => { l.roundChanged(federationId, round); });
      this.announce((l) => { l.federationChanged(federationId); });
    })().catch((error: unknown) => {
      this.logger.error('global test evaluation failed', { federation: federationId, round, error });
    });
    this.evaluations.add(task);
    void task.finally(() => this.evaluations.delete(task));
  }

  /** Resolves when pending global-test evaluations are done (tests). */
  async idle(): Promise<void> {
    while (this.evaluations.size > 0) await Promise.allSettled([...this.evaluations]);
  }

  private armDeadline(federationId: string): void {
    this.cancelDeadline(federationId);
    const federation = this.store.getFederation(federationId);
    if (federation?.status !== 'training' || federation.deadline === null) return;
    const round = federation.round;
    const delay = Math.max(0, federation.deadline - this.clock.now());
    this.timers.set(federationId, this.clock.setTimer(delay, () => { this.onDeadline(federationId, round); }));
  }

  private cancelDeadline(federationId: string): void {
    this.timers.get(federationId)?.cancel();
    this.timers.delete(federationId);
  }

  private cancelPace(federationId: string): void {
    this.paceTimers.get(federationId)?.cancel();
    this.paceTimers.delete(federationId);
  }

  // ---- views ----------------------------------------------------------------------------------------------------

  requireFederation(federationId: string): FederationRecord {
    const federation = this.store.getFederation(federationId);
    if (!federation) throw new EngineError('NOT_FOUND', `no federation ${federationId}`);
    return federation;
  }

  roundUpdateFor(siteId: string): RoundUpdate {
    const site = this.store.getSite(siteId);
    if (!site) throw new EngineError('NOT_FOUND', `no site ${siteId}`);
    const federation = this.requireFederation(site.federationId);
    return this.roundUpdate(federation, siteId, this.roundContext(federation));
  }

  /** What every site of a federation needs for its `round:update` (computed once per announcement). */
  roundContext(federation: FederationRecord): { participants: string[]; submitted: Set<string> } {
    const round = federation.round > 0 ? this.store.getRound(federation.id, federation.round) : null;
    const submitted = round ? new Set(this.store.listSubmissions(federation.id, round.round).map((s) => s.siteId)) : new Set<string>();
    return { participants: round?.participants ?? [], submitted };
  }

  roundUpdate(federation: FederationRecord, siteId: string, context: { participants: string[]; submitted: Set<string> }): RoundUpdate {
    const open = this.openRoundOf(federation) !== null || federation.status === 'aggregating';
    return {
      federationId: federation.id,
      status: federation.status,
      pausedFrom: federation.pausedFrom,
      round: federation.round,
      totalRounds: federation.settings.rounds,
      deadline: federation.deadline,
      latestModelRound: federation.status === 'training' || federation.status === 'aggregating' || (federation.status === 'paused' && federation.pausedFrom === 'training') ? federation.round - 1 : federation.round,
      participating: open && context.participants.includes(siteId),
      submitted: open && context.submitted.has(siteId),
      participants: open ? context.participants.length : 0,
      submissions: open ? context.submitted.size : 0,
      quorum: federation.settings.quorum,
      readySites: this.readySites(federation.id).length,
    };
  }

  federationConfig(federation: FederationRecord): FederationConfig {
    const s = federation.settings;
    return {
      id: federation.id,
      name: s.name,
      classNames: s.classNames,
      promptTemplate: s.promptTemplate,
      prompts: promptsFor(s.promptTemplate, s.classNames),
      method: s.method,
      rounds: s.rounds,
      training: s.training,
      quorum: s.quorum,
      roundDeadlineSeconds: s.roundDeadlineSeconds,
      minRoundSeconds: s.minRoundSeconds,
      encoder: federation.encoder,
      module: { kind: s.method, featureDim: federation.encoder.featureDim },
      features: { referenceCount: federation.referenceCount, checksum: federation.featuresChecksum },
      hasGlobalTest: federation.hasGlobalTest,
      createdAt: federation.createdAt,
    };
  }

  federationSummary(federation: FederationRecord): FederationSummary {
    const sites = this.store.listSites(federation.id);
    const online = sites.filter((s) => this.presence.has(s.id));
    const context = this.roundContext(federation);
    const open = this.openRoundOf(federation) !== null || federation.status === 'aggregating';
    const models = federation.hasGlobalTest ? this.store.listGlobalModels(federation.id) : [];
    const withMetrics = models.filter((m) => m.metrics !== null);
    const latestModelRound = federation.status === 'training' || federation.status === 'aggregating' || (federation.status === 'paused' && federation.pausedFrom === 'training') ? federation.round - 1 : federation.round;
    return {
      id: federation.id,
      name: federation.settings.name,
      status: federation.status,
      pausedFrom: federation.pausedFrom,
      round: federation.round,
      totalRounds: federation.settings.rounds,
      deadline: federation.deadline,
      quorum: federation.settings.quorum,
      method: federation.settings.method,
      classNames: federation.settings.classNames,
      isDemo: federation.isDemo,
      sitesTotal: sites.filter((s) => s.revokedAt === null).length,
      sitesOnline: online.length,
      sitesReady: this.readySites(federation.id).length,
      participants: open ? context.participants.length : 0,
      submissions: open ? context.submitted.size : 0,
      latestModelRound,
      latestGlobalMetrics: withMetrics.at(-1)?.metrics ?? null,
      createdAt: federation.createdAt,
      updatedAt: federation.updatedAt,
    };
  }

  siteSummary(site: SiteRecord, submissionCounts?: Map<string, number>): SiteSummary {
    const p = this.presence.get(site.id);
    const counts = submissionCounts ?? this.store.countSubmissionsBySite(site.federationId);
    return {
      id: site.id,
      federationId: site.federationId,
      name: site.name,
      createdAt: site.createdAt,
      revokedAt: site.revokedAt,
      firstSeenAt: site.firstSeenAt,
      lastSeenAt: site.lastSeenAt,
      online: p !== undefined,
      ready: p?.ready ?? false,
      phase: p?.phase ?? null,
      progress: p?.progress ?? null,
      phaseRound: p?.phaseRound ?? null,
      message: p?.message ?? null,
      client: p?.client ?? site.client,
      trainSamples: p?.trainSamples ?? null,
      testSamples: p?.testSamples ?? null,
      submissions: counts.get(site.id) ?? 0,
      virtual: site.virtual,
    };
  }

  roundSummary(round: RoundRecord): RoundSummary {
    const submissions = this.store.listSubmissions(round.federationId, round.round);
    const model = round.status === 'published' ? this.store.listGlobalModels(round.federationId).find((m) => m.round === round.round) : undefined;
    const traffic = this.store.getTraffic(round.federationId, round.round);
    return {
      federationId: round.federationId,
      round: round.round,
      status: round.status,
      startedAt: round.startedAt,
      deadline: round.deadline,
      closedAt: round.closedAt,
      publishedAt: round.publishedAt,
      participants: round.participants,
      submissions: submissions.length,
      totalSamples: submissions.reduce((sum, s) => sum + s.sampleCount, 0),
      extensions: round.extensions,
      bytesReceived: traffic.bytesReceived,
      bytesSent: traffic.bytesSent,
      aggregationMs: round.aggregationMs,
      globalMetrics: model?.metrics ?? null,
      modelChecksum: model?.checksum ?? null,
    };
  }

  submissionSummaries(federationId: string, round: number): SubmissionSummary[] {
    const names = new Map(this.store.listSites(federationId).map((s) => [s.id, s.name]));
    return this.store.listSubmissions(federationId, round).map((s) => ({
      federationId,
      round,
      siteId: s.siteId,
      siteName: names.get(s.siteId) ?? s.siteId,
      sampleCount: s.sampleCount,
      bytes: s.bytes,
      dtype: s.dtype,
      checksum: s.checksum,
      receivedAt: s.receivedAt,
      metrics: s.metrics,
    }));
  }

  /** Counts for `/metrics`. */
  presenceCounts(): { online: number; ready: number } {
    let ready = 0;
    for (const p of this.presence.values()) if (p.ready) ready++;
    return { online: this.presence.size, ready };
  }
}

function stateOf(federation: FederationRecord): FederationStateRecord {
  return {
    status: federation.status,
    pausedFrom: federation.pausedFrom,
    round: federation.round,
    deadline: federation.deadline,
    pausedRemainingMs: federation.pausedRemainingMs,
  };
}
