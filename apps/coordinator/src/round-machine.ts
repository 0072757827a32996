/**
 * A federation's round state machine, pure: `transition(state, event, now)` gives the next state and the effects the
 * engine carries out (persist, then announce), or refuses the event. It reads no store, no clock and no presence:
 * what it needs to decide (ready sites, submissions) comes in the event.
 *
 * ```
 *            quorum of ready sites                all participants submitted, or
 *   waiting ───────────────────────▶ training r ── deadline with >= quorum submissions ──▶ aggregating r
 *      ▲                              │    ▲                                                 │
 *      │                              └────┘ deadline with < quorum submissions:             │ global model r
 *      │                               extended (and opened to every ready site)             ▼ persisted
 *      └──────────────────── r < rounds ─────────────────────────────────────────────── published r
 *                                                                                            │ r = rounds
 *   waiting, training ── pause ──▶ paused ── resume ──▶ the state it came from                ▼
 *   any non-terminal state ── stop ───▶ stopped (open round abandoned)                     finished
 *   aggregating ── aggregation failed ──▶ paused (from training: the round reopens on resume)
 * ```
 *
 * The {@link TRANSITIONS} table has one row per status and one handler per event that status accepts; an event a
 * status has no handler for is refused (`INVALID_TRANSITION`). A new phase (e.g. the rounds of secure aggregation)
 * is a new member of {@link RoundPhase} and a new row.
 */
import type { FederationStatus } from '@facmic/protocol';
import { refuse, type Refusal } from './outcome.ts';

/** The settings the machine decides with (milliseconds, not the admin's seconds). */
export interface RoundRules {
  readonly rounds: number;
  readonly quorum: number;
  readonly roundDeadlineMs: number;
  /** Shortest round (0: none): a round whose updates are all in closes no earlier than this after its start. */
  readonly minRoundMs: number;
}

/** The round under way: its participants (fixed at its start, widened by an extension) and when it started. */
export interface OpenRound {
  readonly startedAt: number;
  readonly participants: readonly string[];
  readonly extensions: number;
}

/** Where a federation stands. `round`: the open or aggregating round, else the last published one (0 before any). */
export type RoundPhase =
  | { readonly status: 'waiting'; readonly round: number }
  | { readonly status: 'training'; readonly round: number; readonly deadline: number; readonly open: OpenRound }
  | { readonly status: 'paused'; readonly round: number; readonly from: 'waiting' }
  | { readonly status: 'paused'; readonly round: number; readonly from: 'training'; readonly remainingMs: number; readonly open: OpenRound }
  | { readonly status: 'aggregating'; readonly round: number; readonly open: OpenRound }
  | { readonly status: 'finished'; readonly round: number }
  | { readonly status: 'stopped'; readonly round: number };

export interface RoundState {
  readonly phase: RoundPhase;
  readonly rules: RoundRules;
}

/** What happens to a federation. Facts the machine cannot know (who is ready, who submitted) travel in the event. */
export type RoundEvent =
  /** The set of ready sites changed (a site became ready, dropped, a round was published, a pause ended). */
  | { readonly type: 'sites-ready'; readonly ready: readonly string[] }
  /** Who has submitted to the open round, and which participants still count (not revoked). */
  | { readonly type: 'submissions-in'; readonly submitted: readonly string[]; readonly active: readonly string[] }
  /** The deadline timer of `round` fired. */
  | { readonly type: 'deadline'; readonly round: number; readonly submissions: number; readonly ready: readonly string[] }
  /** The global model of the aggregating round is computed; the engine persists it with this transition. */
  | { readonly type: 'aggregated'; readonly contributors: readonly string[]; readonly totalSamples: number; readonly checksum: string }
  | { readonly type: 'aggregation-failed'; readonly error: string }
  | { readonly type: 'pause' }
  | { readonly type: 'resume' }
  | { readonly type: 'stop' }
  /** An admin changes the rules (settings the admin did not change keep their value). */
  | { readonly type: 'change-rules'; readonly rules: RoundRules }
  /** The coordinator started again on this state (after a stop or a crash). */
  | { readonly type: 'restart'; readonly graceMs: number };

