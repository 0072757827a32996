/**
 * Secure aggregation rounds on the coordinator: runs `@facmic/privacy`'s server state machine for each open round of
 * a federation with secure aggregation on, relays the sites' encrypted shares, unmasks only the sum, and hands the
 * round driver the new global model. The phases are decided by `secure-round-machine.ts` (pure); every state is
 * written to SQLite (`privacy-store.ts`) before a request goes out, so a restarted coordinator resends the stored
 * request and never asks a site for something that would unmask another.
 *
 * Work per federation is serialised (one promise chain): answers, timers and the round machine's calls never interleave.
 */
import { moduleSpec } from '@facmic/learning/plain';
import {
  abandonSession,
  addCentralNoiseToMean,
  applyMeanDelta,
  closeAdvertising,
  closeInputs,
  closeSharing,
  createServerSession,
  decodeFixedPointSum,
  finishUnmasking,
  inputLayout,
  realisedNoiseMultiplier,
  receiveAdvertisement,
  receiveMaskedInput,
  receiveShares,
  receiveUnmaskingResponse,
  SecureAggregationServerError,
  type DpFedAvgSettings,
  type SecureAggregationServerState,
} from '@facmic/privacy';
import { decodeTensors, type ErrorCode, type ParsedSecureAggregationAnswer, type SecureAggregationRequest } from '@facmic/protocol';
import type { Announcer } from './announcer.ts';
import type { Clock, TimerHandle } from './clock.ts';
import type { Logger } from './logger.ts';
import { accept, refuse, type Outcome } from './outcome.ts';
import type { PresenceRegistry } from './presence.ts';
import type { RoundAggregate } from './round-ingest.ts';
import { decideSecure, type SecureEvent } from './secure-round-machine.ts';
import { bytesOf, progress, requestFor, sessionContext, wordsOf, type SessionContext } from './secure-session.ts';
import { moduleSpecOf } from './submission-check.ts';
import type { CoordinatorStore, FederationRecord } from './store/store.ts';

interface Live {
  readonly federationId: string;
  readonly round: number;
  readonly attempt: number;
  readonly context: SessionContext;
  state: SecureAggregationServerState;
  timer: TimerHandle | null;
  result: (RoundAggregate & { noiseMultiplier: number | null }) | null;
}

/** What the round driver offers back: close the round once the sum is in, publish, extend at the deadline. */
export interface SecureRoundHost {
  checkClose(federationId: string): void;
  aggregateNow(federationId: string, round: number): void;
}

const SERVER_ERROR_CODES: Record<string, ErrorCode> = {
  'wrong-session': 'STALE_ROUND',
  'phase-closed': 'ROUND_CLOSED',
  'not-a-participant': 'NOT_A_PARTICIPANT',
  'conflicting-message': 'DUPLICATE_SUBMISSION',
  malformed: 'MALFORMED_MESSAGE',
  'invalid-settings': 'BAD_REQUEST',
};

export class SecureRounds {
  private readonly live = new Map<string, Live>();
  private readonly queues = new Map<string, Promise<unknown>>();
  host: SecureRoundHost | null = null;
  private stopped = false;

  constructor(
    private readonly options: { store: CoordinatorStore; clock: Clock; logger: Logger; presence: PresenceRegistry; announcer: Announcer },
  ) {}

  handles(federation: FederationRecord | null): boolean {
    return federation?.settings.privacy.secureAggregation.enabled === true;
  }

  /** Runs `task` after the federation's earlier work; errors are logged, never thrown at the caller. */
  private run<T>(federationId: string, task: () => Promise<T> | T): Promise<T | undefined> {
    const previous = this.queues.get(federationId) ?? Promise.resolve();
    const next = previous.then(task).catch((error: unknown) => {
      this.options.logger.error('secure aggregation step failed', { federation: federationId, error: error instanceof Error ? `${error.message} ${error.stack ?? ''}` : String(error) });
      return undefined;
    });
    this.queues.set(federationId, next);
    return next;
  }

  /** Resolves when every federation's queued work is done (tests). */
  async idle(): Promise<void> {
    await Promise.all([...this.queues.values()]);
  }

  private save(live: Live): void {
    const { maskedInputs: _inputs, ...rest } = live.state;
    this.options.store.privacy.saveSession({
      federationId: live.federationId,
      round: live.round,
      attempt: live.attempt,
      session: live.state.session,
      phase: live.state.phase,
      context: live.context,
      state: rest,
      updatedAt: this.options.clock.now(),
    });
  }

  private send(siteId: string, request: SecureAggregationRequest): void {
    this.options.announcer.announce((l) => { l.secureRequest?.(siteId, request); });
  }

