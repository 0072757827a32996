import { describe, expect, it } from 'vitest';
import type { FederationSummary, RoundSummary, SiteSummary, SubmissionSummary } from '@facmic/protocol';
import { describeAuditEntry, describeDetails, FULL_CLIP_BYTES, globalSeries, isAdminAction, reductionFactor, roundClosing, roundTraffic, siteActivity, siteSeries } from './dashboard-data.ts';

const site = (over: Partial<SiteSummary> = {}): SiteSummary => ({
  id: 'site-a',
  federationId: 'fed',
  name: 'Hospital A',
  createdAt: 0,
  revokedAt: null,
  firstSeenAt: 1,
  lastSeenAt: 1,
  online: true,
  ready: true,
  phase: 'training',
  progress: 0.4,
  phaseRound: 2,
  message: null,
  client: null,
  trainSamples: 80,
  testSamples: 10,
  submissions: 1,
  virtual: false,
  ...over,
});

const federation = { status: 'training', round: 2 } as FederationSummary;

const round = (over: Partial<RoundSummary> = {}): RoundSummary => ({
  federationId: 'fed',
  round: 2,
  status: 'training',
  startedAt: 0,
  deadline: 1000,
  closedAt: null,
  publishedAt: null,
  participants: ['site-a'],
  submissions: 0,
  totalSamples: 0,
  extensions: 0,
  bytesReceived: 0,
  bytesSent: 0,
  aggregationMs: null,
  globalMetrics: null,
  modelChecksum: null,
  ...over,
});

const submission = (siteId: string, siteName: string, r: number, local: number, global: number): SubmissionSummary => ({
  federationId: 'fed',
  round: r,
  siteId,
  siteName,
  sampleCount: 8,
  bytes: 100,
  dtype: 'float32',
  checksum: 'x',
  receivedAt: 0,
  metrics: { trainLoss: 1, steps: 1, trainSeconds: 1, localModel: { accuracy: local, balancedAccuracy: local / 2, samples: 4 }, globalModel: { accuracy: global, balancedAccuracy: global / 2, samples: 4 } },
});

describe('dashboard data', () => {
  it('says what a site does, including late and revoked', () => {
    expect(siteActivity(site(), federation, round(), 500)).toMatchObject({ activity: 'training', label: 'training 40 %' });
    expect(siteActivity(site(), federation, round(), 2000)).toMatchObject({ activity: 'late' });
    expect(siteActivity(site({ phase: 'submitted', phaseRound: 2 }), federation, round(), 2000)).toMatchObject({ activity: 'submitted' });
    expect(siteActivity(site({ online: false, firstSeenAt: null }), federation, round({ participants: [] }), 0)).toMatchObject({ activity: 'offline', label: 'not joined yet' });
    expect(siteActivity(site({ revokedAt: 5 }), federation, round(), 0)).toMatchObject({ activity: 'revoked' });
    expect(siteActivity(site({ phase: 'encoding', progress: 0.5 }), federation, round({ participants: [] }), 0)).toMatchObject({ activity: 'encoding', label: 'encoding 50 %' });
  });

  it('builds the global and per-site curves', () => {
    const rounds = [round({ round: 2, status: 'published', globalMetrics: { accuracy: 0.7, balancedAccuracy: 0.6, samples: 40 } }), round({ round: 1, status: 'published', globalMetrics: { accuracy: 0.5, balancedAccuracy: 0.4, samples: 40 } }), round({ round: 3 })];
    const [accuracy, balanced] = globalSeries(rounds);
    expect(accuracy?.points).toEqual([{ x: 1, y: 0.5 }, { x: 2, y: 0.7 }]);
    expect(balanced?.points).toEqual([{ x: 1, y: 0.4 }, { x: 2, y: 0.6 }]);
    expect(globalSeries(rounds)).toHaveLength(2);
    const withPseudo = [round({ round: 1, status: 'published', globalMetrics: { accuracy: 0.5, balancedAccuracy: 0.4, samples: 40, pseudoLabelAccuracy: 0.55 } }), ...rounds.slice(0, 1)];
    expect(globalSeries(withPseudo)[2]).toMatchObject({ name: 'Pseudo-label accuracy (reference set)', points: [{ x: 1, y: 0.55 }] });
    const subs = [submission('b', 'Hospital B', 2, 0.9, 0.8), submission('a', 'Hospital A', 1, 0.6, 0.5), submission('a', 'Hospital A', 2, 0.7, 0.65)];
    const local = siteSeries(subs, 'local', 'accuracy');
    expect(local.map((s) => s.name)).toEqual(['Hospital A', 'Hospital B']);
    expect(local[0]?.points).toEqual([{ x: 1, y: 0.6 }, { x: 2, y: 0.7 }]);
    expect(siteSeries(subs, 'global', 'balancedAccuracy')[1]?.points).toEqual([{ x: 2, y: 0.4 }]);
  });

  it('compares traffic with sending the full CLIP', () => {
    const [t] = roundTraffic([round({ round: 1, submissions: 3, bytesReceived: 6_000_000, bytesSent: 6_000_000 })]);
    expect(t).toEqual({ round: 1, uploaded: 6_000_000, downloaded: 6_000_000, sites: 3, fullClip: 6 * FULL_CLIP_BYTES });
    expect(reductionFactor(12_000_000, 6 * FULL_CLIP_BYTES)).toBe('300×');
    expect(reductionFactor(0, 1)).toBe('–');
    expect(reductionFactor(10, 55)).toBe('5.5×');
  });

  it('describes audit details in words', () => {
    const names: Record<string, string> = { 'site-a1': 'Hospital A', 'site-b2': 'Hospital B' };
    const text = describeDetails({ round: 2, participants: ['site-a1', 'site-b2'], siteId: 'site-a1', virtual: false, deadline: Date.UTC(2026, 0, 1, 12, 0, 0), nested: { x: 1 }, none: null }, (id) => names[id] ?? id);
    expect(text).toMatch(/^round: 2; participants: Hospital A, Hospital B; siteId: Hospital A; virtual: false; deadline: \S+/);
    expect(text).not.toContain('nested');
    expect(text).not.toContain('none');
  });
});

