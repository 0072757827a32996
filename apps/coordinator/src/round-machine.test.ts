/** The round machine as a table: every state x event pair, allowed ones with their result, the others refused. */
import { describe, expect, it } from 'vitest';
import {
  accepts,
  PHASE_STATUSES,
  ROUND_EVENT_TYPES,
  transition,
  type OpenRound,
  type RoundEvent,
  type RoundEventType,
  type RoundPhase,
  type RoundRules,
  type RoundState,
} from './round-machine.ts';

const NOW = 1_000_000;
const RULES: RoundRules = { rounds: 3, quorum: 2, roundDeadlineMs: 60_000, minRoundMs: 0 };
const OPEN: OpenRound = { startedAt: NOW - 10_000, participants: ['a', 'b'], extensions: 0 };

const PHASES = {
  waiting: { status: 'waiting', round: 1 },
  training: { status: 'training', round: 2, deadline: NOW + 30_000, open: OPEN },
  'paused (from waiting)': { status: 'paused', round: 1, from: 'waiting' },
  'paused (from training)': { status: 'paused', round: 2, from: 'training', remainingMs: 30_000, open: OPEN },
  aggregating: { status: 'aggregating', round: 2, open: OPEN },
  finished: { status: 'finished', round: 3 },
  stopped: { status: 'stopped', round: 2 },
} as const satisfies Record<string, RoundPhase>;
type PhaseName = keyof typeof PHASES;

/** One event of each type, with facts that make it do something where it may. */
const EVENTS: { readonly [T in RoundEventType]: Extract<RoundEvent, { type: T }> } = {
  'sites-ready': { type: 'sites-ready', ready: ['a', 'b', 'c'] },
  'submissions-in': { type: 'submissions-in', submitted: ['a', 'b'], active: ['a', 'b'] },
  deadline: { type: 'deadline', round: 2, submissions: 2, ready: ['a', 'b'] },
  aggregated: { type: 'aggregated', contributors: ['a', 'b'], totalSamples: 20, checksum: '0badf00d' },
  'aggregation-failed': { type: 'aggregation-failed', error: 'weights pruned' },
  pause: { type: 'pause' },
  resume: { type: 'resume' },
  stop: { type: 'stop' },
  'change-rules': { type: 'change-rules', rules: { ...RULES, rounds: 4 } },
  restart: { type: 'restart', graceMs: 5_000 },
};

/** Expected outcome: the status (and `paused` origin) reached and the effects, or a refusal. */
type Expected = { to: string; effects: string[] } | 'refused';
const R = 'refused' as const;

/** A terminal status refuses everything; a restart leaves it as it is. */
function terminal(status: string): Record<RoundEventType, Expected> {
  return { ...(Object.fromEntries(ROUND_EVENT_TYPES.map((type) => [type, R])) as Record<RoundEventType, Expected>), restart: { to: status, effects: [] } };
}

const TABLE: Record<PhaseName, Record<RoundEventType, Expected>> = {
  waiting: {
    'sites-ready': { to: 'training', effects: ['round-opened', 'audit:round.started'] },
    'submissions-in': R,
    deadline: R,
    aggregated: R,
    'aggregation-failed': R,
    pause: { to: 'paused (from waiting)', effects: ['audit:federation.paused'] },
    resume: R,
    stop: { to: 'stopped', effects: ['audit:federation.stopped'] },
    'change-rules': { to: 'waiting', effects: ['check-quorum'] },
    restart: { to: 'waiting', effects: ['check-quorum'] },
  },
  training: {
    'sites-ready': R,
    'submissions-in': { to: 'aggregating', effects: ['round-closed', 'aggregate'] },
    deadline: { to: 'training', effects: [] }, // fired early: the engine re-arms it
    aggregated: R,
    'aggregation-failed': R,
    pause: { to: 'paused (from training)', effects: ['round-deadline', 'audit:federation.paused'] },
    resume: R,
    stop: { to: 'stopped', effects: ['round-abandoned', 'audit:federation.stopped'] },
    'change-rules': { to: 'training', effects: ['check-close'] },
    restart: { to: 'training', effects: ['check-close'] },
  },
  'paused (from waiting)': {
    'sites-ready': R,
    'submissions-in': R,
    deadline: R,
    aggregated: R,
    'aggregation-failed': R,
    pause: R,
    resume: { to: 'waiting', effects: ['audit:federation.resumed', 'check-quorum'] },
    stop: { to: 'stopped', effects: ['audit:federation.stopped'] },
    'change-rules': { to: 'paused (from waiting)', effects: [] },
    restart: { to: 'paused (from waiting)', effects: [] },
  },
  'paused (from training)': {
    'sites-ready': R,
    'submissions-in': R,
    deadline: R,
    aggregated: R,
    'aggregation-failed': R,
    pause: R,
    resume: { to: 'training', effects: ['round-deadline', 'audit:federation.resumed', 'check-close'] },
    stop: { to: 'stopped', effects: ['round-abandoned', 'audit:federation.stopped'] },
    'change-rules': { to: 'paused (from training)', effects: [] },
    restart: { to: 'paused (from training)', effects: [] },
  },
  aggregating: {
    'sites-ready': R,
    'submissions-in': R,
    deadline: R,
    aggregated: { to: 'waiting', effects: ['round-published', 'audit:round.published', 'check-quorum'] },
    'aggregation-failed': { to: 'paused (from training)', effects: ['round-reopened', 'audit:round.aggregation-failed'] },
    pause: R,
    resume: R,
    stop: { to: 'stopped', effects: ['round-abandoned', 'audit:federation.stopped'] },
    'change-rules': { to: 'aggregating', effects: [] },
    restart: { to: 'aggregating', effects: ['aggregate'] },
  },
  finished: terminal('finished'),
  stopped: terminal('stopped'),
};

