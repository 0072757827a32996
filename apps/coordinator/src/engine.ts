/**
 * The coordinator's engine: what admins and sites ask of a federation. It checks a request (the round machine,
 * `round-machine.ts`, and the submission check, `submission-check.ts`, decide; both are pure), persists the result in
 * one transaction, then announces it, and returns a domain {@link Outcome} that the gateways turn into acks and the
 * REST API into HTTP answers. Nothing here knows Socket.IO or HTTP; nothing here throws for a refused request.
 *
 * Parts: `round-driver.ts` carries out round transitions (timers, aggregation), `round-ingest.ts` keeps each open
 * round's running aggregate, `presence.ts` who is online, `views.ts` what sites and dashboards are shown,
 * `global-evaluations.ts` the global test scores, `announcer.ts` the announcements after commit.
 */
import { validateModuleState, type ModuleState } from '@facmic/learning/plain';
import { encodeTensors, openRound, type ParsedSecureAggregationAnswer, type ParsedSubmission, type RoundUpdate, type SitePhase } from '@facmic/protocol';
import { Announcer, type EngineListener } from './announcer.ts';
import type { Clock } from './clock.ts';
import { GlobalEvaluations, type GlobalEvaluator } from './global-evaluations.ts';
import type { Logger } from './logger.ts';
import { accept, refuse, type Outcome } from './outcome.ts';
import { PresenceRegistry } from './presence.ts';
import { extensionOverspend, ledgerOf } from './privacy-budget.ts';
import { PublishedModels } from './published-models.ts';
import { RoundDriver, rulesOf } from './round-driver.ts';
import { SecureRounds } from './secure-rounds.ts';
import { SubmissionDesk, type SubmitOutcome } from './submissions.ts';
import type { SubmissionWriter } from './submission-writer.ts';
import { TrafficBuffer } from './traffic-buffer.ts';
import type { CoordinatorStore, FederationRecord, FederationSettingsRecord, SiteRecord } from './store/store.ts';
import { CoordinatorViews } from './views.ts';

export type { EngineListener, PublicationTimings } from './announcer.ts';
export type { GlobalEvaluator } from './global-evaluations.ts';

export interface EngineOptions {
  store: CoordinatorStore;
  clock: Clock;
  logger: Logger;
  evaluateGlobal?: GlobalEvaluator;
  /** After a restart, an open round whose deadline passed while the coordinator was down gets this long (ms). */
  reconnectGraceMs?: number;
  /** Keep submission weights of this many most recent rounds (null: all). */
  keepSubmissionWeightsRounds?: number | null;
  /** Decodes, checks and stores sites' updates off the main thread (`submission-writer.ts`); closed at shutdown. */
  submissionWriter?: SubmissionWriter | null;
}

export type SettingsPatch = Partial<Pick<FederationSettingsRecord, 'name' | 'rounds' | 'quorum' | 'roundDeadlineSeconds' | 'minRoundSeconds'>>;

export interface NewFederation {
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
}

type FederationOutcome = Outcome<{ federation: FederationRecord }>;

export class FederationEngine {
  readonly presence = new PresenceRegistry();
  readonly views: CoordinatorViews;
  private readonly store: CoordinatorStore;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly announcer: Announcer;
  private readonly evaluations: GlobalEvaluations;
  private readonly rounds: RoundDriver;
  readonly secure: SecureRounds;
  private readonly reconnectGraceMs: number;
  private readonly models: PublishedModels;
  private readonly submissions: SubmissionDesk;
  private readonly traffic: TrafficBuffer;
  private readonly submissionWriter: SubmissionWriter | null;

  constructor(options: EngineOptions) {
    this.store = options.store;
    this.clock = options.clock;
    this.logger = options.logger;
    this.reconnectGraceMs = options.reconnectGraceMs ?? 30_000;
    this.models = new PublishedModels(options.store);
    this.announcer = new Announcer(options.store, options.clock, options.logger);
    this.views = new CoordinatorViews(options.store, this.presence);
    this.evaluations = new GlobalEvaluations(options.store, this.announcer, options.logger, options.evaluateGlobal);
    this.rounds = new RoundDriver({
      store: options.store,
      clock: options.clock,
      logger: options.logger,
      announcer: this.announcer,
      presence: this.presence,
      evaluations: this.evaluations,
      keepSubmissionWeightsRounds: options.keepSubmissionWeightsRounds ?? null,
    });
    this.submissions = new SubmissionDesk({ store: options.store, clock: options.clock, logger: options.logger, announcer: this.announcer, rounds: this.rounds, writer: options.submissionWriter ?? null });
    this.submissionWriter = options.submissionWriter ?? null;
    this.rounds.closeHeld = (federationId) => this.submissions.writesInFlight(federationId) > 0;
    this.rounds.ingest.remote = this.submissionWriter;
    const writer = this.submissionWriter;
    if (writer) this.rounds.pruneElsewhere = (federationId, beforeRound) => writer.prune(federationId, beforeRound);
    this.traffic = new TrafficBuffer(options.store, (error) => { options.logger.error('traffic counts could not be stored', { error }); });
    this.secure = new SecureRounds({ store: options.store, clock: options.clock, logger: options.logger, presence: this.presence, announcer: this.announcer });
    this.secure.host = this.rounds;
    this.rounds.secure = this.secure;
    this.views.secureInputs = (federationId, round) => this.secure.inputsIn(federationId, round);
  }

