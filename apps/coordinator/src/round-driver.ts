/**
 * Carries out the round machine's transitions: reads a federation's state from the store, asks `transition`, writes
 * the new state and the round records, audit entries and published model of its effects in one transaction, and
 * only then announces, arms the timers and runs the follow-ups (aggregation, quorum and close checks). Timers and
 * follow-ups only feed events back into the machine.
 */
import { performance } from 'node:perf_hooks';
import { AGGREGATION_STRATEGIES } from '@facmic/learning/plain';
import { encodeTensors, openRound } from '@facmic/protocol';
import type { Announcer, AuditWriter } from './announcer.ts';
import type { Clock, TimerHandle } from './clock.ts';
import type { GlobalEvaluations } from './global-evaluations.ts';
import type { Logger } from './logger.ts';
import { accept, refuse, type Outcome } from './outcome.ts';
import type { PresenceRegistry } from './presence.ts';
import { dpCentralAggregate } from './private-aggregate.ts';
import { ledgerOf, recordPublishedRound, roundFits } from './privacy-budget.ts';
import { RoundIngest, type RoundAggregate } from './round-ingest.ts';
import { storedStatus, transition, type RoundEffect, type RoundEvent, type RoundPhase, type RoundRules, type RoundState } from './round-machine.ts';
import type { SecureRounds } from './secure-rounds.ts';
import { moduleSpecOf } from './submission-check.ts';
import type { CoordinatorStore, FederationRecord, FederationSettingsRecord, FederationStateRecord, RoundRecord } from './store/store.ts';

export interface RoundDriverOptions {
  store: CoordinatorStore;
  clock: Clock;
  logger: Logger;
  announcer: Announcer;
  presence: PresenceRegistry;
  evaluations: GlobalEvaluations;
  /** Keep submission weights of this many most recent rounds (null: all). */
  keepSubmissionWeightsRounds: number | null;
}

/** Effects written to the store (the others are work started after the commit). */
const PERSISTED: ReadonlySet<RoundEffect['type']> = new Set(['round-opened', 'round-extended', 'round-deadline', 'round-closed', 'round-reopened', 'round-published', 'round-abandoned', 'audit']);

/** Work done inside a transition's transaction, after its effects (settings, the published model). */
type Persist = (now: number, audit: AuditWriter) => void;

export function rulesOf(settings: FederationSettingsRecord): RoundRules {
  return { rounds: settings.rounds, quorum: settings.quorum, roundDeadlineMs: settings.roundDeadlineSeconds * 1000, minRoundMs: settings.minRoundSeconds * 1000 };
}

/** The machine's view of a stored federation (and of its current round record). */
export function roundStateOf(federation: FederationRecord, record: RoundRecord | null): RoundState {
  const rules = rulesOf(federation.settings);
  const { status, round } = federation;
  const open = { startedAt: record?.startedAt ?? federation.updatedAt, participants: record?.participants ?? [], extensions: record?.extensions ?? 0 };
  const phase: RoundPhase =
    status === 'training'
      ? { status, round, deadline: federation.deadline ?? federation.updatedAt + rules.roundDeadlineMs, open }
      : status === 'paused'
        ? federation.pausedFrom === 'training'
          ? { status, round, from: 'training', remainingMs: federation.pausedRemainingMs ?? rules.roundDeadlineMs, open }
          : { status, round, from: 'waiting' }
        : status === 'aggregating'
          ? { status, round, open }
          : { status, round };
  return { phase, rules };
}

function stateRecordOf(phase: RoundPhase): FederationStateRecord {
  return {
    ...storedStatus(phase),
    round: phase.round,
    deadline: phase.status === 'training' ? phase.deadline : null,
    pausedRemainingMs: phase.status === 'paused' && phase.from === 'training' ? phase.remainingMs : null,
  };
}

export class RoundDriver {
  readonly ingest: RoundIngest;
  /** Whether a federation's round must not close on the count yet (updates with the submission worker). */
  closeHeld: ((federationId: string) => boolean) | null = null;
  /** Drops older rounds' stored weights off the event loop (the submission worker); false: pruned here. */
  pruneElsewhere: ((federationId: string, beforeRound: number) => boolean) | null = null;
  private readonly deadlineTimers = new Map<string, TimerHandle>();
  /** Paced rounds (`minRoundSeconds`) whose updates are all in: the timer closes them at their shortest length. */
  private readonly paceTimers = new Map<string, TimerHandle>();
  /** When the last submission of each federation's open round was accepted (performance clock), for `/metrics`. */
  private readonly lastAccepted = new Map<string, { round: number; at: number }>();
  private stopped = false;
  /** Secure aggregation rounds (set by the engine): sessions, the unmasked sum, the deadline while advertising. */
  secure: SecureRounds | null = null;

