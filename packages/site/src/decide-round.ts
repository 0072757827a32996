/**
 * What a site does with a `round:update`, pure: from the coordinator's snapshot and what the site itself has done,
 * it finishes, takes part in a round (trains, or resubmits an update it trained but never saw acknowledged), or waits
 * saying why. The client acts on the newest snapshot only, so a reconnection, a restarted coordinator or a missed
 * message all end in the same place.
 */
import type { RoundUpdate } from '@facmic/protocol';

/** What the site knows of its own progress. */
export interface LocalProgress {
  /** `site:ready` was acknowledged on the current connection (it counts towards quorum). */
  readonly ready: boolean;
  /** Rounds this site is done with: its update was accepted, refused, or its training failed. */
  readonly doneRounds: ReadonlySet<number>;
  /** Round of an update trained but not acknowledged yet (it is resubmitted, not trained again), or null. */
  readonly pendingRound: number | null;
  /** Round being trained right now, or null. */
  readonly workingRound: number | null;
}

export type NextStep =
  /** The federation ended: keep its final model (`finished`), then stop. */
  | { readonly kind: 'finish'; readonly reason: 'finished' | 'stopped' }
  /** Not ready on this connection yet: nothing to do until `site:ready` is acknowledged. */
  | { readonly kind: 'not-ready' }
  | { readonly kind: 'take-part'; readonly round: number; readonly resubmit: boolean }
  | { readonly kind: 'wait'; readonly phase: 'paused' | 'submitted' | 'waiting'; readonly message: string | null };

export interface RoundDecision {
  /** The round being trained is over for this site (closed, not a participant, federation ended): abort it. */
  readonly abortWork: boolean;
  /** The coordinator has this site's update for this round: the round is done, a pending update is dropped. */
  readonly acknowledged: number | null;
  readonly next: NextStep;
}

/** A round is open to this site: training (or paused while training) and it is a participant. */
export function takesPart(update: RoundUpdate, round: number): boolean {
  const open = update.status === 'training' || (update.status === 'paused' && update.pausedFrom === 'training');
  return update.round === round && open && update.participating;
}

export function decideRound(update: RoundUpdate, local: LocalProgress): RoundDecision {
  const abortWork = local.workingRound !== null && !takesPart(update, local.workingRound);
  const acknowledged = local.ready && update.submitted ? update.round : null;
  const decision = (next: NextStep): RoundDecision => ({ abortWork, acknowledged, next });
  if (update.status === 'finished') return { abortWork, acknowledged: null, next: { kind: 'finish', reason: 'finished' } };
  if (update.status === 'stopped') return { abortWork, acknowledged: null, next: { kind: 'finish', reason: 'stopped' } };
  if (!local.ready) return { abortWork, acknowledged: null, next: { kind: 'not-ready' } };
  const done = update.submitted || local.doneRounds.has(update.round);
  if (takesPart(update, update.round) && !done) return decision({ kind: 'take-part', round: update.round, resubmit: local.pendingRound === update.round });
  if (update.status === 'paused') return decision({ kind: 'wait', phase: 'paused', message: null });
  if (update.submitted && update.status === 'training') return decision({ kind: 'wait', phase: 'submitted', message: null });
  const joinedLate = update.status === 'training' && !update.participating;
  return decision({ kind: 'wait', phase: 'waiting', message: joinedLate ? 'joined mid-round: training from the next round' : null });
}