  addListener(listener: EngineListener): void {
    this.announcer.add(listener);
  }

  /** Audits an admin action taken outside the state machine (a new demo run), and tells the dashboards. */
  recordAudit(actor: string, action: string, federationId: string | null, details: Record<string, unknown> = {}): void {
    this.announcer.commit((audit) => { audit(actor, action, federationId, details); });
  }

  // ---- life cycle ---------------------------------------------------------------------------------------------

  /** After a (re)start: re-arm deadlines, finish interrupted aggregations, evaluate models that lack metrics. */
  recover(): void {
    this.rounds.recover(this.reconnectGraceMs);
    for (const federation of this.store.listFederations()) {
      if (!federation.hasGlobalTest) continue;
      for (const model of this.store.listGlobalModels(federation.id)) if (model.metrics === null) this.evaluations.schedule(federation.id, model.round);
    }
  }

  /** Cancels timers; the submission worker's writes in flight and pending evaluations are awaited. */
  async shutdown(): Promise<void> {
    this.rounds.shutdown();
    await this.submissionWriter?.close();
    this.traffic.flush();
    await this.evaluations.shutdown();
  }

  /** Resolves when pending global-test evaluations are done and traffic counts written (tests). */
  idle(): Promise<void> {
    this.traffic.flush();
    return this.evaluations.idle();
  }

  // ---- federations --------------------------------------------------------------------------------------------

  findFederation(federationId: string): Outcome<{ federation: FederationRecord }, 'NOT_FOUND'> {
    const federation = this.store.getFederation(federationId);
    return federation ? accept({ federation }) : refuse('NOT_FOUND', `no federation ${federationId}`);
  }

  /** Creates a federation (its initial model is round 0's global model) in state `waiting`. */
  createFederation(input: NewFederation): FederationOutcome {
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
    const { bytes: weights, checksum } = encodeTensors(input.initialState);
    this.announcer.commit((audit) => {
      this.store.insertFederation(record, input.features, input.globalTest);
      this.store.insertGlobalModel({ federationId: record.id, round: 0, weights, checksum, contributors: [], totalSamples: 0, metrics: null, createdAt: now });
      audit(input.actor, 'federation.created', record.id, { name: record.settings.name, method: kind, rounds: record.settings.rounds, quorum: record.settings.quorum });
    });
    this.announcer.federationChanged(record.id);
    if (record.hasGlobalTest) this.evaluations.schedule(record.id, 0);
    return accept({ federation: record });
  }

  updateSettings(federationId: string, patch: SettingsPatch, actor: string): FederationOutcome {
    const found = this.findFederation(federationId);
    if (!found.ok) return found;
    const settings = { ...found.federation.settings, ...patch };
    const dp = settings.privacy.differentialPrivacy;
    if (dp && patch.rounds !== undefined && patch.rounds > found.federation.settings.rounds) {
      const overspend = extensionOverspend(dp, patch.rounds, ledgerOf(this.store.privacy.ledger(federationId)));
      if (overspend !== null) {
        return refuse('BAD_REQUEST', `${patch.rounds} rounds would spend epsilon ${overspend.toFixed(2)}, more than the privacy budget of ${dp.epsilon} (delta ${dp.delta}): the federation cannot be extended that far`);
      }
    }
    return this.rounds.dispatch(federationId, { type: 'change-rules', rules: rulesOf(settings) }, actor, (now, audit) => {
      this.store.updateFederationSettings(federationId, settings, now);
      audit(actor, 'federation.updated', federationId, { ...patch });
    });
  }

  pause(federationId: string, actor: string): FederationOutcome {
    return this.rounds.dispatch(federationId, { type: 'pause' }, actor);
  }

  resume(federationId: string, actor: string): FederationOutcome {
    return this.rounds.dispatch(federationId, { type: 'resume' }, actor);
  }