  constructor(private readonly options: RoundDriverOptions) {
    this.ingest = new RoundIngest(options.store, AGGREGATION_STRATEGIES.fedavg());
    this.ingest.onRemoteSum = (federationId, round) => {
      if (!this.stopped) this.aggregateNow(federationId, round);
    };
  }

  /**
   * Applies `event` to the federation: persisted (with `persist`) in one transaction, then announced, then followed
   * up. Returns the federation as stored afterwards, or the machine's refusal.
   */
  dispatch(federationId: string, event: RoundEvent, actor: string, persist?: Persist): Outcome<{ federation: FederationRecord; effects: readonly RoundEffect[] }> {
    const { store, clock, announcer } = this.options;
    const federation = store.getFederation(federationId);
    if (!federation) return refuse('NOT_FOUND', `no federation ${federationId}`);
    const before = roundStateOf(federation, federation.round > 0 ? store.getRound(federationId, federation.round) : null);
    const now = clock.now();
    const result = transition(before, event, now);
    if (!result.ok) return result;
    const { state, effects } = result;
    const moved = state.phase !== before.phase;
    if (moved || persist || effects.some((e) => PERSISTED.has(e.type))) {
      const rounds = new Set<number>();
      announcer.commit((audit) => {
        if (moved) store.updateFederationState(federationId, stateRecordOf(state.phase), now);
        for (const effect of effects) {
          const round = this.persistEffect(federationId, effect, actor, audit);
          if (round !== null) rounds.add(round);
        }
        persist?.(now, audit);
      });
      if (moved) this.syncTimers(federationId, state.phase);
      announcer.federationChanged(federationId);
      for (const round of rounds) announcer.roundChanged(federationId, round);
    }
    for (const effect of effects) this.followUp(federationId, effect);
    return accept({ federation: store.getFederation(federationId) ?? federation, effects });
  }

  /** Writes one effect; returns the round record it touched, if any. */
  private persistEffect(federationId: string, effect: RoundEffect, actor: string, audit: AuditWriter): number | null {
    const { store } = this.options;
    switch (effect.type) {
      case 'round-opened':
        store.insertRound({
          federationId,
          round: effect.round,
          status: 'training',
          startedAt: effect.startedAt,
          deadline: effect.deadline,
          closedAt: null,
          publishedAt: null,
          participants: [...effect.participants],
          extensions: 0,
          lastSubmissionAt: null,
          aggregationMs: null,
        });
        return effect.round;
      case 'round-extended':
        store.updateRound(federationId, effect.round, { deadline: effect.deadline, extensions: effect.extensions, participants: [...effect.participants] });
        return effect.round;
      case 'round-deadline':
        store.updateRound(federationId, effect.round, { deadline: effect.deadline });
        return effect.round;
      case 'round-closed':
        store.updateRound(federationId, effect.round, { status: 'aggregating', closedAt: effect.closedAt, deadline: null });
        return null; // announced with the publication
      case 'round-reopened':
        store.updateRound(federationId, effect.round, { status: 'training', closedAt: null });
        return null;
      case 'round-published':
        store.updateRound(federationId, effect.round, { status: 'published', publishedAt: effect.publishedAt });
        return effect.round;
      case 'round-abandoned':
        store.updateRound(federationId, effect.round, { status: 'abandoned', closedAt: effect.closedAt, deadline: null });
        return effect.round;
      case 'audit':
        audit(actor, effect.action, federationId, effect.details);
        return null;
      default:
        return null;
    }
  }

  private followUp(federationId: string, effect: RoundEffect): void {
    switch (effect.type) {
      case 'close-at':
        this.armPace(federationId, effect.at);
        return;
      case 'aggregate':
        this.aggregateNow(federationId, effect.round);
        return;
      case 'check-quorum':
        this.checkQuorum(federationId);
        return;
      case 'check-close':
        this.checkClose(federationId);
        return;
      case 'round-abandoned':
        this.ingest.forget(federationId);
        this.secure?.forget(federationId);
        return;
      case 'round-opened':
      case 'round-extended':
        if (this.secure?.handles(this.options.store.getFederation(federationId))) this.secure.roundOpened(federationId, effect.round, effect.participants);
        return;
      default:
        return;
    }
  }

