/**
 * The dashboard's derived data, as pure functions: what each site is doing in words, the per-site and global curves,
 * and what a round's traffic costs compared with sending the whole CLIP encoder.
 */
import { openRound, type AuditEntry, type FederationSummary, type RoundSummary, type SiteSummary, type SubmissionSummary } from '@facmic/protocol';
import type { ChartSeries } from '../../charts/chart-scale.ts';
import { countOf, formatCount, formatDuration, formatRelative } from '../../lib/format.ts';

/** CLIP ViT-B/16 (image and text towers): about 150 million parameters. */
export const FULL_CLIP_PARAMETERS = 150_000_000;
/** Bytes to send the full CLIP encoder once in float32. */
export const FULL_CLIP_BYTES = FULL_CLIP_PARAMETERS * 4;

export type SiteActivity = 'revoked' | 'offline' | 'online' | 'encoding' | 'training' | 'submitted' | 'late' | 'waiting' | 'finished' | 'error';

export interface SiteActivityView {
  readonly activity: SiteActivity;
  readonly label: string;
  readonly tone: 'ok' | 'warn' | 'danger' | 'info' | undefined;
}

/**
 * One word (and a short label) for what a site is doing. `late`: it takes part in the open round, has not submitted,
 * and the round's deadline has passed.
 */
export function siteActivity(site: SiteSummary, federation: FederationSummary | null, currentRound: RoundSummary | null, now: number): SiteActivityView {
  if (site.revokedAt !== null) return { activity: 'revoked', label: 'invite revoked', tone: 'danger' };
  const progress = site.progress === null ? '' : ` ${Math.round(site.progress * 100)} %`;
  const open = federation !== null && currentRound?.status === 'training' && openRound(federation) === currentRound.round;
  const participant = open && currentRound.participants.includes(site.id);
  const submittedNow = site.phase === 'submitted' && site.phaseRound === currentRound?.round;
  if (participant && !submittedNow && currentRound.deadline !== null && now > currentRound.deadline) {
    return { activity: 'late', label: site.online ? 'late' : 'late, offline', tone: 'danger' };
  }
  if (!site.online) return { activity: 'offline', label: site.firstSeenAt === null ? 'not joined yet' : 'offline', tone: undefined };
  switch (site.phase) {
    case 'encoding':
      return { activity: 'encoding', label: `encoding${progress}`, tone: 'info' };
    case 'loading':
      return { activity: 'encoding', label: 'loading model', tone: 'info' };
    case 'downloading':
    case 'evaluating':
    case 'training':
    case 'submitting':
      return { activity: 'training', label: site.phase === 'training' ? `training${progress}` : site.phase, tone: 'info' };
    case 'submitted':
      return submittedNow || !open ? { activity: 'submitted', label: `submitted round ${site.phaseRound ?? '?'}`, tone: 'ok' } : { activity: 'waiting', label: 'waiting', tone: undefined };
    case 'finished':
      return { activity: 'finished', label: 'finished', tone: 'ok' };
    case 'error':
      return { activity: 'error', label: 'problem', tone: 'warn' };
    case 'ready':
    case 'waiting':
    case 'paused':
      return { activity: 'waiting', label: site.ready ? 'ready, waiting' : 'waiting', tone: undefined };
    default:
      return { activity: 'online', label: 'online', tone: 'ok' };
  }
}

/** Global test accuracy and balanced accuracy per published round. */
export function globalSeries(rounds: readonly RoundSummary[]): ChartSeries[] {
  const published = [...rounds].filter((r) => r.globalMetrics !== null).sort((a, b) => a.round - b.round);
  const series: ChartSeries[] = [
    { name: 'Accuracy', points: published.map((r) => ({ x: r.round, y: r.globalMetrics?.accuracy ?? Number.NaN })) },
    { name: 'Balanced accuracy', points: published.map((r) => ({ x: r.round, y: r.globalMetrics?.balancedAccuracy ?? Number.NaN })), dashed: true },
  ];
  // Where the coordinator knows the reference set's classes: how often the pseudo labels LMMD weights by are right.
  const pseudo = published.flatMap((r) => (r.globalMetrics?.pseudoLabelAccuracy === undefined ? [] : [{ x: r.round, y: r.globalMetrics.pseudoLabelAccuracy }]));
  if (pseudo.length > 0) series.push({ name: 'Pseudo-label accuracy (reference set)', points: pseudo, dashed: true });
  return series;
}

