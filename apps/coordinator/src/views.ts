/**
 * What sites and dashboards are shown: `round:update` snapshots, federation, site and round summaries, built from
 * the store's records and who is online. The `*View` functions are pure; {@link CoordinatorViews} gathers their
 * inputs. Whether a round is under way and which model is the newest come from `@facmic/protocol`'s round position,
 * the definition the dashboard uses too.
 */
import {
  latestModelRound,
  promptsFor,
  roundUnderWay,
  type EvalMetrics,
  type FederationConfig,
  type FederationSummary,
  type PrivacySpent,
  type RoundSummary,
  type RoundUpdate,
  type SiteSummary,
  type SubmissionSummary,
} from '@facmic/protocol';
import type { PresenceRegistry, SitePresence } from './presence.ts';
import { privacySpentView } from './privacy-budget.ts';
import type { CoordinatorStore, FederationRecord, GlobalModelRecord, RoundRecord, SiteRecord, SubmissionRecord, TrafficRecord } from './store/store.ts';

/** Who takes part in, and who has submitted to, a federation's current round. */
export interface RoundContext {
  readonly participants: readonly string[];
  readonly submitted: ReadonlySet<string>;
  /** Differential privacy spent and the budget (null without it). */
  readonly privacy: PrivacySpent | null;
  /** Ready sites of the federation, counted once for all the sites' updates (not once per site). */
  readonly readySites?: number;
  /** The participants as a set, for the same reason. */
  readonly participantSet?: ReadonlySet<string>;
}

export function roundUpdateView(federation: FederationRecord, siteId: string, context: RoundContext, readySites: number): RoundUpdate {
  const underWay = roundUnderWay(federation);
  return {
    federationId: federation.id,
    status: federation.status,
    pausedFrom: federation.pausedFrom,
    round: federation.round,
    totalRounds: federation.settings.rounds,
    deadline: federation.deadline,
    latestModelRound: latestModelRound(federation),
    participating: underWay && (context.participantSet ? context.participantSet.has(siteId) : context.participants.includes(siteId)),
    submitted: underWay && context.submitted.has(siteId),
    participants: underWay ? context.participants.length : 0,
    submissions: underWay ? context.submitted.size : 0,
    quorum: federation.settings.quorum,
    readySites,
    privacy: context.privacy,
  };
}

export function federationConfigView(federation: FederationRecord): FederationConfig {
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
    privacy: s.privacy,
    createdAt: federation.createdAt,
  };
}

export function federationSummaryView(
  federation: FederationRecord,
  facts: { sites: readonly SiteRecord[]; online: number; ready: number; context: RoundContext; latestGlobalMetrics: EvalMetrics | null },
): FederationSummary {
  const underWay = roundUnderWay(federation);
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
    sitesTotal: facts.sites.filter((s) => s.revokedAt === null).length,
    sitesOnline: facts.online,
    sitesReady: facts.ready,
    participants: underWay ? facts.context.participants.length : 0,
    submissions: underWay ? facts.context.submitted.size : 0,
    latestModelRound: latestModelRound(federation),
    latestGlobalMetrics: facts.latestGlobalMetrics,
    privacy: facts.context.privacy,
    createdAt: federation.createdAt,
    updatedAt: federation.updatedAt,
  };
}

export function siteSummaryView(site: SiteRecord, presence: SitePresence | undefined, submissions: number): SiteSummary {
  return {
    id: site.id,
    federationId: site.federationId,
    name: site.name,
    createdAt: site.createdAt,
    revokedAt: site.revokedAt,
    firstSeenAt: site.firstSeenAt,
    lastSeenAt: site.lastSeenAt,
    online: presence !== undefined,
    ready: presence?.ready ?? false,
    phase: presence?.phase ?? null,
    progress: presence?.progress ?? null,
    phaseRound: presence?.phaseRound ?? null,
    message: presence?.message ?? null,
    client: presence?.client ?? site.client,
    trainSamples: presence?.trainSamples ?? null,
    testSamples: presence?.testSamples ?? null,
    submissions,
    virtual: site.virtual,
  };
}