  /** Starts the next round if enough ready sites are connected (waiting -> training). */
  checkQuorum(federationId: string): void {
    if (this.stopped) return;
    const federation = this.options.store.getFederation(federationId);
    const dp = federation?.settings.privacy.differentialPrivacy;
    if (federation?.status === 'waiting' && dp && federation.round < federation.settings.rounds && !roundFits(dp, federation.settings.rounds, ledgerOf(this.options.store.privacy.ledger(federationId)))) {
      // Never exceed the privacy budget: stop rather than run a round it cannot pay for.
      this.dispatch(federationId, { type: 'stop' }, 'coordinator', (_now, audit) => { audit('coordinator', 'privacy.budget-spent', federationId, { round: federation.round, epsilon: dp.epsilon, delta: dp.delta }); });
      return;
    }
    this.dispatch(federationId, { type: 'sites-ready', ready: this.options.presence.readySites(federationId) }, 'coordinator');
  }

  /** Closes the open round if every update it waits for is in (training -> aggregating). */
  checkClose(federationId: string): void {
    if (this.stopped || this.closeHeld?.(federationId) === true) return;
    const { store } = this.options;
    const federation = store.getFederation(federationId);
    const round = federation && federation.round > 0 ? store.getRound(federationId, federation.round) : null;
    if (!round) return;
    if (this.secure?.handles(federation)) {
      // A secure round closes once its sum is unmasked: its contributors are all the round waits for.
      const contributors = this.secure.contributors(federationId, round.round);
      if (contributors) this.dispatch(federationId, { type: 'submissions-in', submitted: contributors, active: contributors }, 'coordinator');
      return;
    }
    const revoked = new Set(store.listRevokedSiteIds(federationId));
    const submitted = store.listSubmitters(federationId, round.round);
    this.dispatch(federationId, { type: 'submissions-in', submitted, active: round.participants.filter((id) => !revoked.has(id)) }, 'coordinator');
  }

  /** A submission to the open round was stored (the publication time is measured from the last one). */
  accepted(federationId: string, round: number): void {
    this.lastAccepted.set(federationId, { round, at: performance.now() });
  }

  private onDeadline(federationId: string, round: number): void {
    this.deadlineTimers.delete(federationId);
    if (this.stopped) return;
    const { store, logger, presence } = this.options;
    if (this.secure?.handles(store.getFederation(federationId)) && this.secure.onRoundDeadline(federationId, round)) return;
    const submissions = store.listSubmitters(federationId, round).length;
    const outcome = this.dispatch(federationId, { type: 'deadline', round, submissions, ready: presence.readySites(federationId) }, 'coordinator');
    if (!outcome.ok) return;
    if (outcome.effects.some((e) => e.type === 'round-extended')) {
      logger.info('deadline passed below quorum: round extended', { federation: federationId, round, submissions, quorum: outcome.federation.settings.quorum });
    } else if (outcome.effects.some((e) => e.type === 'round-closed')) {
      logger.info('deadline passed: aggregated without the sites that did not submit', { federation: federationId, round, submissions });
    } else {
      this.resync(federationId); // fired early
    }
  }

  /**
   * aggregating -> published: the round's aggregate (from the running sum, checked against the stored submissions),
   * divided, encoded and stored with the transition. A failure pauses the federation and tells the admin.
   */
  aggregateNow(federationId: string, round: number): void {
    const { store, logger } = this.options;
    const started = performance.now();
    const federation = store.getFederation(federationId);
    if (federation?.status !== 'aggregating' || federation.round !== round) return;
    let aggregate: RoundAggregate & { noiseMultiplier?: number | null };
    try {
      if (this.secure?.handles(federation)) {
        const secure = this.secure.takeAggregate(federationId, round);
        if (secure === 'pending') return; // computed again from the stored session; it calls back
        aggregate = secure;
      } else {
        const plain = federation.settings.privacy.differentialPrivacy ? dpCentralAggregate(store, federation, round) : this.ingest.finish(federationId, round, moduleSpecOf(federation));
        if (plain === 'pending') return; // the submission worker's sum is on its way; `onRemoteSum` calls back
        aggregate = plain;
      }
    } catch (error) {
      // Submissions were validated on receipt, so this means a bug or a damaged store: pause and tell the admin.
      logger.error('aggregation failed; federation paused', { federation: federationId, round, error });
      this.dispatch(federationId, { type: 'aggregation-failed', error: error instanceof Error ? error.message : String(error) }, 'coordinator');
      return;
    }
    const { bytes, checksum } = encodeTensors(aggregate.state);
    const { contributors, totalSamples } = aggregate;
    let aggregationMs = 0;
    const outcome = this.dispatch(federationId, { type: 'aggregated', contributors, totalSamples, checksum }, 'coordinator', (now) => {
      store.insertGlobalModel({ federationId, round, weights: bytes, checksum, contributors: [...contributors], totalSamples, metrics: null, createdAt: now });
      aggregationMs = performance.now() - started;
      store.updateRound(federationId, round, { aggregationMs });
      if (typeof aggregate.noiseMultiplier === 'number') recordPublishedRound(store, federation, round, aggregate.noiseMultiplier, contributors.length, now);
    });
    if (!outcome.ok) {
      logger.error('the aggregated model could not be published', { federation: federationId, round, code: outcome.code, message: outcome.message });
      return;
    }
    const keep = this.options.keepSubmissionWeightsRounds;
    if (keep !== null && this.pruneElsewhere?.(federationId, round - keep + 1) !== true) store.pruneSubmissionWeights(federationId, round - keep + 1);
    const last = this.lastAccepted.get(federationId);
    this.lastAccepted.delete(federationId);
    const publicationMs = last?.round === round ? performance.now() - last.at : null;
    this.options.announcer.announce((l) => { l.roundPublished?.(federationId, round, { aggregationMs, publicationMs }); });
    const finished = outcome.federation.status === 'finished';
    logger.info(finished ? 'final global model published: federation finished' : 'global model published', { federation: federationId, round, contributors: contributors.length, samples: totalSamples });
    if (federation.hasGlobalTest) this.options.evaluations.schedule(federationId, round, aggregate.state);
  }