function nameOf(phase: RoundPhase): string {
  return phase.status === 'paused' ? `paused (from ${phase.from})` : phase.status;
}

function effectNames(effects: readonly { type: string; action?: string }[]): string[] {
  return effects.map((e) => (e.type === 'audit' ? `audit:${e.action ?? ''}` : e.type));
}

const state = (phase: RoundPhase, rules: RoundRules = RULES): RoundState => ({ phase, rules });

describe('round machine: the table', () => {
  it('lists every status and event type', () => {
    expect(new Set(Object.values(PHASES).map((p) => p.status))).toEqual(new Set(PHASE_STATUSES));
    expect(Object.keys(EVENTS).sort()).toEqual([...ROUND_EVENT_TYPES].sort());
  });

  const pairs = (Object.keys(PHASES) as PhaseName[]).flatMap((phase) => ROUND_EVENT_TYPES.map((event) => [phase, event] as const));
  it.each(pairs)('%s x %s', (phaseName, eventType) => {
    const phase: RoundPhase = PHASES[phaseName];
    const expected = TABLE[phaseName][eventType];
    const result = transition(state(phase), EVENTS[eventType], NOW);
    expect(accepts(phase.status, eventType) || expected === R).toBe(true);
    if (expected === R) {
      expect(result.ok).toBe(false);
      if (!result.ok) expect(result.code).toBe('INVALID_TRANSITION');
      return;
    }
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(nameOf(result.state.phase)).toBe(expected.to);
    expect(effectNames(result.effects)).toEqual(expected.effects);
  });
});

