/**
 * The landing page's demo logic, kept pure so it is unit-tested without a browser: whether the current demo run is
 * over, what its status line says, which demo hospitals are open in a tab, and when starting a new run needs a
 * confirmation.
 */
import type { DemoHospital, FederationSummary, SiteSummary } from '@facmic/protocol';

export interface DemoHospitalView extends DemoHospital {
  /** A tab of this hospital is connected now (opening another would replace it). */
  readonly online: boolean;
}

/** The run's demo hospitals with whether each is open in a tab somewhere (from the run's site list). */
export function demoHospitalViews(hospitals: readonly DemoHospital[], sites: readonly Pick<SiteSummary, 'id' | 'online'>[]): DemoHospitalView[] {
  const online = new Set(sites.filter((s) => s.online).map((s) => s.id));
  return hospitals.map((h) => ({ ...h, online: online.has(h.siteId) }));
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
