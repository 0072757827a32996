import { describe, expect, it } from 'vitest';
import type { RoundUpdate } from '@facmic/protocol';
import { describeActivity, INITIAL_SITE_VIEW, reduceSiteView, siteStage, type SiteView } from './site-state.ts';
import { sessionAfter } from './session-updates.ts';
import type { SiteSession } from '../../lib/site-session.ts';
import type { WorkerToPage } from '../../worker/worker-messages.ts';

const round = (over: Partial<RoundUpdate> = {}): RoundUpdate => ({
  federationId: 'fed',
  status: 'training',
  pausedFrom: null,
  round: 2,
  totalRounds: 3,
  deadline: null,
  latestModelRound: 1,
  participating: true,
  submitted: false,
  participants: 3,
  submissions: 1,
  quorum: 2,
  readySites: 3,
  ...over,
});

function run(messages: readonly WorkerToPage[], from: SiteView = INITIAL_SITE_VIEW): SiteView {
  return messages.reduce((view, m) => reduceSiteView(view, m, 0), from);
}

describe('site view', () => {
  it('walks through the stages', () => {
    let view = run([{ type: 'saved-dataset', exists: false }]);
    expect(siteStage(view)).toBe('connecting');
    view = run([{ type: 'connection', connected: true, reason: null }, { type: 'needs-dataset', federation: {} as never }], view);
    expect(siteStage(view)).toBe('choose-images');
    view = reduceSiteView(view, { type: 'dataset-sent' });
    expect(view.datasetSent).toBe(true);
    view = run([{ type: 'encoding', progress: { done: 1, total: 10, cached: 0, encoded: 1, failed: 0, imagesPerSecond: 2, secondsLeft: 4.5 } }], view);
    expect(siteStage(view)).toBe('encoding');
    view = run([{ type: 'dataset-ready', summary: { source: 'encoded', counts: { train: 8, validation: 1, test: 1 }, countsPerClass: [5, 5], encodedThisSession: 10, fromCache: 0, encodeSeconds: 2, failures: [], savedAt: 0 } }], view);
    expect(siteStage(view)).toBe('taking-part');
    view = run([{ type: 'finished', result: { reason: 'finished', roundsSubmitted: [1, 2, 3] } }], view);
    expect(siteStage(view)).toBe('done');
    expect(describeActivity(view)).toMatch(/complete/);
  });

  it('lets the user choose again after a cancel or a refusal', () => {
    let view = run([{ type: 'dataset-refused', message: 'no images' }], { ...INITIAL_SITE_VIEW, datasetSent: true });
    expect(view.datasetSent).toBe(false);
    expect(view.datasetProblem).toBe('no images');
    view = run([{ type: 'encoding-cancelled' }], { ...view, datasetSent: true });
    expect(view.datasetSent).toBe(false);
    expect(view.encodingCancelled).toBe(true);
  });

  it('keeps the round of the newest shared model, for the classify panel', () => {
    expect(INITIAL_SITE_VIEW.globalModelRound).toBeNull();
    const view = run([{ type: 'model', round: 0, bytes: 10, final: false }, { type: 'model', round: 2, bytes: 10, final: true }, { type: 'model', round: 1, bytes: 10, final: false }]);
    expect(view.globalModelRound).toBe(2);
  });

  it('tells reconnecting from connecting, and keeps only fatal errors as fatal', () => {
    let view = run([{ type: 'connection', connected: true, reason: null }, { type: 'connection', connected: false, reason: 'transport close' }]);
    expect(describeActivity(view)).toMatch(/Reconnecting/);
    view = run([{ type: 'error', code: 'X', message: 'm', fatal: false }], view);
    expect(view.errors).toHaveLength(1);
    expect(siteStage(view)).not.toBe('failed');
    view = run([{ type: 'error', code: 'TOKEN_REVOKED', message: 'revoked', fatal: true }], view);
    expect(siteStage(view)).toBe('failed');
  });

  it('describes waiting for others in plain words', () => {
    const view = run([
      { type: 'connection', connected: true, reason: null },
      { type: 'round', round: round({ submitted: true }) },
      { type: 'status', status: { phase: 'submitted', progress: null, round: 2, message: null } },
    ]);
    expect(describeActivity(view)).toBe('Round 2: your update is in. Waiting for the other hospitals (1 of 3 sent).');
  });

  it('says why a paced round stays open once every update is in', () => {
    const submitted = [
      { type: 'connection', connected: true, reason: null },
      { type: 'round', round: round({ submitted: true, submissions: 3 }) },
      { type: 'status', status: { phase: 'submitted', progress: null, round: 2, message: null } },
    ] as const;
    const paced = run(submitted, { ...INITIAL_SITE_VIEW, federation: { minRoundSeconds: 6 } as never });
    expect(describeActivity(paced)).toBe('Round 2: every update is in. The round closes once it has run 6 s, this federation’s pace.');
    const unpaced = run(submitted, { ...INITIAL_SITE_VIEW, federation: { minRoundSeconds: 0 } as never });
    expect(describeActivity(unpaced)).toBe('Round 2: your update is in. Waiting for the other hospitals (3 of 3 sent).');
  });
});

describe('session updates', () => {
  const session: SiteSession = { coordinatorUrl: 'http://c', federationId: 'fed', token: 't'.repeat(16), device: 'auto', demoSite: null, siteName: null, federationName: null, seed: 1, createdAt: 0, updatedAt: 0, rounds: [] };
  it('records metrics per round and the model download against the round that uses it', () => {
    let s = sessionAfter(session, { type: 'model', round: 1, bytes: 100, final: false }, 5);
    s = sessionAfter(s, { type: 'evaluated', round: 2, model: 'global', metrics: { accuracy: 0.5, balancedAccuracy: 0.5, samples: 4 } }, 6);
    s = sessionAfter(s, { type: 'submitted', round: 2, bytes: 42, sampleCount: 8, metrics: { trainLoss: 1, steps: 3, trainSeconds: 2, globalModel: null, localModel: { accuracy: 1, balancedAccuracy: 1, samples: 4 } } }, 7);
    expect(s.rounds).toEqual([
      { round: 2, globalModel: { accuracy: 0.5, balancedAccuracy: 0.5, samples: 4 }, localModel: { accuracy: 1, balancedAccuracy: 1, samples: 4 }, trainSeconds: 2, steps: 3, trainLoss: 1, bytesSent: 42, bytesReceived: 100, submittedAt: 7 },
    ]);
    expect(sessionAfter(s, { type: 'step', round: 2, step: 1, totalSteps: 2, loss: 1 }, 8)).toBe(s);
    // The final model, fetched when the federation ends, starts no round: no row for it.
    expect(sessionAfter(s, { type: 'model', round: 2, bytes: 100, final: true }, 9)).toBe(s);
  });
});
