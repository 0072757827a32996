/** The site's events: typed listeners, the one generic message a relay forwards, and how errors are treated. */
import { TensorEncodingError } from '@facmic/protocol';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { classifyError, SiteError, SiteEvents, type SiteEventMessage } from './events.ts';
import { StatusReporter } from './status-reporter.ts';

describe('SiteEvents', () => {
  it('gives relays every event as one { name, data } message, and a failing listener breaks nothing', () => {
    const events = new SiteEvents();
    const relayed: SiteEventMessage[] = [];
    events.on('step', () => { throw new Error('listener bug'); });
    const off = events.onAny((message) => { relayed.push(message); });
    events.onAny(() => { throw new Error('relay bug'); });
    events.emit('step', { round: 1, step: 2, totalSteps: 3, loss: 0.5 });
    events.emit('connection', { connected: false, reason: 'transport close' });
    off();
    events.emit('refused', { round: 1, code: 'STALE_ROUND', message: 'late' });
    expect(relayed).toEqual([
      { name: 'step', data: { round: 1, step: 2, totalSteps: 3, loss: 0.5 } },
      { name: 'connection', data: { connected: false, reason: 'transport close' } },
    ]);
  });
});

describe('classifyError', () => {
  it('ends the session on an encoder mismatch, bad local data or a closed session; reports the rest', () => {
    for (const code of ['ENCODER_MISMATCH', 'LOCAL_DATA_INVALID', 'TOKEN_REVOKED', 'SESSION_REPLACED'] as const) {
      expect(classifyError(new SiteError(code, 'm'), 'round 1')).toEqual({ fatal: new SiteError(code, 'm') });
    }
    expect(classifyError(new SiteError('CONNECTION_LOST', 'gone'), 'round 1')).toEqual({ report: { code: 'CONNECTION_LOST', message: 'round 1: gone' }, problem: false });
    expect(classifyError(new TensorEncodingError('BAD_WEIGHTS', 'bad magic'), 'round 1')).toEqual({ report: { code: 'PROTOCOL_VIOLATION', message: 'round 1: bad magic' }, problem: false });
    expect(classifyError(new Error('out of memory'), 'round 1')).toEqual({ report: { code: 'TRAINING_FAILED', message: 'round 1: out of memory' }, problem: true });
  });
});

describe('StatusReporter', () => {
  afterEach(() => { vi.useRealTimers(); });

  it('shows every status, sends phase changes at once and progress at most every interval', () => {
    vi.useFakeTimers();
    const shown: number[] = [];
    const sent: (number | null)[] = [];
    let connected = true;
    const reporter = new StatusReporter((s) => { shown.push(s.progress ?? -1); }, (s) => { if (connected) sent.push(s.progress); return connected; }, 500);
    reporter.set({ phase: 'training', progress: 0, round: 1, message: null });
    reporter.set({ phase: 'training', progress: 0.1, round: 1, message: null });
    reporter.set({ phase: 'training', progress: 0.2, round: 1, message: null });
    expect(sent).toEqual([0]);
    vi.advanceTimersByTime(500);
    expect(sent).toEqual([0, 0.2]);
    reporter.set({ phase: 'submitting', progress: null, round: 1, message: null });
    expect(sent).toEqual([0, 0.2, null]);
    connected = false;
    reporter.set({ phase: 'submitted', progress: null, round: 1, message: null });
    expect(sent).toEqual([0, 0.2, null]);
    expect(shown).toEqual([0, 0.1, 0.2, -1, -1]);
    expect(reporter.current.phase).toBe('submitted');
    reporter.dispose();
  });
});