describe('round closing and the audit log in words', () => {
  const summary = (over: Partial<FederationSummary> = {}): FederationSummary => ({ ...federation, status: 'training', participants: 3, submissions: 3, ...over });
  const open = round({ startedAt: 10_000, deadline: 70_000 });

  it('says when a paced round really closes, not its deadline', () => {
    expect(roundClosing(summary(), open, 6, 12_000)).toEqual({ value: 'in 4.0 s', label: 'round closes: every update is in, and rounds last at least 6 s' });
    expect(roundClosing(summary(), open, 6, 17_000).value).toBe('now');
    // A page clock read just before the round started (it ticks once a second) does not make the round longer.
    expect(roundClosing(summary(), open, 6, 9_800).value).toBe('in 6.0 s');
    expect(roundClosing(summary({ submissions: 1 }), open, 6, 12_000)).toEqual({ value: 'in 58 s', label: 'round closes at the latest; sooner once every update is in (rounds last at least 6 s)' });
    expect(roundClosing(summary({ submissions: 1 }), open, 0, 12_000)).toEqual({ value: 'in 58 s', label: 'round closes at the latest; sooner once every update is in' });
    expect(roundClosing(summary({ status: 'waiting' }), null, 6, 0).value).toBe('–');
  });

  const entry = (action: string, details: Record<string, unknown>, actor = 'coordinator') => ({ id: 1, at: 0, actor, action, federationId: 'fed', details });

  it('words audit entries instead of event names', () => {
    const names = (id: string) => (id === 'site-a' ? 'Hospital A' : id);
    expect(describeAuditEntry(entry('round.published', { round: 50, contributors: ['site-a', 'site-b'], totalSamples: 96 }))).toBe('Round 50 published: 2 updates from 96 training images');
    expect(describeAuditEntry(entry('round.started', { round: 1, participants: ['site-a'] }))).toBe('Round 1 started with 1 hospital');
    expect(describeAuditEntry(entry('invite.revoked', { siteId: 'site-a', name: 'Hospital A' }, 'admin'), names)).toBe('Revoked the invite of Hospital A');
    expect(describeAuditEntry(entry('invite.created', { siteId: 'site-v', name: 'Virtual hospital 1', virtual: true }, 'admin'))).toBe('Added the virtual hospital Virtual hospital 1');
    expect(describeAuditEntry(entry('federation.updated', { minRoundSeconds: 0 }, 'admin'))).toBe('Changed the settings: no shortest round');
    expect(describeAuditEntry(entry('demo.run-started', { run: 2, previous: 'demo-brain-tumor', previousStatus: 'training' }, 'admin'))).toBe('Started demo run 2, after demo-brain-tumor (training)');
    expect(isAdminAction(entry('federation.paused', {}, 'admin'))).toBe(true);
    expect(isAdminAction(entry('site.joined', {}, 'site:site-a'))).toBe(false);
  });
});