export function roundSummaryView(
  round: RoundRecord,
  facts: { submissions: readonly SubmissionRecord[]; model: Omit<GlobalModelRecord, 'weights'> | undefined; traffic: TrafficRecord },
): RoundSummary {
  return {
    federationId: round.federationId,
    round: round.round,
    status: round.status,
    startedAt: round.startedAt,
    deadline: round.deadline,
    closedAt: round.closedAt,
    publishedAt: round.publishedAt,
    participants: round.participants,
    submissions: facts.submissions.length,
    totalSamples: facts.submissions.reduce((sum, s) => sum + s.sampleCount, 0),
    extensions: round.extensions,
    bytesReceived: facts.traffic.bytesReceived,
    bytesSent: facts.traffic.bytesSent,
    aggregationMs: round.aggregationMs,
    globalMetrics: facts.model?.metrics ?? null,
    modelChecksum: facts.model?.checksum ?? null,
  };
}

/** The views, with their inputs read from the store and the presence registry. */
export class CoordinatorViews {
  /** Sites whose masked inputs a secure round holds (they count as its submissions); set by the engine. */
  secureInputs: ((federationId: string, round: number) => readonly string[]) | null = null;

  constructor(
    private readonly store: CoordinatorStore,
    private readonly presence: PresenceRegistry,
  ) {}

  /** What every site of a federation needs for its `round:update` (computed once per announcement). */
  roundContext(federation: FederationRecord): RoundContext {
    const round = federation.round > 0 ? this.store.getRound(federation.id, federation.round) : null;
    const submitted = new Set(round ? this.store.listSubmitters(federation.id, round.round) : []);
    if (round && this.secureInputs) for (const id of this.secureInputs(federation.id, round.round)) submitted.add(id);
    const privacy = federation.settings.privacy.differentialPrivacy ? privacySpentView(federation, this.store.privacy.ledger(federation.id)) : null;
    const participants = round?.participants ?? [];
    return { participants, submitted, privacy, readySites: this.presence.readySites(federation.id).length, participantSet: new Set(participants) };
  }

  roundUpdate(federation: FederationRecord, siteId: string, context: RoundContext): RoundUpdate {
    return roundUpdateView(federation, siteId, context, context.readySites ?? this.presence.readySites(federation.id).length);
  }

  /** The `round:update` of one site, or null when the site or its federation is gone. */
  roundUpdateFor(siteId: string): RoundUpdate | null {
    const site = this.store.getSite(siteId);
    const federation = site ? this.store.getFederation(site.federationId) : null;
    if (!federation) return null;
    return this.roundUpdate(federation, siteId, this.roundContext(federation));
  }

  federationConfig(federation: FederationRecord): FederationConfig {
    return federationConfigView(federation);
  }

  federationSummary(federation: FederationRecord): FederationSummary {
    const sites = this.store.listSites(federation.id);
    const models = federation.hasGlobalTest ? this.store.listGlobalModels(federation.id) : [];
    return federationSummaryView(federation, {
      sites,
      online: sites.filter((s) => this.presence.isOnline(s.id)).length,
      ready: this.presence.readySites(federation.id).length,
      context: this.roundContext(federation),
      latestGlobalMetrics: models.filter((m) => m.metrics !== null).at(-1)?.metrics ?? null,
    });
  }

  siteSummary(site: SiteRecord, submissionCounts?: Map<string, number>): SiteSummary {
    const counts = submissionCounts ?? this.store.countSubmissionsBySite(site.federationId);
    return siteSummaryView(site, this.presence.get(site.id), counts.get(site.id) ?? 0);
  }

  roundSummary(round: RoundRecord): RoundSummary {
    return roundSummaryView(round, {
      submissions: this.store.listSubmissions(round.federationId, round.round),
      model: round.status === 'published' ? this.store.listGlobalModels(round.federationId).find((m) => m.round === round.round) : undefined,
      traffic: this.store.getTraffic(round.federationId, round.round),
    });
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
}
