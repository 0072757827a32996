/** How worker messages change what the hospital page saves in this browser (per-round results, names). */
import { updateRound, type SiteSession } from '../../lib/site-session.ts';
import type { WorkerToPage } from '../../worker/worker-messages.ts';

/** Applies one worker message to the saved session (round results, names). */
export function sessionAfter(session: SiteSession, message: WorkerToPage, now: number): SiteSession {
  switch (message.type) {
    case 'welcome':
      return { ...session, siteName: message.welcome.site.name, federationName: message.welcome.federation.name, updatedAt: now };
    case 'evaluated':
      return { ...session, rounds: updateRound(session.rounds, message.round, message.model === 'global' ? { globalModel: message.metrics } : { localModel: message.metrics }), updatedAt: now };
    case 'submitted':
      return {
        ...session,
        rounds: updateRound(session.rounds, message.round, {
          bytesSent: message.bytes,
          submittedAt: now,
          steps: message.metrics.steps,
          trainSeconds: message.metrics.trainSeconds,
          trainLoss: message.metrics.trainLoss,
          ...(message.metrics.globalModel ? { globalModel: message.metrics.globalModel } : {}),
          ...(message.metrics.localModel ? { localModel: message.metrics.localModel } : {}),
        }),
        updatedAt: now,
      };
    case 'model':
      // The model published after round r is what round r + 1 trains from; the final model starts no round.
      if (message.final) return session;
      return { ...session, rounds: updateRound(session.rounds, message.round + 1, { bytesReceived: message.bytes }), updatedAt: now };
    default:
      return session;
  }
}