export type RoundEventType = RoundEvent['type'];

/** What the engine does after a transition: round records to write, audit entries, work to start. */
export type RoundEffect =
  | { readonly type: 'round-opened'; readonly round: number; readonly startedAt: number; readonly deadline: number; readonly participants: readonly string[] }
  | { readonly type: 'round-extended'; readonly round: number; readonly deadline: number; readonly participants: readonly string[]; readonly extensions: number }
  /** The open round's deadline changed (null: frozen by a pause). */
  | { readonly type: 'round-deadline'; readonly round: number; readonly deadline: number | null }
  | { readonly type: 'round-closed'; readonly round: number; readonly closedAt: number }
  /** The aggregating round goes back to training (its aggregation failed; the federation is paused). */
  | { readonly type: 'round-reopened'; readonly round: number }
  | { readonly type: 'round-published'; readonly round: number; readonly publishedAt: number }
  | { readonly type: 'round-abandoned'; readonly round: number; readonly closedAt: number }
  | { readonly type: 'audit'; readonly action: string; readonly details: Readonly<Record<string, unknown>> }
  /** Every update of a paced round is in: check again at `at`, its shortest length. */
  | { readonly type: 'close-at'; readonly at: number }
  /** Compute the round's global model (then `aggregated` or `aggregation-failed`). */
  | { readonly type: 'aggregate'; readonly round: number }
  /** Ask again with fresh facts: enough ready sites for a round? every update in? */
  | { readonly type: 'check-quorum' }
  | { readonly type: 'check-close' };

export type Transition = { readonly ok: true; readonly state: RoundState; readonly effects: readonly RoundEffect[] } | Refusal<'INVALID_TRANSITION' | 'BAD_REQUEST'>;

export type PhaseStatus = RoundPhase['status'];
type PhaseOf<S extends PhaseStatus> = Extract<RoundPhase, { status: S }>;
type EventOf<T extends RoundEventType> = Extract<RoundEvent, { type: T }>;
type Handler<S extends PhaseStatus, T extends RoundEventType> = (phase: PhaseOf<S>, event: EventOf<T>, now: number, rules: RoundRules) => Transition;
type Row<S extends PhaseStatus> = { readonly [T in RoundEventType]?: Handler<S, T> };

export const PHASE_STATUSES: readonly PhaseStatus[] = ['waiting', 'training', 'paused', 'aggregating', 'finished', 'stopped'];
export const ROUND_EVENT_TYPES: readonly RoundEventType[] = ['sites-ready', 'submissions-in', 'deadline', 'aggregated', 'aggregation-failed', 'pause', 'resume', 'stop', 'change-rules', 'restart'];

/** The status stored for a phase, and the status `paused` came from. */
export function storedStatus(phase: RoundPhase): { status: FederationStatus; pausedFrom: FederationStatus | null } {
  return phase.status === 'paused' ? { status: 'paused', pausedFrom: phase.from } : { status: phase.status, pausedFrom: null };
}

function go(rules: RoundRules, phase: RoundPhase, effects: readonly RoundEffect[] = []): Transition {
  return { ok: true, state: { phase, rules }, effects };
}

function stay(phase: RoundPhase, rules: RoundRules, effects: readonly RoundEffect[] = []): Transition {
  return go(rules, phase, effects);
}

const audit = (action: string, details: Record<string, unknown>): RoundEffect => ({ type: 'audit', action, details });

/** Close the training round now (to aggregating). */
function close(phase: PhaseOf<'training'>, now: number, rules: RoundRules): Transition {
  return go(rules, { status: 'aggregating', round: phase.round, open: phase.open }, [
    { type: 'round-closed', round: phase.round, closedAt: now },
    { type: 'aggregate', round: phase.round },
  ]);
}

function stop(phase: RoundPhase & { open?: OpenRound }, now: number, rules: RoundRules): Transition {
  const abandoned = 'open' in phase ? phase.round : null;
  return go(rules, { status: 'stopped', round: phase.round }, [
    ...(abandoned === null ? [] : [{ type: 'round-abandoned', round: abandoned, closedAt: now } as const]),
    audit('federation.stopped', { round: phase.round, abandonedRound: abandoned }),
  ]);
}

