/** The secure aggregation phases' table: every phase x event. */
import { describe, expect, it } from 'vitest';
import { decideSecure, SECURE_EVENT_TYPES, SECURE_PHASES, type SecureAction, type SecureEvent } from './secure-round-machine.ts';

const some: SecureEvent = { type: 'answer', answered: 2, expected: 3 };
const all: SecureEvent = { type: 'answer', answered: 3, expected: 3 };
const timeout: SecureEvent = { type: 'phase-timeout' };
const deadlineEnough: SecureEvent = { type: 'round-deadline', answered: 3, needed: 3 };
const deadlineFew: SecureEvent = { type: 'round-deadline', answered: 2, needed: 3 };
const restart: SecureEvent = { type: 'restart' };

const TABLE: Record<string, [SecureEvent, SecureAction][]> = {
  advertising: [[some, 'wait'], [all, 'close-phase'], [timeout, 'close-phase'], [deadlineEnough, 'close-phase'], [deadlineFew, 'abandon'], [restart, 'resend']],
  sharing: [[some, 'wait'], [all, 'close-phase'], [timeout, 'close-phase'], [deadlineEnough, 'wait'], [deadlineFew, 'wait'], [restart, 'resend']],
  'collecting-inputs': [[some, 'wait'], [all, 'close-phase'], [timeout, 'close-phase'], [deadlineEnough, 'wait'], [deadlineFew, 'wait'], [restart, 'resend']],
  unmasking: [[some, 'wait'], [all, 'close-phase'], [timeout, 'close-phase'], [deadlineEnough, 'wait'], [deadlineFew, 'wait'], [restart, 'resend']],
  completed: [[some, 'wait'], [all, 'wait'], [timeout, 'wait'], [deadlineEnough, 'wait'], [deadlineFew, 'wait'], [restart, 'publish']],
  failed: [[some, 'wait'], [all, 'wait'], [timeout, 'new-session'], [deadlineEnough, 'wait'], [deadlineFew, 'wait'], [restart, 'new-session']],
};

describe('secure aggregation phases', () => {
  it('the table covers every phase and every event', () => {
    expect(Object.keys(TABLE).sort()).toEqual([...SECURE_PHASES].sort());
    for (const rows of Object.values(TABLE)) expect(new Set(rows.map(([event]) => event.type))).toEqual(new Set(SECURE_EVENT_TYPES));
  });

  for (const [phase, rows] of Object.entries(TABLE)) {
    for (const [event, action] of rows) {
      it(`${phase} x ${event.type}${'answered' in event ? ` (${event.answered})` : ''}: ${action}`, () => {
        expect(decideSecure(phase as (typeof SECURE_PHASES)[number], event)).toBe(action);
      });
    }
  }

  it('a restart never starts a phase over with new requests except after a failure', () => {
    for (const phase of SECURE_PHASES) {
      const action = decideSecure(phase, restart);
      expect(action === 'new-session').toBe(phase === 'failed');
    }
  });
});