describe('round machine: conditions inside the allowed pairs', () => {
  const waiting = PHASES.waiting;
  const training = PHASES.training;

  it('starts the next round only with a quorum of ready sites and rounds left', () => {
    expect(transition(state(waiting), { type: 'sites-ready', ready: ['a'] }, NOW)).toMatchObject({ ok: true, state: { phase: waiting }, effects: [] });
    const done = transition(state({ status: 'waiting', round: 3 }), EVENTS['sites-ready'], NOW);
    expect(done).toMatchObject({ ok: true, state: { phase: { status: 'waiting', round: 3 } }, effects: [] });
    const started = transition(state(waiting), { type: 'sites-ready', ready: ['c', 'a'] }, NOW);
    expect(started).toMatchObject({
      ok: true,
      state: { phase: { status: 'training', round: 2, deadline: NOW + 60_000, open: { startedAt: NOW, participants: ['a', 'c'], extensions: 0 } } },
      effects: [{ type: 'round-opened', round: 2, startedAt: NOW, deadline: NOW + 60_000, participants: ['a', 'c'] }, { type: 'audit', action: 'round.started' }],
    });
  });

  it('closes when every active participant submitted and quorum holds, not before a paced round has run its shortest length', () => {
    const some = transition(state(training), { type: 'submissions-in', submitted: ['a'], active: ['a', 'b'] }, NOW);
    expect(some).toMatchObject({ ok: true, state: { phase: training }, effects: [] });
    const revoked = transition(state(training), { type: 'submissions-in', submitted: ['a'], active: ['a'] }, NOW);
    expect(revoked).toMatchObject({ ok: true, state: { phase: training }, effects: [] }); // quorum 2 not met
    const quorumOne = transition(state(training, { ...RULES, quorum: 1 }), { type: 'submissions-in', submitted: ['a'], active: ['a'] }, NOW);
    expect(quorumOne).toMatchObject({ ok: true, state: { phase: { status: 'aggregating', round: 2 } }, effects: [{ type: 'round-closed', closedAt: NOW }, { type: 'aggregate', round: 2 }] });
    const paced = { ...RULES, minRoundMs: 20_000 };
    const early = transition(state(training, paced), EVENTS['submissions-in'], NOW);
    expect(early).toMatchObject({ ok: true, state: { phase: training }, effects: [{ type: 'close-at', at: OPEN.startedAt + 20_000 }] });
    const onTime = transition(state(training, paced), EVENTS['submissions-in'], OPEN.startedAt + 20_000);
    expect(onTime).toMatchObject({ ok: true, state: { phase: { status: 'aggregating' } } });
  });

  it('at the deadline: aggregates with quorum, else extends the round and opens it to the ready sites', () => {
    const at = training.deadline;
    expect(transition(state(training), { type: 'deadline', round: 2, submissions: 2, ready: [] }, at)).toMatchObject({ ok: true, state: { phase: { status: 'aggregating' } } });
    const extended = transition(state(training), { type: 'deadline', round: 2, submissions: 1, ready: ['c', 'a'] }, at);
    expect(extended).toMatchObject({
      ok: true,
      state: { phase: { status: 'training', round: 2, deadline: at + 60_000, open: { participants: ['a', 'b', 'c'], extensions: 1 } } },
      effects: [
        { type: 'round-extended', round: 2, deadline: at + 60_000, participants: ['a', 'b', 'c'], extensions: 1 },
        { type: 'audit', action: 'round.extended', details: { round: 2, submissions: 1, quorum: 2, deadline: at + 60_000, participants: ['a', 'b', 'c'] } },
      ],
    });
    const none = transition(state(training, { ...RULES, quorum: 0 }), { type: 'deadline', round: 2, submissions: 0, ready: [] }, at);
    expect(none).toMatchObject({ ok: true, state: { phase: { status: 'training' } }, effects: [{ type: 'round-extended' }, { type: 'audit' }] });
    expect(transition(state(training), { type: 'deadline', round: 1, submissions: 2, ready: [] }, at)).toMatchObject({ ok: false, code: 'INVALID_TRANSITION' });
  });

  it('pause freezes the time left, resume restores it; aggregation failure pauses with a full period', () => {
    const paused = transition(state(training), EVENTS.pause, NOW);
    expect(paused).toMatchObject({ ok: true, state: { phase: { status: 'paused', from: 'training', remainingMs: 30_000 } }, effects: [{ type: 'round-deadline', deadline: null }, { type: 'audit' }] });
    const resumed = transition(state(PHASES['paused (from training)']), EVENTS.resume, NOW + 999_999);
    expect(resumed).toMatchObject({ ok: true, state: { phase: { status: 'training', deadline: NOW + 999_999 + 30_000 } }, effects: [{ type: 'round-deadline', deadline: NOW + 999_999 + 30_000 }, { type: 'audit' }, { type: 'check-close' }] });
    const failed = transition(state(PHASES.aggregating), EVENTS['aggregation-failed'], NOW);
    expect(failed).toMatchObject({ ok: true, state: { phase: { status: 'paused', from: 'training', remainingMs: 60_000, open: OPEN } } });
  });

  it('publishes the last round as finished', () => {
    const last = transition(state({ status: 'aggregating', round: 3, open: OPEN }), EVENTS.aggregated, NOW);
    expect(last).toMatchObject({ ok: true, state: { phase: { status: 'finished', round: 3 } } });
    if (last.ok) expect(effectNames(last.effects)).toEqual(['round-published', 'audit:round.published', 'audit:federation.finished']);
    const details = transition(state(PHASES.aggregating), EVENTS.aggregated, NOW);
    expect(details).toMatchObject({ ok: true, effects: [{ type: 'round-published', round: 2, publishedAt: NOW }, { type: 'audit', details: { round: 2, contributors: ['a', 'b'], totalSamples: 20, checksum: '0badf00d' } }, { type: 'check-quorum' }] });
  });

  it('checks new rules: shorter pace than deadline, no fewer rounds than started, the open round kept', () => {
    const change = (phase: RoundPhase, rules: Partial<RoundRules>) => transition(state(phase), { type: 'change-rules', rules: { ...RULES, ...rules } }, NOW);
    expect(change(training, { minRoundMs: 60_000 })).toMatchObject({ ok: false, code: 'BAD_REQUEST', message: expect.stringMatching(/shorter than the round deadline/) as unknown });
    expect(change(training, { rounds: 1 })).toMatchObject({ ok: false, code: 'INVALID_TRANSITION', message: expect.stringMatching(/already started/) as unknown });
    expect(change(training, { rounds: 2 })).toMatchObject({ ok: false, code: 'INVALID_TRANSITION', message: expect.stringMatching(/still open/) as unknown });
    expect(change(waiting, { rounds: 1 })).toMatchObject({ ok: true, state: { phase: { status: 'finished', round: 1 }, rules: { rounds: 1 } }, effects: [] });
    expect(change(PHASES.finished, { rounds: 5 })).toMatchObject({ ok: false, message: expect.stringMatching(/finished/) as unknown });
  });

  it('gives a round whose deadline passed while the coordinator was down a grace period', () => {
    const late = transition(state(training), EVENTS.restart, training.deadline + 100_000);
    expect(late).toMatchObject({ ok: true, state: { phase: { deadline: training.deadline + 105_000 } }, effects: [{ type: 'round-deadline', deadline: training.deadline + 105_000 }, { type: 'check-close' }] });
  });

  it('words refused admin actions as the admin sees them', () => {
    expect(transition(state(PHASES.stopped), EVENTS.resume, NOW)).toMatchObject({ message: 'a stopped federation cannot be resumed' });
    expect(transition(state(PHASES.stopped), EVENTS.pause, NOW)).toMatchObject({ message: 'a stopped federation cannot be paused' });
    expect(transition(state(PHASES.finished), EVENTS.stop, NOW)).toMatchObject({ message: 'the federation is already finished' });
  });
});
