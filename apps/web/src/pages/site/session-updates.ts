/** How worker messages change what the hospital page saves in this browser (per-round results, names). */
import { updateRound, type SiteSession } from '../../lib/site-session.ts';
import type { WorkerToPage } from '../../worker/worker-messages.ts';

/** Applies one worker message (the site events it relays) to the saved session (round results, names). */
export function sessionAfter(session: SiteSession, message: WorkerToPage, now: number): SiteSession {
  if (message.type !== 'site') return session;
  const event = message.event;
  switch (event.name) {
    case 'welcome':
      return { ...session, siteName: event.data.site.name, federationName: event.data.federation.name, updatedAt: now };
    case 'evaluated':
      return { ...session, rounds: updateRound(session.rounds, event.data.round, event.data.model === 'global' ? { globalModel: event.data.metrics } : { localModel: event.data.metrics }), updatedAt: now };
    case 'submitted': {
      const { round, bytes, metrics } = event.data;
      return {
        ...session,
        rounds: updateRound(session.rounds, round, {
          bytesSent: bytes,
          submittedAt: now,
          steps: metrics.steps,
          trainSeconds: metrics.trainSeconds,
          trainLoss: metrics.trainLoss,
          ...(metrics.globalModel ? { globalModel: metrics.globalModel } : {}),
          ...(metrics.localModel ? { localModel: metrics.localModel } : {}),
        }),
        updatedAt: now,
      };
    }
    case 'model':
      // The model published after round r is what round r + 1 trains from; the final model starts no round.
      if (event.data.final) return session;
      return { ...session, rounds: updateRound(session.rounds, event.data.round + 1, { bytesReceived: event.data.bytes }), updatedAt: now };
    default:
      return session;
  }
}

