/**
 * The site's machine as a table: every kind of `round:update` the coordinator sends x every situation the site can be
 * in. A site takes part exactly where the table says so (an open round it participates in and has not submitted to,
 * once ready); everywhere else it finishes or waits, and it aborts work on a round that is over for it.
 */
import type { RoundUpdate } from '@facmic/protocol';
import { describe, expect, it } from 'vitest';
import { decideRound, type LocalProgress, type RoundDecision } from './decide-round.ts';

const ROUND = 2;

const update = (over: Partial<RoundUpdate>): RoundUpdate => ({
  federationId: 'fed',
  status: 'training',
  pausedFrom: null,
  round: ROUND,
  totalRounds: 3,
  deadline: null,
  latestModelRound: ROUND - 1,
  participating: true,
  submitted: false,
  participants: 3,
  submissions: 1,
  quorum: 2,
  readySites: 3,
  privacy: null,
  ...over,
});

const UPDATES = {
  waiting: update({ status: 'waiting', round: ROUND, participating: false, latestModelRound: ROUND }),
  'training, participant': update({}),
  'training, submitted': update({ submitted: true }),
  'training, joined late': update({ participating: false }),
  'paused in training, participant': update({ status: 'paused', pausedFrom: 'training' }),
  'paused in training, submitted': update({ status: 'paused', pausedFrom: 'training', submitted: true }),
  'paused while waiting': update({ status: 'paused', pausedFrom: 'waiting', participating: false }),
  'aggregating, submitted': update({ status: 'aggregating', submitted: true }),
  'aggregating, not a participant': update({ status: 'aggregating', participating: false }),
  finished: update({ status: 'finished', participating: false, latestModelRound: ROUND }),
  stopped: update({ status: 'stopped', participating: false }),
} as const;
type UpdateName = keyof typeof UPDATES;

const none = new Set<number>();
const LOCALS = {
  'not ready': { ready: false, doneRounds: none, pendingRound: null, workingRound: null },
  ready: { ready: true, doneRounds: none, pendingRound: null, workingRound: null },
  'update pending': { ready: true, doneRounds: none, pendingRound: ROUND, workingRound: null },
  'round done': { ready: true, doneRounds: new Set([ROUND]), pendingRound: null, workingRound: null },
  'training it': { ready: true, doneRounds: none, pendingRound: null, workingRound: ROUND },
  'training an old round': { ready: true, doneRounds: none, pendingRound: null, workingRound: ROUND - 1 },
} as const satisfies Record<string, LocalProgress>;
type LocalName = keyof typeof LOCALS;

/**
 * F finish (finished), S finish (stopped), N not ready, T take part, R resubmit the pending update, Wp wait paused,
 * Ws wait submitted, Ww wait, Wj wait (joined mid-round). A trailing `!` means: abort the work in progress.
 */
type Step = 'F' | 'S' | 'N' | 'T' | 'R' | 'Wp' | 'Ws' | 'Ww' | 'Wj';
type Cell = Step | `${Step}!`;

const COLUMNS: readonly LocalName[] = ['not ready', 'ready', 'update pending', 'round done', 'training it', 'training an old round'];
const TABLE: Record<UpdateName, readonly Cell[]> = {
  waiting: ['N', 'Ww', 'Ww', 'Ww', 'Ww!', 'Ww!'],
  'training, participant': ['N', 'T', 'R', 'Ww', 'T', 'T!'],
  'training, submitted': ['N', 'Ws', 'Ws', 'Ws', 'Ws', 'Ws!'],
  'training, joined late': ['N', 'Wj', 'Wj', 'Wj', 'Wj!', 'Wj!'],
  'paused in training, participant': ['N', 'T', 'R', 'Wp', 'T', 'T!'],
  'paused in training, submitted': ['N', 'Wp', 'Wp', 'Wp', 'Wp', 'Wp!'],
  'paused while waiting': ['N', 'Wp', 'Wp', 'Wp', 'Wp!', 'Wp!'],
  'aggregating, submitted': ['N', 'Ww', 'Ww', 'Ww', 'Ww!', 'Ww!'],
  'aggregating, not a participant': ['N', 'Ww', 'Ww', 'Ww', 'Ww!', 'Ww!'],
  finished: ['F', 'F', 'F', 'F', 'F!', 'F!'],
  stopped: ['S', 'S', 'S', 'S', 'S!', 'S!'],
};

function cellOf(decision: RoundDecision): Cell {
  const next = decision.next;
  const step: Step =
    next.kind === 'finish'
      ? next.reason === 'finished' ? 'F' : 'S'
      : next.kind === 'not-ready'
        ? 'N'
        : next.kind === 'take-part'
          ? next.resubmit ? 'R' : 'T'
          : next.phase === 'paused'
            ? 'Wp'
            : next.phase === 'submitted'
              ? 'Ws'
              : next.message === null ? 'Ww' : 'Wj';
  return decision.abortWork ? `${step}!` : step;
}

describe('decideRound: the table', () => {
  const pairs = (Object.keys(UPDATES) as UpdateName[]).flatMap((u) => COLUMNS.map((l, column) => [u, l, column] as const));
  it.each(pairs)('%s x %s', (updateName, localName, column) => {
    const decision = decideRound(UPDATES[updateName], LOCALS[localName]);
    expect(cellOf(decision)).toBe(TABLE[updateName][column]);
    if (decision.next.kind === 'take-part') expect(decision.next.round).toBe(ROUND);
  });
});

describe('decideRound: acknowledgements and messages', () => {
  it('takes the coordinator having the update as the round done, once ready', () => {
    expect(decideRound(UPDATES['training, submitted'], LOCALS.ready).acknowledged).toBe(ROUND);
    expect(decideRound(UPDATES['aggregating, submitted'], LOCALS['update pending']).acknowledged).toBe(ROUND);
    expect(decideRound(UPDATES['training, submitted'], LOCALS['not ready']).acknowledged).toBeNull();
    expect(decideRound(UPDATES['training, participant'], LOCALS.ready).acknowledged).toBeNull();
    expect(decideRound(UPDATES.finished, LOCALS.ready).acknowledged).toBeNull();
  });

  it('says why a site that joined mid-round waits', () => {
    expect(decideRound(UPDATES['training, joined late'], LOCALS.ready).next).toEqual({ kind: 'wait', phase: 'waiting', message: 'joined mid-round: training from the next round' });
  });

  it('acts on a newer round than the one it trained for', () => {
    const next = update({ round: ROUND + 1 });
    expect(decideRound(next, LOCALS['update pending']).next).toEqual({ kind: 'take-part', round: ROUND + 1, resubmit: false });
    expect(decideRound(next, LOCALS['round done']).next).toEqual({ kind: 'take-part', round: ROUND + 1, resubmit: false });
  });
});