  private sendAll(live: Live): void {
    for (const siteId of live.context.participants) {
      const request = requestFor(live, siteId);
      if (request) this.send(siteId, request);
    }
  }

  private armTimer(live: Live): void {
    live.timer?.cancel();
    live.timer = null;
    const phase = live.state.phase;
    if (this.stopped || phase === 'completed' || phase === 'failed' || (phase === 'advertising' && live.attempt === 1)) return;
    const federation = this.options.store.getFederation(live.federationId);
    const ms = (federation?.settings.privacy.secureAggregation.phaseSeconds ?? 60) * 1000;
    live.timer = this.options.clock.setTimer(ms, () => { void this.run(live.federationId, () => this.act(live, { type: 'phase-timeout' })); });
  }

  /** A round opened (or was extended): a session with its participants. */
  roundOpened(federationId: string, round: number, participants: readonly string[]): void {
    void this.run(federationId, () => { this.startSession(federationId, round, participants); });
  }

  private startSession(federationId: string, round: number, participants: readonly string[]): void {
    const federation = this.options.store.getFederation(federationId);
    if (!federation || !this.handles(federation) || this.stopped) return;
    const previous = this.live.get(federationId) ?? this.load(federationId, round);
    previous?.timer?.cancel();
    const attempt = previous?.round === round ? previous.attempt + 1 : 1;
    const context = sessionContext(federation, participants, previous?.round === round ? previous.context : null, this.options.presence);
    const session = `${federationId}/r${round}/a${attempt}`;
    const { threshold } = federation.settings.privacy.secureAggregation;
    const state = createServerSession({ session, ...(threshold === null ? {} : { threshold }), encoding: context.encoding });
    const live: Live = { federationId, round, attempt, context, state, timer: null, result: null };
    this.live.set(federationId, live);
    this.save(live);
    this.options.logger.info('secure aggregation session started', { federation: federationId, round, session, participants: context.participants.length });
    this.sendAll(live);
    this.armTimer(live);
  }

  private load(federationId: string, round: number): Live | null {
    const stored = this.options.store.privacy.latestSession<SessionContext>(federationId, round);
    if (!stored) return null;
    const maskedInputs: Record<string, Uint32Array> = {};
    for (const [site, bytes] of stored.maskedInputs) maskedInputs[site] = wordsOf(bytes);
    const state = { ...(stored.state as Omit<SecureAggregationServerState, 'maskedInputs'>), maskedInputs };
    return { federationId, round, attempt: stored.attempt, context: stored.context, state, timer: null, result: null };
  }

  /** The live session of the federation's open round, loaded from the store after a restart. */
  private current(federationId: string): Live | null {
    const federation = this.options.store.getFederation(federationId);
    if (!federation || federation.round < 1) return null;
    const live = this.live.get(federationId);
    if (live?.round === federation.round) return live;
    const loaded = this.load(federationId, federation.round);
    if (loaded) this.live.set(federationId, loaded);
    return loaded;
  }

  /** A site's `secagg:answer`, after schema validation. The state is stored before the ack. */
  answer(siteId: string, federationId: string, answer: ParsedSecureAggregationAnswer): Promise<Outcome> {
    return this.run(federationId, () => this.receive(siteId, federationId, answer)).then((outcome) => outcome ?? refuse('INTERNAL_ERROR', 'the answer could not be processed'));
  }

  private receive(siteId: string, federationId: string, answer: ParsedSecureAggregationAnswer): Outcome {
    const live = this.current(federationId);
    if (!live) return refuse('ROUND_CLOSED', 'no secure aggregation session is open');
    if (answer.message.session !== live.state.session) return refuse('STALE_ROUND', `the session is ${live.state.session}, not ${answer.message.session}`);
    const before = live.state;
    try {
      switch (answer.phase) {
        case 'advertise-keys':
          if (!live.context.participants.includes(siteId)) return refuse('NOT_A_PARTICIPANT', `${siteId} is not a participant of round ${live.round}`);
          live.state = receiveAdvertisement(before, siteId, answer.message);
          break;
        case 'share-keys':
          live.state = receiveShares(before, siteId, answer.message);
          break;
        case 'masked-input':
          live.state = receiveMaskedInput(before, siteId, answer.message);
          break;
        case 'unmasking':
          live.state = receiveUnmaskingResponse(before, siteId, answer.message);
          break;
        case 'refusal':
          this.options.logger.warn('a site refused a secure aggregation request', { federation: federationId, site: siteId, reason: answer.message.reason, phase: answer.message.phase });
          this.options.announcer.commit((audit) => { audit(`site:${siteId}`, 'secagg.refused', federationId, { round: live.round, session: live.state.session, reason: answer.message.reason, phase: answer.message.phase }); });
          return accept({});
      }
    } catch (error) {
      if (error instanceof SecureAggregationServerError) return refuse(SERVER_ERROR_CODES[error.code] ?? 'MALFORMED_MESSAGE', error.message);
      throw error;
    }
    if (live.state === before) return accept({}); // a repeated message
    this.options.store.transaction(() => {
      this.save(live);
      if (answer.phase === 'masked-input') this.options.store.privacy.addMaskedInput(live.state.session, siteId, bytesOf(live.state.maskedInputs[siteId] as Uint32Array));
    });
    const { answered, expected } = progress(live);
    queueMicrotask(() => { void this.run(federationId, () => this.act(live, { type: 'answer', answered, expected })); });
    if (answer.phase === 'masked-input') this.options.announcer.federationChanged(federationId);
    return accept({});
  }