  stop(federationId: string, actor: string): FederationOutcome {
    return this.rounds.dispatch(federationId, { type: 'stop' }, actor);
  }

  deleteFederation(federationId: string, actor: string): Outcome {
    const found = this.findFederation(federationId);
    if (!found.ok) return found;
    this.rounds.forget(federationId);
    this.models.forget(federationId);
    this.traffic.forget(federationId);
    const sites = this.store.listSites(federationId);
    this.announcer.commit((audit) => {
      this.store.deleteFederation(federationId);
      audit(actor, 'federation.deleted', federationId, { name: found.federation.settings.name });
    });
    for (const site of sites) {
      if (this.presence.remove(site.id)) this.announcer.announce((l) => { l.closeSite(site.id, 'UNKNOWN_FEDERATION', 'the federation was deleted'); });
    }
    this.announcer.announce((l) => { l.federationDeleted(federationId); });
    return accept({});
  }

  // ---- sites ----------------------------------------------------------------------------------------------------

  createSite(input: { id: string; federationId: string; name: string; tokenHash: string; virtual: boolean; actor: string }): Outcome<{ site: SiteRecord }> {
    const found = this.findFederation(input.federationId);
    if (!found.ok) return found;
    const site: SiteRecord = {
      id: input.id,
      federationId: input.federationId,
      name: input.name,
      tokenHash: input.tokenHash,
      createdAt: this.clock.now(),
      revokedAt: null,
      firstSeenAt: null,
      lastSeenAt: null,
      client: null,
      virtual: input.virtual,
    };
    this.announcer.commit((audit) => {
      this.store.insertSite(site);
      audit(input.actor, 'invite.created', input.federationId, { siteId: site.id, name: site.name, virtual: site.virtual });
    });
    this.announcer.siteChanged(site.id);
    this.announcer.federationChanged(input.federationId);
    return accept({ site });
  }

  revokeSite(federationId: string, siteId: string, actor: string): Outcome<{ site: SiteRecord }> {
    const site = this.store.getSite(siteId);
    if (site?.federationId !== federationId) return refuse('NOT_FOUND', `no site ${siteId} in federation ${federationId}`);
    if (site.revokedAt !== null) return accept({ site });
    const now = this.clock.now();
    this.announcer.commit((audit) => {
      this.store.updateSite(siteId, { revokedAt: now });
      audit(actor, 'invite.revoked', federationId, { siteId, name: site.name });
    });
    if (this.presence.remove(siteId)) this.announcer.announce((l) => { l.closeSite(siteId, 'TOKEN_REVOKED', 'the invite of this site was revoked'); });
    this.announcer.siteChanged(siteId);
    this.announcer.federationChanged(federationId);
    this.rounds.checkClose(federationId);
    return accept({ site: { ...site, revokedAt: now } });
  }

  /** A site connected. Returns the session id of a connection it replaces (the gateway closes that one), or null. */
  siteConnected(site: SiteRecord, sessionId: string, client: string | null): string | null {
    const replaced = this.presence.connect(site, sessionId, client);
    const now = this.clock.now();
    this.announcer.commit((audit) => {
      this.store.updateSite(site.id, { lastSeenAt: now, client, ...(site.firstSeenAt === null ? { firstSeenAt: now } : {}) });
      if (site.firstSeenAt === null) audit(`site:${site.id}`, 'site.joined', site.federationId, { name: site.name, client });
    });
    this.announcer.siteChanged(site.id);
    this.announcer.federationChanged(site.federationId);
    return replaced;
  }

  siteDisconnected(siteId: string, sessionId: string): void {
    const presence = this.presence.disconnect(siteId, sessionId);
    if (!presence) return; // an older, replaced session
    if (this.store.getSite(siteId)) this.store.updateSite(siteId, { lastSeenAt: this.clock.now() });
    this.announcer.siteChanged(siteId);
    this.announcer.federationChanged(presence.federationId);
  }

  /** `site:ready`: the site's encoder matches and its data is encoded; it now counts towards quorum. */
  siteReady(siteId: string, sessionId: string, info: { encoderHash: string; trainSamples: number; testSamples: number }): Outcome<{ round: RoundUpdate }> {
    const presence = this.presence.current(siteId, sessionId);
    if (!presence) return refuse('SESSION_REPLACED', 'this connection was replaced by a newer one');
    const found = this.findFederation(presence.federationId);
    if (!found.ok) return refuse('UNKNOWN_FEDERATION', 'the federation no longer exists');
    const { encoder } = found.federation;
    if (info.encoderHash !== encoder.hash) {
      return refuse('ENCODER_MISMATCH', `the federation uses encoder ${encoder.modelId} (hash ${encoder.hash.slice(0, 12)}); this site's differs`);
    }
    this.presence.markReady(presence, info);
    this.announcer.siteChanged(siteId);
    this.announcer.federationChanged(presence.federationId);
    this.rounds.checkQuorum(presence.federationId);
    this.rounds.checkClose(presence.federationId);
    if (this.secure.handles(found.federation)) this.secure.siteReady(siteId, presence.federationId);
    const round = this.views.roundUpdateFor(siteId);
    return round ? accept({ round }) : refuse('UNKNOWN_FEDERATION', 'the federation no longer exists');
  }

