import { describe, expect, it } from 'vitest';
import type { FederationSummary } from '@facmic/protocol';
import { demoHospitalViews, demoRunStatusLine, isDemoRunOver, newDemoRunConfirmation } from './demo-run.ts';

const summary = (over: Partial<FederationSummary> = {}): FederationSummary => ({
  id: 'demo-brain-tumor-2',
  name: 'Demo: brain tumor MRI (run 2)',
  status: 'training',
  pausedFrom: null,
  round: 7,
  totalRounds: 50,
  deadline: null,
  quorum: 2,
  method: 'facmic',
  classNames: ['a', 'b'],
  isDemo: true,
  sitesTotal: 3,
  sitesOnline: 3,
  sitesReady: 3,
  participants: 3,
  submissions: 1,
  latestModelRound: 6,
  latestGlobalMetrics: { accuracy: 0.4125, balancedAccuracy: 0.4, samples: 40 },
  createdAt: 0,
  updatedAt: 0,
  privacy: null,
  ...over,
});

describe('demo runs on the landing page', () => {
  it('marks the demo hospitals that are open in a tab', () => {
    const hospital = (index: number) => ({ siteId: `site-${index}`, name: `Hospital ${'ABC'[index] ?? '?'}`, index, link: `http://h/site?f=d&t=${'x'.repeat(16)}&demo=${index}` });
    const views = demoHospitalViews([hospital(0), hospital(2)], [
      { id: 'site-0', online: true },
      { id: 'site-1', online: true },
      { id: 'site-2', online: false },
    ]);
    expect(views.map((v) => [v.name, v.index, v.online])).toEqual([
      ['Hospital A', 0, true],
      ['Hospital C', 2, false],
    ]);
    expect(demoHospitalViews([hospital(0)], []).map((v) => v.online)).toEqual([false]);
  });

  it('calls finished and stopped runs over', () => {
    expect(isDemoRunOver(null)).toBe(false);
    expect(isDemoRunOver(summary({ status: 'finished' }))).toBe(true);
    expect(isDemoRunOver(summary({ status: 'stopped' }))).toBe(true);
    for (const status of ['waiting', 'training', 'aggregating', 'paused'] as const) expect(isDemoRunOver(summary({ status }))).toBe(false);
  });

  it('says where the run is in one line', () => {
    expect(demoRunStatusLine(summary())).toBe('Demo: brain tumor MRI (run 2): round 7 of 50, 3 of 3 hospitals online, global test accuracy 41.3 %.');
    expect(demoRunStatusLine(summary({ round: 0, status: 'waiting', sitesOnline: 0, sitesTotal: 1, latestGlobalMetrics: null }))).toBe(
      'Demo: brain tumor MRI (run 2): waiting for 2 hospitals to start round 1 of 50, 0 of 1 hospital online.',
    );
    expect(demoRunStatusLine(summary({ status: 'finished', round: 50, sitesOnline: 0 }))).toMatch(/^Demo: brain tumor MRI \(run 2\): finished after 50 rounds, 0 of 3/);
    expect(demoRunStatusLine(summary({ status: 'stopped' }))).toContain('stopped at round 7 of 50');
    expect(demoRunStatusLine(summary({ status: 'paused' }))).toContain('round 7 of 50 (paused)');
  });

  it('asks before a new run stops one that is going, and only then', () => {
    expect(newDemoRunConfirmation(null)).toBeNull();
    expect(newDemoRunConfirmation(summary({ status: 'finished' }))).toBeNull();
    expect(newDemoRunConfirmation(summary({ status: 'stopped' }))).toBeNull();
    expect(newDemoRunConfirmation(summary({ status: 'waiting', round: 0, sitesOnline: 0 }))).toBeNull();
    expect(newDemoRunConfirmation(summary())).toContain('stops at round 7 of 50');
    expect(newDemoRunConfirmation(summary({ status: 'waiting', round: 0, sitesOnline: 2 }))).toContain('stops before its first round');
  });
});