  private async act(live: Live, event: SecureEvent): Promise<void> {
    if (this.live.get(live.federationId) !== live || this.stopped) return; // replaced by a newer session
    switch (decideSecure(live.state.phase, event)) {
      case 'wait':
        return;
      case 'close-phase':
        await this.closePhase(live);
        return;
      case 'resend':
        this.sendAll(live);
        this.armTimer(live);
        return;
      case 'abandon':
        this.abandon(live, 'too few sites advertised keys by the round deadline');
        return;
      case 'new-session':
        this.startSession(live.federationId, live.round, this.options.store.getRound(live.federationId, live.round)?.participants ?? live.context.participants);
        return;
      case 'publish':
        await this.complete(live);
        return;
    }
  }

  private async closePhase(live: Live): Promise<void> {
    const { state } = live;
    if (state.phase === 'advertising') live.state = closeAdvertising(state).state;
    else if (state.phase === 'sharing') live.state = closeSharing(state).state;
    else if (state.phase === 'collecting-inputs') live.state = closeInputs(state).state;
    else if (state.phase === 'unmasking') {
      await this.complete(live);
      return;
    }
    this.save(live);
    this.options.logger.info('secure aggregation phase', { federation: live.federationId, round: live.round, session: live.state.session, phase: live.state.phase });
    if (live.state.phase === 'failed') {
      this.onFailed(live, state.phase);
      return;
    }
    this.sendAll(live);
    this.armTimer(live);
  }

  private onFailed(live: Live, phase: string): void {
    live.timer?.cancel();
    this.options.logger.warn('secure aggregation session failed', { federation: live.federationId, round: live.round, session: live.state.session, failure: live.state.failure });
    this.options.announcer.commit((audit) => { audit('coordinator', 'secagg.failed', live.federationId, { round: live.round, session: live.state.session, phase, reason: live.state.failure?.reason ?? null }); });
    // Too few keys: wait for the round deadline, which extends the round. Later phases: a new session at once.
    if (phase !== 'advertising') void this.act(live, { type: 'restart' });
  }

  private abandon(live: Live, message: string): void {
    live.timer?.cancel();
    live.state = abandonSession(live.state, message);
    this.save(live);
  }