/**
 * One series per site: the chosen metric of the model each site trained (`local`) or of the global model it received
 * (`global`), on the site's own test split, per round.
 */
export function siteSeries(submissions: readonly SubmissionSummary[], model: 'local' | 'global', metric: 'accuracy' | 'balancedAccuracy'): ChartSeries[] {
  const bySite = new Map<string, { name: string; points: { x: number; y: number }[] }>();
  for (const s of [...submissions].sort((a, b) => a.round - b.round)) {
    const metrics = model === 'local' ? s.metrics.localModel : s.metrics.globalModel;
    if (!metrics) continue;
    const entry = bySite.get(s.siteId) ?? { name: s.siteName, points: [] };
    entry.points.push({ x: s.round, y: metrics[metric] });
    bySite.set(s.siteId, entry);
  }
  return [...bySite.values()].sort((a, b) => a.name.localeCompare(b.name));
}

export interface RoundTraffic {
  readonly round: number;
  /** Weights uploaded by the sites. */
  readonly uploaded: number;
  /** Global models and features downloaded by the sites. */
  readonly downloaded: number;
  readonly sites: number;
  /** What the same sites would move if each sent and received the full CLIP encoder. */
  readonly fullClip: number;
}

export function roundTraffic(rounds: readonly RoundSummary[]): RoundTraffic[] {
  return [...rounds]
    .sort((a, b) => a.round - b.round)
    .map((r) => ({
      round: r.round,
      uploaded: r.bytesReceived,
      downloaded: r.bytesSent,
      sites: r.submissions,
      fullClip: 2 * FULL_CLIP_BYTES * Math.max(1, r.submissions),
    }));
}

/** `12 345×` smaller, rounded to what a person reads. */
export function reductionFactor(actual: number, full: number): string {
  if (actual <= 0) return '–';
  const factor = full / actual;
  return factor >= 100 ? `${Math.round(factor).toLocaleString('en-US')}×` : `${factor.toFixed(1)}×`;
}

/** Details in words: times as clock times, site ids as hospital names, lists joined, nested objects left out. */
export function describeDetails(details: Record<string, unknown>, siteName: (id: string) => string = (id) => id): string {
  const word = (item: unknown): string => (typeof item === 'string' ? (item.startsWith('site-') ? siteName(item) : item) : typeof item === 'number' ? String(item) : JSON.stringify(item));
  return Object.entries(details)
    .flatMap(([k, v]) => {
      if (v === null || v === undefined) return [];
      if (typeof v === 'number' && /(deadline|At)$/.test(k) && v > 1e12) return [`${k}: ${new Date(v).toLocaleTimeString()}`];
      if (Array.isArray(v)) return [`${k}: ${v.map(word).join(', ')}`];
      if (typeof v === 'string') return [`${k}: ${word(v)}`];
      if (typeof v === 'number' || typeof v === 'boolean') return [`${k}: ${String(v)}`];
      return [];
    })
    .join('; ');
}

/** When the open round will close, for the dashboard's "round closes" figure: a value and what it means. */
export interface RoundClosing {
  readonly value: string;
  readonly label: string;
}

/**
 * When the open round really closes. A paced round (`minRoundSeconds` > 0) whose updates are all in closes when it
 * has run that long, not at its deadline; a round still waiting for updates closes when the last one is in, at the
 * latest at the deadline (and, paced, not before its shortest length).
 */