  siteStatus(siteId: string, sessionId: string, status: { phase: SitePhase; progress: number | null; round: number | null; message: string | null }): void {
    const presence = this.presence.current(siteId, sessionId);
    if (!presence) return;
    this.presence.report(presence, status);
    this.announcer.siteChanged(siteId);
  }

  isCurrentSession(siteId: string, sessionId: string): boolean {
    return this.presence.current(siteId, sessionId) !== undefined;
  }

  roundUpdateFor(siteId: string): RoundUpdate | null {
    return this.views.roundUpdateFor(siteId);
  }

  // ---- transfers ----------------------------------------------------------------------------------------------

  /**
   * The global model after `round`, as stored (float32 tensor file; its bytes held in memory), for a site that sent `site:ready` on this
   * session (NOT_READY before; once the federation has ended its models are every site's to keep). Counts the bytes.
   */
  globalModelForSite(siteId: string, sessionId: string, federationId: string, round: number): Outcome<{ round: number; checksum: string; data: Uint8Array }> {
    const found = this.findFederation(federationId);
    if (!found.ok) return found;
    const ended = found.federation.status === 'finished' || found.federation.status === 'stopped';
    if (!ended && this.presence.current(siteId, sessionId)?.ready !== true) {
      return refuse('NOT_READY', 'send site:ready (encoder checked, data encoded) before asking for a global model');
    }
    const model = round > found.federation.round ? null : this.models.get(federationId, round);
    if (!model) return refuse('NOT_FOUND', `no global model for round ${round}`);
    this.traffic.sent(federationId, round + 1, model.weights.byteLength);
    return accept({ round, checksum: model.checksum, data: model.weights });
  }

  /** The text and reference features file. Counts the bytes sent towards the open (or next) round. */
  featuresForSite(federationId: string): Outcome<{ checksum: string; data: Uint8Array }> {
    const found = this.findFederation(federationId);
    if (!found.ok) return found;
    const { federation } = found;
    const features = this.store.getFederationFeatures(federationId);
    if (!features) return refuse('NOT_FOUND', 'the federation has no features');
    const terminal = federation.status === 'stopped' || federation.status === 'finished';
    if (!terminal) this.traffic.sent(federationId, openRound(federation) ?? federation.round + 1, features.byteLength);
    return accept({ checksum: federation.featuresChecksum, data: features });
  }

  /**
   * `round:submit` after schema validation, stored in a transaction of its own before this returns (tests,
   * benchmarks). Refusals change nothing in the store; an accepted submission is decoded and checked once, stored
   * (weights and metadata, in one transaction) before it is acknowledged, then added to its round's running aggregate.
   */
  submit(siteId: string, sessionFederationId: string, submission: ParsedSubmission): SubmitOutcome {
    return this.submissions.submitNow(siteId, sessionFederationId, submission);
  }

  /** The same for sites: the submissions of one turn of the event loop share one commit (`submissions.ts`). */
  submitGrouped(siteId: string, sessionFederationId: string, submission: ParsedSubmission): Promise<SubmitOutcome> {
    return this.submissions.submit(siteId, sessionFederationId, submission);
  }

  /** `secagg:answer` after schema validation: a site's message of its round's secure aggregation session. */
  async secureAnswer(siteId: string, sessionId: string, answer: ParsedSecureAggregationAnswer): Promise<Outcome> {
    const presence = this.presence.current(siteId, sessionId);
    if (!presence) return refuse('SESSION_REPLACED', 'this connection was replaced by a newer one');
    if (!presence.ready) return refuse('NOT_READY', 'send site:ready first');
    const federation = this.store.getFederation(presence.federationId);
    if (!this.secure.handles(federation)) return refuse('BAD_REQUEST', 'this federation does not use secure aggregation');
    return this.secure.answer(siteId, presence.federationId, answer);
  }

  /** Counts for `/metrics`. */
  presenceCounts(): { online: number; ready: number } {
    return this.presence.counts();
  }
}
