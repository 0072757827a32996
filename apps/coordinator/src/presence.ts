/**
 * Who is online: the live, in-memory state of connected sites (never stored: it is rebuilt as sites reconnect). A site
 * has at most one current session; a newer connection with the same invite replaces the older one, and calls from a
 * replaced session change nothing.
 */
import type { SitePhase } from '@facmic/protocol';
import type { SiteRecord } from './store/store.ts';

export interface SitePresence {
  readonly siteId: string;
  readonly federationId: string;
  readonly sessionId: string;
  /** Encoder checked and data encoded: counts towards quorum. */
  ready: boolean;
  encoderHash: string | null;
  trainSamples: number | null;
  testSamples: number | null;
  phase: SitePhase | null;
  progress: number | null;
  phaseRound: number | null;
  message: string | null;
  readonly client: string | null;
}

export interface SiteReadiness {
  encoderHash: string;
  trainSamples: number;
  testSamples: number;
}

export interface SiteActivityReport {
  phase: SitePhase;
  progress: number | null;
  round: number | null;
  message: string | null;
}

export class PresenceRegistry {
  private readonly sites = new Map<string, SitePresence>();

  /** A site connected with a new session. Returns the session it replaces, or null. */
  connect(site: SiteRecord, sessionId: string, client: string | null): string | null {
    const previous = this.sites.get(site.id);
    this.sites.set(site.id, {
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
    return previous && previous.sessionId !== sessionId ? previous.sessionId : null;
  }

  /** The session's presence if it is the site's current one, else undefined (a replaced session). */
  current(siteId: string, sessionId: string): SitePresence | undefined {
    const presence = this.sites.get(siteId);
    return presence?.sessionId === sessionId ? presence : undefined;
  }

  /** The session disconnected. Returns the presence it ended, or undefined for an older, replaced session. */
  disconnect(siteId: string, sessionId: string): SitePresence | undefined {
    const presence = this.current(siteId, sessionId);
    if (presence) this.sites.delete(siteId);
    return presence;
  }

  markReady(presence: SitePresence, readiness: SiteReadiness): void {
    presence.ready = true;
    presence.encoderHash = readiness.encoderHash;
    presence.trainSamples = readiness.trainSamples;
    presence.testSamples = readiness.testSamples;
  }

  report(presence: SitePresence, activity: SiteActivityReport): void {
    presence.phase = activity.phase;
    presence.progress = activity.progress;
    presence.phaseRound = activity.round;
    presence.message = activity.message;
  }

  get(siteId: string): SitePresence | undefined {
    return this.sites.get(siteId);
  }

  isOnline(siteId: string): boolean {
    return this.sites.has(siteId);
  }

  /** Forgets a site (revoked, federation deleted). Returns whether it was online. */
  remove(siteId: string): boolean {
    return this.sites.delete(siteId);
  }

  /** Ready sites of a federation, sorted by id (a round's participants). */
  readySites(federationId: string): string[] {
    const ids: string[] = [];
    for (const p of this.sites.values()) if (p.federationId === federationId && p.ready) ids.push(p.siteId);
    return ids.sort();
  }

  /** The training sample count a ready site reported (null when it is not online or not ready). */
  trainSamplesOf(siteId: string): number | null {
    return this.sites.get(siteId)?.trainSamples ?? null;
  }

  /** Counts for `/metrics`. */
  counts(): { online: number; ready: number } {
    let ready = 0;
    for (const p of this.sites.values()) if (p.ready) ready++;
    return { online: this.sites.size, ready };
  }
}
