/**
 * The phases of a secure aggregation round (Bonawitz et al. 2017) as the coordinator's round machine runs them, pure:
 * `decideSecure(phase, event)` says what the driver (`secure-rounds.ts`) does next. The phases are those of the
 * coordinator's protocol state (`@facmic/privacy`'s server), persisted in `secagg_sessions` before anything is sent:
 *
 * ```
 *   training r opens ─▶ advertising ── every participant advertised, or the round deadline with >= needed ──▶ sharing
 *        (after its local training, a site advertises its session keys)                                      │ all of U1 shared, or the phase timer
 *                                                                                                            ▼
 *   published r ◀── completed ◀── all of U3 answered, or the phase timer ── unmasking ◀── collecting-inputs
 *                                                                                 all of U2 sent an input, or the phase timer
 *   a close with fewer than t sites: failed ─▶ a new session (attempt + 1) with the round's ready participants
 *   the round deadline while advertising with fewer than needed: abandoned, the round is extended (a new session)
 * ```
 *
 * A restart resends the stored request of the phase (never a new one, so no site is asked for the other kind of
 * share), recomputes a completed session's sum from the stored answers, and replaces a failed session.
 */
import type { SecureAggregationServerPhase } from '@facmic/privacy';

export type SecureEvent =
  /** A site's message was accepted: `answered` of the `expected` sites of the phase have answered. */
  | { readonly type: 'answer'; readonly answered: number; readonly expected: number }
  /** The phase timer fired (phases after the advertisement, and the advertisement of a later attempt). */
  | { readonly type: 'phase-timeout' }
  /** The round's deadline fired; `needed` = max(2, t, quorum) advertisements let the session go on. */
  | { readonly type: 'round-deadline'; readonly answered: number; readonly needed: number }
  /** The coordinator started again on this stored session. */
  | { readonly type: 'restart' };

export type SecureAction =
  /** Nothing to do yet. */
  | 'wait'
  /** End the phase (`close*` / `finishUnmasking`), persist, send the next phase's requests. */
  | 'close-phase'
  /** Send the stored request of the phase again to the sites that have not answered, and re-arm the phase timer. */
  | 'resend'
  /** Give the session up; the round machine extends the round (deadline with too few sites). */
  | 'abandon'
  /** Start a new session for the same round (attempt + 1). */
  | 'new-session'
  /** The sum is (re)computed from the stored answers and the round published. */
  | 'publish';

export type SecureEventType = SecureEvent['type'];
export const SECURE_PHASES: readonly SecureAggregationServerPhase[] = ['advertising', 'sharing', 'collecting-inputs', 'unmasking', 'completed', 'failed'];
export const SECURE_EVENT_TYPES: readonly SecureEventType[] = ['answer', 'phase-timeout', 'round-deadline', 'restart'];

type Row = { readonly [T in SecureEventType]: (event: Extract<SecureEvent, { type: T }>) => SecureAction };

const allIn = (event: { answered: number; expected: number }): SecureAction => (event.answered >= event.expected ? 'close-phase' : 'wait');

/** One row per phase, one handler per event. */
export const SECURE_TRANSITIONS: { readonly [P in SecureAggregationServerPhase]: Row } = {
  advertising: {
    answer: allIn,
    'phase-timeout': () => 'close-phase',
    'round-deadline': (event) => (event.answered >= event.needed ? 'close-phase' : 'abandon'),
    restart: () => 'resend',
  },
  sharing: { answer: allIn, 'phase-timeout': () => 'close-phase', 'round-deadline': () => 'wait', restart: () => 'resend' },
  'collecting-inputs': { answer: allIn, 'phase-timeout': () => 'close-phase', 'round-deadline': () => 'wait', restart: () => 'resend' },
  unmasking: { answer: allIn, 'phase-timeout': () => 'close-phase', 'round-deadline': () => 'wait', restart: () => 'resend' },
  completed: { answer: () => 'wait', 'phase-timeout': () => 'wait', 'round-deadline': () => 'wait', restart: () => 'publish' },
  failed: { answer: () => 'wait', 'phase-timeout': () => 'new-session', 'round-deadline': () => 'wait', restart: () => 'new-session' },
};

export function decideSecure(phase: SecureAggregationServerPhase, event: SecureEvent): SecureAction {
  const row = SECURE_TRANSITIONS[phase];
  return (row[event.type] as (e: SecureEvent) => SecureAction)(event);
}