export function roundClosing(summary: FederationSummary, round: RoundSummary | null, minRoundSeconds: number, now: number): RoundClosing {
  if (summary.status === 'paused') return { value: '–', label: 'round closes: paused, its deadline waits' };
  if (summary.status !== 'training' || !round || round.status !== 'training' || round.deadline === null) return { value: '–', label: 'round closes' };
  // The page's clock ticks once a second (and may differ from the coordinator's): never before the round started.
  now = Math.max(now, round.startedAt);
  const earliest = round.startedAt + minRoundSeconds * 1000;
  const allIn = summary.participants > 0 && summary.submissions >= summary.participants;
  const pace = `rounds last at least ${minRoundSeconds} s`;
  if (allIn) {
    return minRoundSeconds > 0 && now < earliest
      ? { value: formatRelative(earliest, now), label: `round closes: every update is in, and ${pace}` }
      : { value: 'now', label: 'round closes: every update is in' };
  }
  return {
    value: formatRelative(round.deadline, now),
    label: minRoundSeconds > 0 && now < earliest ? `round closes at the latest; sooner once every update is in (${pace})` : 'round closes at the latest; sooner once every update is in',
  };
}

/** Admin actions (someone at a dashboard or the API) as opposed to what rounds and hospitals did. */
export function isAdminAction(entry: AuditEntry): boolean {
  return entry.actor === 'admin';
}

const text = (value: unknown): string => (typeof value === 'string' ? value : typeof value === 'number' ? String(value) : '');
const list = (value: unknown): unknown[] => (Array.isArray(value) ? value : []);

const SETTING_WORDS: Readonly<Record<string, (value: unknown) => string>> = {
  name: (v) => `name “${text(v)}”`,
  rounds: (v) => `${text(v)} rounds`,
  quorum: (v) => `${text(v)} hospitals per round`,
  roundDeadlineSeconds: (v) => `round deadline ${formatDuration(Number(v))}`,
  minRoundSeconds: (v) => (Number(v) > 0 ? `shortest round ${formatDuration(Number(v))}` : 'no shortest round'),
};

/** One audit entry as a sentence: who did what, with hospital names instead of ids, no event names. */
export function describeAuditEntry(entry: AuditEntry, siteName: (id: string) => string = (id) => id): string {
  const d = entry.details;
  const round = text(d.round);
  const name = text(d.name) || siteName(text(d.siteId));
  switch (entry.action) {
    case 'federation.created':
      return `Created the federation “${text(d.name)}”: ${text(d.rounds)} rounds, ${countOf(Number(d.quorum), 'hospital')} per round`;
    case 'federation.updated': {
      const changes = Object.entries(d).flatMap(([key, value]) => (SETTING_WORDS[key] ? [SETTING_WORDS[key](value)] : []));
      return changes.length > 0 ? `Changed the settings: ${changes.join(', ')}` : 'Changed the settings';
    }
    case 'federation.paused':
      return `Paused the federation at round ${round}`;
    case 'federation.resumed':
      return `Resumed the federation at round ${round}`;
    case 'federation.stopped':
      return d.abandonedRound != null ? `Stopped the federation; round ${text(d.abandonedRound)} was abandoned` : `Stopped the federation at round ${round}`;
    case 'federation.deleted':
      return `Deleted the federation “${text(d.name)}”`;
    case 'demo.run-started':
      return d.previous != null ? `Started demo run ${text(d.run)}, after ${text(d.previous)} (${text(d.previousStatus)})` : `Started demo run ${text(d.run)}`;
    case 'federation.finished':
      return `The federation finished its ${text(d.rounds)} rounds`;
    case 'invite.created':
      return d.virtual === true ? `Added the virtual hospital ${name}` : `Created the invite of ${name}`;
    case 'invite.revoked':
      return `Revoked the invite of ${name}`;
    case 'site.joined':
      return `${name} joined`;
    case 'round.started':
      return `Round ${round} started with ${countOf(list(d.participants).length, 'hospital')}`;
    case 'round.extended':
      return `Round ${round} had ${countOf(Number(d.submissions), 'update')} of the ${formatCount(Number(d.quorum))} needed at its deadline: extended, and open to every ready hospital`;
    case 'round.published':
      return `Round ${round} published: ${countOf(list(d.contributors).length, 'update')} from ${countOf(Number(d.totalSamples), 'training image')}`;
    case 'round.aggregation-failed':
      return `Round ${round}: combining the updates failed (${text(d.error)}); the coordinator tries again`;
    default: {
      const rest = describeDetails(d, siteName);
      return rest === '' ? entry.action : `${entry.action}: ${rest}`;
    }
  }
}
