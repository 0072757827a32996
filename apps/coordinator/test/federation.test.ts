/**
 * Acceptance: the real coordinator on port 0 and three Node sites with different sample counts complete 3 rounds;
 * every published global state is the sample-weighted mean of that round's accepted submissions (recomputed here
 * from the store, in float64); the sites' metrics and the global test metrics land in the store.
 */
import { decodeTensors, roundSummarySchema } from '@facmic/protocol';
import { z } from 'zod';
import { isCounterEntry, type ModuleState } from '@facmic/learning/plain';
import type { SiteRunResult } from '@facmic/site';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { moduleSpecOf } from '../src/submission-check.ts';
import { initTfBackend } from '../src/tf-backend.ts';
import { apiParsed, createInvite, createTestFederation, startSite, startTestCoordinator, type TestCoordinator } from './helpers.ts';

describe('a federation of three Node sites', () => {
  let t: TestCoordinator;

  beforeAll(async () => {
    await initTfBackend('cpu');
    t = await startTestCoordinator();
  });
  afterAll(async () => {
    await t.close();
  });

  it('completes 3 rounds, each global model the sample-weighted mean of its submissions', async () => {
    const detail = await createTestFederation(t, { rounds: 3, quorum: 3 });
    const federationId = detail.config.id;
    expect(detail.summary.status).toBe('waiting');
    expect(detail.config.training.batchSize).toBe(8);
    expect(detail.config.training.optimizer.betas).toEqual([0.9, 0.98]);

    const perClass = [3, 6, 12]; // 12, 24, 48 training samples
    const sites = await Promise.all(perClass.map(async (n, i) => {
      const invite = await createInvite(t, federationId, `Hospital ${i + 1}`);
      return startSite(t.url, federationId, invite.token, { name: `hospital-${i + 1}`, encoder: t.encoder, trainPerClass: n, seed: i + 1, weightsDtype: (['float32', 'int8', 'float16'] as const)[i] });
    }));
    const models = sites.map((site) => {
      const received: { round: number; state: ModuleState; final: boolean }[] = [];
      site.on('model', (m) => received.push({ round: m.round, state: m.state, final: m.final }));
      return received;
    });
    const results: SiteRunResult[] = await Promise.all(sites.map((s) => s.run()));
    for (const result of results) {
      expect(result.reason).toBe('finished');
      expect(result.roundsSubmitted).toEqual([1, 2, 3]);
    }

    const federation = t.store.getFederation(federationId);
    expect(federation?.status).toBe('finished');
    expect(federation?.round).toBe(3);
    const spec = moduleSpecOf(federation!);
    for (let round = 1; round <= 3; round++) {
      const submissions = t.store.listSubmissions(federationId, round, { withWeights: true });
      expect(submissions.map((s) => s.sampleCount).sort((a, b) => a - b)).toEqual([12, 24, 48]);
      const model = t.store.getGlobalModel(federationId, round);
      expect(model).not.toBeNull();
      const global = decodeTensors(model!.weights, { expected: spec }).tensors;
      // The 8-bit site's update is a delta from the round's global model (the model after the round before).
      const base = { round: round - 1, tensors: decodeTensors(t.store.getGlobalModel(federationId, round - 1)!.weights).tensors };
      const states = submissions.map((s) => decodeTensors(s.weights!, { expected: spec, base }).tensors);
      const total = submissions.reduce((sum, s) => sum + s.sampleCount, 0);
      for (const name of Object.keys(spec)) {
        const got = global[name]!.data;
        if (isCounterEntry(name)) {
          // A counter, not averaged: the first submission's value (as in the paper's code).
          expect(got[0]).toBe(states[0]![name]!.data[0]);
          continue;
        }
        let maxError = 0;
        for (let i = 0; i < got.length; i++) {
          let mean = 0;
          submissions.forEach((s, k) => { mean += (s.sampleCount / total) * states[k]![name]!.data[i]!; });
          maxError = Math.max(maxError, Math.abs(mean - got[i]!));
        }
        expect(maxError, `${name} of round ${round}`).toBeLessThan(1e-6);
      }
      // The global model differs from the previous one: training happened.
      const previous = decodeTensors(t.store.getGlobalModel(federationId, round - 1)!.weights).tensors;
      expect(Array.from(previous['0.weight']!.data)).not.toEqual(Array.from(global['0.weight']!.data));
      for (const s of submissions) {
        expect(s.metrics.steps).toBeGreaterThan(0);
        expect(s.metrics.localModel?.samples).toBe(12);
        expect(s.metrics.globalModel?.accuracy).toBeGreaterThanOrEqual(0);
      }
    }
    expect(t.store.listSubmissions(federationId, 1).find((s) => s.sampleCount === 48)?.dtype).toBe('float16');
    expect(t.store.listSubmissions(federationId, 1).find((s) => s.sampleCount === 24)?.dtype).toBe('int8');

    // Every site ends holding the final global model (what its classify panel uses), equal to the published one.
    const finalModel = decodeTensors(t.store.getGlobalModel(federationId, 3)!.weights, { expected: spec }).tensors;
    for (const received of models) {
      expect(received.map((m) => [m.round, m.final])).toEqual([[0, false], [1, false], [2, false], [3, true]]);
      expect(Array.from(received.at(-1)!.state['3.weight']!.data)).toEqual(Array.from(finalModel['3.weight']!.data));
    }

    await t.coordinator.engine.idle();
    const body = await apiParsed(z.object({ rounds: z.array(roundSummarySchema) }), t.url, `/api/federations/${federationId}/rounds`, { token: t.adminToken });
    expect(body.rounds.map((r) => r.status)).toEqual(['published', 'published', 'published']);
    for (const round of body.rounds) {
      expect(round.submissions).toBe(3);
      expect(round.totalSamples).toBe(84);
      expect(round.bytesReceived).toBeGreaterThan(0);
      expect(round.bytesSent).toBeGreaterThan(0);
      expect(round.globalMetrics?.samples).toBe(20);
      // The generated reference set's classes are known to the coordinator: its pseudo labels are scored.
      expect(round.globalMetrics?.pseudoLabelAccuracy).toBeGreaterThanOrEqual(0);
      expect(round.globalMetrics?.pseudoLabelAccuracy).toBeLessThanOrEqual(1);
      expect(round.aggregationMs).not.toBeNull();
    }
    const audit = t.store.listAudit({ federationId, limit: 100 }).map((e) => e.action);
    expect(audit.filter((a) => a === 'round.published')).toHaveLength(3);
    expect(audit).toContain('federation.finished');
  });
});
