import { describe, expect, it } from 'vitest';
import type { RoundUpdate } from '@facmic/protocol';
import { describeActivity, INITIAL_SITE_VIEW, reduceSiteView, siteStage, type SiteView } from './site-state.ts';
import { sessionAfter } from './session-updates.ts';
import type { SiteSession } from '../../lib/site-session.ts';
import type { SiteEventMessage } from '@facmic/site';
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
  privacy: null,
  ...over,
});

/** A site event as the worker relays it. */
const site = (event: SiteEventMessage): WorkerToPage => ({ type: 'site', event });
const model = (round: number, bytes: number, final: boolean): WorkerToPage => site({ name: 'model', data: { round, checksum: '00000000', bytes, state: {}, final } });

function run(messages: readonly WorkerToPage[], from: SiteView = INITIAL_SITE_VIEW): SiteView {
  return messages.reduce((view, m) => reduceSiteView(view, m, 0), from);
}

describe('site view', () => {
  it('walks through the stages', () => {
    let view = run([{ type: 'saved-dataset', exists: false }]);
    expect(siteStage(view)).toBe('connecting');
    view = run([site({ name: 'connection', data: { connected: true, reason: null } }), { type: 'needs-dataset', federation: {} as never }], view);
    expect(siteStage(view)).toBe('choose-images');
    view = reduceSiteView(view, { type: 'dataset-sent' });
    expect(view.datasetSent).toBe(true);
    view = run([{ type: 'encoding', progress: { done: 1, total: 10, cached: 0, encoded: 1, failed: 0, imagesPerSecond: 2, secondsLeft: 4.5, elapsedSeconds: 0.5 } }], view);
    expect(siteStage(view)).toBe('encoding');
    view = run([{ type: 'dataset-ready', summary: { source: 'encoded', counts: { train: 8, validation: 1, test: 1 }, countsPerClass: [5, 5], encodedThisSession: 10, fromCache: 0, encodeSeconds: 2, failures: [], savedAt: 0 } }], view);
    expect(siteStage(view)).toBe('taking-part');
    view = run([site({ name: 'finished', data: { reason: 'finished', roundsSubmitted: [1, 2, 3] } })], view);
    expect(siteStage(view)).toBe('done');
    expect(describeActivity(view)).toMatch(/complete/);
  });

  it('keeps the model size announced before the download, separately from the per-file progress', () => {
    const view = run([
      { type: 'model-loading', loading: { file: '', loadedBytes: 1000, totalBytes: 88_964_292, phase: 'size' } },
      { type: 'model-loading', loading: { file: 'onnx/vision_model_quantized.onnx', loadedBytes: 10, totalBytes: 88_964_292, phase: 'download' } },
    ]);
    expect(view.modelSize).toEqual({ downloadBytes: 88_964_292, cachedBytes: 1000 });
    expect(view.modelLoading?.phase).toBe('download');
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
    const view = run([model(0, 10, false), model(2, 10, true), model(1, 10, false)]);
    expect(view.globalModelRound).toBe(2);
  });

  it('tells reconnecting from connecting, and keeps only fatal errors as fatal', () => {
    let view = run([site({ name: 'connection', data: { connected: true, reason: null } }), site({ name: 'connection', data: { connected: false, reason: 'transport close' } })]);
    expect(describeActivity(view)).toMatch(/Reconnecting/);
    view = run([site({ name: 'error', data: { code: 'TRAINING_FAILED', message: 'm', fatal: false } })], view);
    expect(view.errors).toHaveLength(1);
    expect(siteStage(view)).not.toBe('failed');
    view = run([site({ name: 'error', data: { code: 'TOKEN_REVOKED', message: 'revoked', fatal: true } })], view);
    expect(siteStage(view)).toBe('failed');
  });

  it('describes waiting for others in plain words', () => {
    const view = run([
      site({ name: 'connection', data: { connected: true, reason: null } }),
      site({ name: 'round', data: round({ submitted: true }) }),
      site({ name: 'status', data: { phase: 'submitted', progress: null, round: 2, message: null } }),
    ]);
    expect(describeActivity(view)).toBe('Round 2: your update is in. Waiting for the other hospitals (1 of 3 sent).');
  });

  it('says why a paced round stays open once every update is in', () => {
    const submitted: WorkerToPage[] = [
      site({ name: 'connection', data: { connected: true, reason: null } }),
      site({ name: 'round', data: round({ submitted: true, submissions: 3 }) }),
      site({ name: 'status', data: { phase: 'submitted', progress: null, round: 2, message: null } }),
    ];
    const paced = run(submitted, { ...INITIAL_SITE_VIEW, federation: { minRoundSeconds: 6 } as never });
    expect(describeActivity(paced)).toBe('Round 2: every update is in. The round closes once it has run 6 s, this federation’s pace.');
    const unpaced = run(submitted, { ...INITIAL_SITE_VIEW, federation: { minRoundSeconds: 0 } as never });
    expect(describeActivity(unpaced)).toBe('Round 2: your update is in. Waiting for the other hospitals (3 of 3 sent).');
  });
});

describe('session updates', () => {
  const session: SiteSession = { coordinatorUrl: 'http://c', federationId: 'fed', token: 't'.repeat(16), device: 'auto', demoSite: null, siteName: null, federationName: null, seed: 1, createdAt: 0, updatedAt: 0, rounds: [] };
  it('records metrics per round and the model download against the round that uses it', () => {
    let s = sessionAfter(session, model(1, 100, false), 5);
    s = sessionAfter(s, site({ name: 'evaluated', data: { round: 2, model: 'global', metrics: { accuracy: 0.5, balancedAccuracy: 0.5, samples: 4 } } }), 6);
    s = sessionAfter(s, site({ name: 'submitted', data: { round: 2, bytes: 42, sampleCount: 8, checksum: '00000000', duplicate: false, metrics: { trainLoss: 1, steps: 3, trainSeconds: 2, globalModel: null, localModel: { accuracy: 1, balancedAccuracy: 1, samples: 4 } } } }), 7);
    expect(s.rounds).toEqual([
      { round: 2, globalModel: { accuracy: 0.5, balancedAccuracy: 0.5, samples: 4 }, localModel: { accuracy: 1, balancedAccuracy: 1, samples: 4 }, trainSeconds: 2, steps: 3, trainLoss: 1, bytesSent: 42, bytesReceived: 100, submittedAt: 7 },
    ]);
    expect(sessionAfter(s, site({ name: 'step', data: { round: 2, step: 1, totalSteps: 2, loss: 1 } }), 8)).toBe(s);
    // The final model, fetched when the federation ends, starts no round: no row for it.
    expect(sessionAfter(s, model(2, 100, true), 9)).toBe(s);
  });
});