/** Rules an admin may set at this point; null when they are acceptable. */
function checkRules(phase: RoundPhase, rules: RoundRules): Refusal<'INVALID_TRANSITION' | 'BAD_REQUEST'> | null {
  if (rules.minRoundMs >= rules.roundDeadlineMs) {
    return refuse('BAD_REQUEST', `the shortest round (${rules.minRoundMs / 1000} s) must be shorter than the round deadline (${rules.roundDeadlineMs / 1000} s)`);
  }
  if (rules.rounds < phase.round) return refuse('INVALID_TRANSITION', `round ${phase.round} has already started; rounds cannot be fewer`);
  if (rules.rounds === phase.round && phase.status !== 'waiting') {
    return refuse('INVALID_TRANSITION', `round ${phase.round} is still open; set rounds to at least ${phase.round}`);
  }
  return null;
}

function changeRules(follow: readonly RoundEffect[]): (phase: RoundPhase, event: EventOf<'change-rules'>) => Transition {
  return (phase, event) => {
    const refusal = checkRules(phase, event.rules);
    if (refusal) return refusal;
    if (phase.status === 'waiting' && event.rules.rounds === phase.round) return go(event.rules, { status: 'finished', round: phase.round });
    return go(event.rules, phase, follow);
  };
}

export const TRANSITIONS: { readonly [S in PhaseStatus]: Row<S> } = {
  waiting: {
    'sites-ready': (phase, event, now, rules) => {
      if (phase.round >= rules.rounds || event.ready.length < rules.quorum) return stay(phase, rules);
      const round = phase.round + 1;
      const deadline = now + rules.roundDeadlineMs;
      const participants = [...event.ready].sort();
      return go(rules, { status: 'training', round, deadline, open: { startedAt: now, participants, extensions: 0 } }, [
        { type: 'round-opened', round, startedAt: now, deadline, participants },
        audit('round.started', { round, participants, deadline }),
      ]);
    },
    pause: (phase, _event, _now, rules) => go(rules, { status: 'paused', round: phase.round, from: 'waiting' }, [audit('federation.paused', { round: phase.round, from: 'waiting' })]),
    stop: (phase, _event, now, rules) => stop(phase, now, rules),
    'change-rules': changeRules([{ type: 'check-quorum' }]),
    restart: (phase, _event, _now, rules) => stay(phase, rules, [{ type: 'check-quorum' }]),
  },
  training: {
    'submissions-in': (phase, event, now, rules) => {
      const submitted = new Set(event.submitted);
      if (submitted.size < rules.quorum || submitted.size === 0) return stay(phase, rules);
      if (!event.active.every((id) => submitted.has(id))) return stay(phase, rules);
      const earliest = phase.open.startedAt + rules.minRoundMs;
      if (now < earliest) return stay(phase, rules, [{ type: 'close-at', at: earliest }]);
      return close(phase, now, rules);
    },
    deadline: (phase, event, now, rules) => {
      if (event.round !== phase.round) return refuse('INVALID_TRANSITION', `the deadline of round ${event.round} fired during round ${phase.round}`);
      if (now < phase.deadline) return stay(phase, rules);
      if (event.submissions >= rules.quorum && event.submissions > 0) return close(phase, now, rules);
      // Too few submissions: extend the round and open it to every ready site (newcomers included).
      const deadline = now + rules.roundDeadlineMs;
      const participants = [...new Set([...phase.open.participants, ...event.ready])].sort();
      const extensions = phase.open.extensions + 1;
      return go(rules, { ...phase, deadline, open: { ...phase.open, participants, extensions } }, [
        { type: 'round-extended', round: phase.round, deadline, participants, extensions },
        audit('round.extended', { round: phase.round, submissions: event.submissions, quorum: rules.quorum, deadline, participants }),
      ]);
    },
    pause: (phase, _event, now, rules) =>
      go(rules, { status: 'paused', round: phase.round, from: 'training', remainingMs: Math.max(0, phase.deadline - now), open: phase.open }, [
        { type: 'round-deadline', round: phase.round, deadline: null },
        audit('federation.paused', { round: phase.round, from: 'training' }),
      ]),
    stop: (phase, _event, now, rules) => stop(phase, now, rules),
    'change-rules': changeRules([{ type: 'check-close' }]),
    restart: (phase, event, now, rules) => {
      if (phase.deadline >= now + event.graceMs) return stay(phase, rules, [{ type: 'check-close' }]);
      const deadline = now + event.graceMs;
      return go(rules, { ...phase, deadline }, [{ type: 'round-deadline', round: phase.round, deadline }, { type: 'check-close' }]);
    },
  },
  paused: {
    resume: (phase, _event, now, rules) => {
      if (phase.from === 'waiting') {
        return go(rules, { status: 'waiting', round: phase.round }, [audit('federation.resumed', { round: phase.round, to: 'waiting' }), { type: 'check-quorum' }]);
      }
      const deadline = now + phase.remainingMs;
      return go(rules, { status: 'training', round: phase.round, deadline, open: phase.open }, [
        { type: 'round-deadline', round: phase.round, deadline },
        audit('federation.resumed', { round: phase.round, to: 'training' }),
        { type: 'check-close' },
      ]);
    },
    stop: (phase, _event, now, rules) => stop(phase, now, rules),
    'change-rules': changeRules([]),
    restart: (phase, _event, _now, rules) => stay(phase, rules),
  },
  aggregating: {
    aggregated: (phase, event, now, rules) => {
      const finished = phase.round >= rules.rounds;
      const published = { round: phase.round, contributors: event.contributors, totalSamples: event.totalSamples, checksum: event.checksum };
      return go(rules, finished ? { status: 'finished', round: phase.round } : { status: 'waiting', round: phase.round }, [
        { type: 'round-published', round: phase.round, publishedAt: now },
        audit('round.published', published),
        ...(finished ? [audit('federation.finished', { rounds: phase.round })] : [{ type: 'check-quorum' } as const]),
      ]);
    },
    'aggregation-failed': (phase, event, _now, rules) =>
      go(rules, { status: 'paused', round: phase.round, from: 'training', remainingMs: rules.roundDeadlineMs, open: phase.open }, [
        { type: 'round-reopened', round: phase.round },
        audit('round.aggregation-failed', { round: phase.round, error: event.error }),
      ]),
    stop: (phase, _event, now, rules) => stop(phase, now, rules),
    'change-rules': changeRules([]),
    restart: (phase, _event, _now, rules) => stay(phase, rules, [{ type: 'aggregate', round: phase.round }]),
  },
  finished: {
    restart: (phase, _event, _now, rules) => stay(phase, rules),
  },
  stopped: {
    restart: (phase, _event, _now, rules) => stay(phase, rules),
  },
};