  /** Deadline timer armed exactly while training; a paced close waits only while training. */
  syncTimers(federationId: string, phase: RoundPhase): void {
    this.deadlineTimers.get(federationId)?.cancel();
    this.deadlineTimers.delete(federationId);
    if (phase.status !== 'training') {
      this.cancelPace(federationId);
      return;
    }
    if (this.stopped) return;
    const round = phase.round;
    const delay = Math.max(0, phase.deadline - this.options.clock.now());
    this.deadlineTimers.set(federationId, this.options.clock.setTimer(delay, () => { this.onDeadline(federationId, round); }));
  }

  private resync(federationId: string): void {
    const federation = this.options.store.getFederation(federationId);
    if (federation) this.syncTimers(federationId, roundStateOf(federation, null).phase);
  }

  private armPace(federationId: string, at: number): void {
    if (this.paceTimers.has(federationId) || this.stopped) return;
    this.paceTimers.set(federationId, this.options.clock.setTimer(Math.max(0, at - this.options.clock.now()), () => {
      this.paceTimers.delete(federationId);
      this.checkClose(federationId);
    }));
  }

  private cancelPace(federationId: string): void {
    this.paceTimers.get(federationId)?.cancel();
    this.paceTimers.delete(federationId);
  }

  /** Forgets a deleted federation's timers and aggregate. */
  forget(federationId: string): void {
    this.syncTimers(federationId, { status: 'stopped', round: 0 });
    this.ingest.forget(federationId);
    this.lastAccepted.delete(federationId);
  }

  /**
   * After a (re)start: rebuild open rounds' aggregates (in slices, not blocking), re-arm deadlines (with grace), redo
   * interrupted aggregations.
   */
  recover(graceMs: number): void {
    const { store, logger } = this.options;
    for (const federation of store.listFederations()) {
      if (openRound(federation) !== null) {
        // In slices, so that the API answers at once whatever the history (a close before it is done rebuilds at once).
        this.ingest.rebuildInSlices(federation.id, federation.round, moduleSpecOf(federation)).catch((error: unknown) => {
          logger.error('the open round aggregate could not be rebuilt; it is rebuilt at the close', { federation: federation.id, round: federation.round, error });
        });
      }
      if (federation.status === 'aggregating') logger.info('resuming an interrupted aggregation', { federation: federation.id, round: federation.round });
      const graced = federation.status === 'training' && federation.deadline !== null && federation.deadline < this.options.clock.now() + graceMs;
      this.dispatch(federation.id, { type: 'restart', graceMs }, 'coordinator');
      if (graced) logger.info('open round resumed with a grace period for sites to reconnect', { federation: federation.id, round: federation.round, graceMs });
      this.resync(federation.id);
    }
    this.secure?.recover();
  }

  /** Cancels every timer; no transition runs afterwards. */
  shutdown(): void {
    this.stopped = true;
    this.secure?.shutdown();
    for (const timer of [...this.deadlineTimers.values(), ...this.paceTimers.values()]) timer.cancel();
    this.deadlineTimers.clear();
    this.paceTimers.clear();
  }
}