  /** Unmasks the sum (again, from the stored answers, after a restart), decodes it, adds central noise, keeps the model. */
  private async complete(live: Live): Promise<void> {
    live.timer?.cancel();
    const federation = this.options.store.getFederation(live.federationId);
    if (!federation) return;
    const unmasking = live.state.phase === 'completed' ? { ...live.state, phase: 'unmasking' as const } : live.state;
    const { state, result } = await finishUnmasking(unmasking);
    live.state = state;
    this.save(live);
    if (!result) {
      this.onFailed(live, 'unmasking');
      return;
    }
    const k = result.contributors.length;
    const quorum = federation.settings.quorum;
    if (k < quorum) {
      this.options.logger.warn('secure sum of fewer sites than the quorum: a new session', { federation: live.federationId, round: live.round, contributors: k });
      live.state = { ...live.state, phase: 'failed', failure: { reason: 'too-few-inputs', message: `${k} contributors, quorum ${quorum}` } };
      this.save(live);
      this.onFailed(live, 'unmasking');
      return;
    }
    const spec = moduleSpec(federation.settings.method, federation.encoder.featureDim);
    const layout = inputLayout(spec);
    const roster = state.roster;
    if (!roster) throw new Error('a completed session without a roster');
    const parameters = { maxWeight: live.context.encoding.maxWeight, siteCount: roster.participants.length, bounds: live.context.encoding.bounds };
    const decoded = decodeFixedPointSum(layout, parameters, result.sum, k);
    let noiseMultiplier: number | null = null;
    if (live.context.privacy) {
      const { clipNorm, noiseMultiplier: sigma, noise } = live.context.privacy;
      const dp: DpFedAvgSettings = { clipNorm, noiseMultiplier: sigma, placement: noise, minContributors: roster.threshold };
      addCentralNoiseToMean(layout, decoded.meanDelta, k, dp);
      noiseMultiplier = realisedNoiseMultiplier(dp, k);
    }
    const model = this.options.store.getGlobalModel(live.federationId, live.round - 1);
    if (!model) throw new Error(`no global model of round ${live.round - 1}`);
    const global = decodeTensors(model.weights, { expected: moduleSpecOf(federation) }).tensors;
    const next = applyMeanDelta(layout, global, decoded.meanDelta);
    live.result = { state: next, contributors: result.contributors, totalSamples: live.context.privacy ? k : decoded.weightSum, noiseMultiplier };
    this.options.logger.info('secure sum unmasked', { federation: live.federationId, round: live.round, session: state.session, contributors: k });
    const aggregating = federation.status === 'aggregating' && federation.round === live.round;
    if (aggregating) this.host?.aggregateNow(live.federationId, live.round);
    else this.host?.checkClose(live.federationId);
  }

  /** Sites whose masked inputs the open round's session holds (the round's "submissions" on views). */
  inputsIn(federationId: string, round: number): readonly string[] {
    const live = this.live.get(federationId);
    return live?.round === round ? Object.keys(live.state.maskedInputs).sort() : [];
  }

  /** Contributors of the round's unmasked sum, or null while there is none. */
  contributors(federationId: string, round: number): readonly string[] | null {
    const live = this.live.get(federationId);
    return live?.round === round && live.result ? live.result.contributors : null;
  }

  /** The round's new global model for the round driver, or 'pending' while it is (re)computed. */
  takeAggregate(federationId: string, round: number): (RoundAggregate & { noiseMultiplier: number | null }) | 'pending' {
    const live = this.current(federationId);
    if (live?.round === round && live.result) return live.result;
    if (live?.round === round && (live.state.phase === 'completed' || live.state.phase === 'unmasking')) void this.run(federationId, () => this.complete(live));
    else if (live?.round === round) void this.run(federationId, () => this.act(live, { type: 'restart' }));
    return 'pending';
  }

  /** The round driver's deadline: true when the session handles it (the machine must not extend the round). */
  onRoundDeadline(federationId: string, round: number): boolean {
    const live = this.current(federationId);
    if (live?.round !== round) return false;
    if (live.state.phase === 'failed') return false;
    if (live.state.phase !== 'advertising') return true;
    const answered = Object.keys(live.state.advertisements).length;
    const needed = Math.max(2, this.options.store.getFederation(federationId)?.settings.quorum ?? live.context.quorum);
    const action = decideSecure('advertising', { type: 'round-deadline', answered, needed });
    if (action === 'abandon') {
      this.abandon(live, `${answered} sites advertised keys by the round deadline, ${needed} needed`);
      return false;
    }
    void this.run(federationId, () => this.act(live, { type: 'round-deadline', answered, needed }));
    return true;
  }

  /** A site is ready again (reconnected): the stored request of the phase, if it has one to answer. */
  siteReady(siteId: string, federationId: string): void {
    void this.run(federationId, () => {
      const live = this.current(federationId);
      const request = live ? requestFor(live, siteId) : null;
      if (request) this.send(siteId, request);
    });
  }

  /** After a restart: resume the sessions of open rounds (resend, republish, or a new session after a failure). */
  recover(): void {
    for (const federation of this.options.store.listFederations()) {
      if (!this.handles(federation) || (federation.status !== 'training' && !(federation.status === 'paused' && federation.pausedFrom === 'training'))) continue;
      const live = this.current(federation.id);
      if (!live) {
        this.roundOpened(federation.id, federation.round, this.options.store.getRound(federation.id, federation.round)?.participants ?? []);
        continue;
      }
      void this.run(federation.id, () => this.act(live, { type: 'restart' }));
    }
  }

  forget(federationId: string): void {
    const live = this.live.get(federationId);
    live?.timer?.cancel();
    if (live && live.state.phase !== 'completed' && live.state.phase !== 'failed') this.abandon(live, 'the round ended');
    this.live.delete(federationId);
  }

  shutdown(): void {
    this.stopped = true;
    for (const live of this.live.values()) live.timer?.cancel();
  }
}