/** Why an event is refused in a status (the admin-facing wording for admin actions). */
function refusalFor(phase: RoundPhase, event: RoundEvent): Refusal<'INVALID_TRANSITION'> {
  const status = phase.status;
  switch (event.type) {
    case 'pause':
      return refuse('INVALID_TRANSITION', `a ${status} federation cannot be paused`);
    case 'resume':
      return refuse('INVALID_TRANSITION', `a ${status} federation cannot be resumed`);
    case 'stop':
      return refuse('INVALID_TRANSITION', `the federation is already ${status}`);
    case 'change-rules':
      return refuse('INVALID_TRANSITION', `the federation is ${status}; its settings can no longer change`);
    default:
      return refuse('INVALID_TRANSITION', `${event.type} does not apply to a ${status} federation`);
  }
}

/** The next state and effects, or the refusal of `event` in this state. Pure. */
export function transition(state: RoundState, event: RoundEvent, now: number): Transition {
  const row = TRANSITIONS[state.phase.status] as Row<PhaseStatus>;
  const handler = row[event.type] as Handler<PhaseStatus, RoundEventType> | undefined;
  if (!handler) return refusalFor(state.phase, event);
  return handler(state.phase, event, now, state.rules);
}

/** Whether `status` accepts events of `type` at all (the table's shape, for tests and docs). */
export function accepts(status: PhaseStatus, type: RoundEventType): boolean {
  return (TRANSITIONS[status] as Row<PhaseStatus>)[type] !== undefined;
}
