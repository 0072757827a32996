/**
 * The landing page's demo logic, kept pure so it is unit-tested without a browser: which demo run is current and
 * whether it is over, what the status line says, when starting a new run needs a confirmation, and the demo
 * hospitals' invites this browser created (kept per run in localStorage, since a token is shown only once).
 */
import { buildDemoHospitalLink, parseInviteLink, type FederationSummary } from '@facmic/protocol';

/** Demo hospitals the landing page opens per run. */
export const DEMO_HOSPITALS = 3;

export interface DemoInvite {
  readonly name: string;
  /** The invite link (without the demo parameter). */
  readonly link: string;
}

export function demoHospitalName(index: number): string {
  return `Demo hospital ${index + 1}`;
}

/** The page of demo hospital `index`: its invite plus `demo=<index>`, so the tab generates that hospital's images. */
export function demoHospitalUrl(invite: DemoInvite, index: number): string {
  return buildDemoHospitalLink(invite.link, index);
}

export function demoInvitesKey(federationId: string): string {
  return `facmic.demo.invites.${federationId}`;
}

/** Saved invites of a run (as stored under {@link demoInvitesKey}); anything unreadable counts as none. */
export function parseSavedDemoInvites(raw: string | null, federationId: string): DemoInvite[] {
  if (raw === null) return [];
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    return [];
  }
  if (!Array.isArray(parsed)) return [];
  return parsed.filter((item): item is DemoInvite => {
    if (typeof item !== 'object' || item === null) return false;
    const { name, link } = item as Record<string, unknown>;
    return typeof name === 'string' && typeof link === 'string' && parseInviteLink(link)?.federationId === federationId;
  });
}

/** Finished or stopped: new demo tabs could only watch. */
export function isDemoRunOver(summary: Pick<FederationSummary, 'status'> | null): boolean {
  return summary !== null && (summary.status === 'finished' || summary.status === 'stopped');
}

/** One line on the current run for the landing page. */
export function demoRunStatusLine(summary: FederationSummary): string {
  const where =
    summary.status === 'finished'
      ? `finished after ${summary.round} rounds`
      : summary.status === 'stopped'
        ? `stopped at round ${summary.round} of ${summary.totalRounds}`
        : summary.round === 0
          ? `waiting for ${summary.quorum} hospitals to start round 1 of ${summary.totalRounds}`
          : `round ${summary.round} of ${summary.totalRounds}${summary.status === 'paused' ? ' (paused)' : ''}`;
  const online = `${summary.sitesOnline} of ${summary.sitesTotal} hospital${summary.sitesTotal === 1 ? '' : 's'} online`;
  const accuracy = summary.latestGlobalMetrics ? `, global test accuracy ${(summary.latestGlobalMetrics.accuracy * 100).toFixed(1)} %` : '';
  return `${summary.name}: ${where}, ${online}${accuracy}.`;
}

/**
 * The question to ask before a new run replaces `current`, or null when nothing would be lost (no run, a run that
 * is over, or one nobody has joined yet).
 */
export function newDemoRunConfirmation(current: FederationSummary | null): string | null {
  if (current === null || isDemoRunOver(current)) return null;
  if (current.round === 0 && current.sitesOnline === 0) return null;
  const where = current.round === 0 ? 'before its first round' : `at round ${current.round} of ${current.totalRounds}`;
  return `Start a new demo run? The current one (${current.name}) stops ${where}; its hospitals stop training. It stays on the dashboard with its rounds and models.`;
}
