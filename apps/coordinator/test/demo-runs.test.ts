/**
 * `POST /api/demo/runs`: a fresh demo run with the demo's settings and a new id, made the current demo of
 * `/api/info`; the run it replaces is stopped (when still going) and stays listed; admin only, audited.
 */
import {
  auditEntrySchema,
  coordinatorInfoSchema,
  currentDemoRunSchema,
  demoRunStartedSchema,
  federationSummarySchema,
  parseInviteLink,
  PROTOCOL_VERSION,
  readDemoHospitalIndex,
} from '@facmic/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { systemClock } from '../src/clock.ts';
import { DEMO_FEDERATION } from '../src/demo.ts';
import { FederationEngine } from '../src/engine.ts';
import { createSyntheticEncoder } from '../src/features/synthetic-encoder.ts';
import { FederationService } from '../src/federations.ts';
import { silentLogger } from '../src/logger.ts';
import { openSqliteStore } from '../src/store/sqlite-store.ts';
import { api, apiParsed, createInvite, rawSiteSocket, startTestCoordinator, type TestCoordinator } from './helpers.ts';

describe('demo runs', () => {
  let t: TestCoordinator;
  beforeAll(async () => {
    t = await startTestCoordinator();
  });
  afterAll(async () => {
    await t.close();
  });

  const startRun = () => apiParsed(demoRunStartedSchema, t.url, '/api/demo/runs', { method: 'POST', body: {}, token: t.adminToken }, 201);
  const info = () => apiParsed(coordinatorInfoSchema, t.url, '/api/info');
  const current = () => apiParsed(currentDemoRunSchema, t.url, '/api/demo/runs/current', { token: t.adminToken }).then((c) => c.run);
  const audit = (federationId: string) =>
    apiParsed(z.object({ entries: z.array(auditEntrySchema) }), t.url, `/api/audit?federationId=${federationId}`, { token: t.adminToken }).then((a) => a.entries);

  it('needs the admin token and a well-formed body; a refused request creates nothing', async () => {
    expect(await api(t.url, '/api/demo/runs', { method: 'POST', body: {} })).toMatchObject({ status: 401, body: { ok: false, code: 'UNAUTHORIZED' } });
    expect(await api(t.url, '/api/demo/runs', { method: 'POST', body: {}, token: 'wrong-token-wrong-token' })).toMatchObject({ status: 401 });
    expect(await api(t.url, '/api/demo/runs/current')).toMatchObject({ status: 401 });
    expect(await current()).toBeNull();
    const bad = await api(t.url, '/api/demo/runs', { method: 'POST', body: { rounds: 3 }, token: t.adminToken });
    expect(bad).toMatchObject({ status: 400, body: { ok: false, code: 'BAD_REQUEST' } });
    expect(t.store.listFederations()).toEqual([]);
    expect((await info()).demoFederationId).toBeNull();
  });

  it('starts the first run with the demo settings and three demo hospitals, and makes it the current demo', async () => {
    const started = await startRun();
    expect(started.previous).toBeNull();
    expect(started.run.federation.summary).toMatchObject({ id: 'demo-brain-tumor', name: DEMO_FEDERATION.name, isDemo: true, status: 'waiting', round: 0, sitesTotal: 3 });
    expect(started.run.federation.config).toMatchObject({
      classNames: DEMO_FEDERATION.classNames,
      rounds: DEMO_FEDERATION.rounds,
      quorum: DEMO_FEDERATION.quorum,
      roundDeadlineSeconds: DEMO_FEDERATION.roundDeadlineSeconds,
      minRoundSeconds: DEMO_FEDERATION.minRoundSeconds,
      hasGlobalTest: true,
    });
    expect((await info()).demoFederationId).toBe('demo-brain-tumor');

    // Demo hospitals: invites of the run whose links (demo=0, 1, 2) the coordinator gives again, and that work.
    const { hospitals } = started.run;
    expect(hospitals.map((h) => [h.name, h.index])).toEqual([['Hospital A', 0], ['Hospital B', 1], ['Hospital C', 2]]);
    expect(hospitals.map((h) => readDemoHospitalIndex(new URL(h.link).searchParams))).toEqual([0, 1, 2]);
    expect(hospitals.every((h) => parseInviteLink(h.link)?.federationId === 'demo-brain-tumor' && parseInviteLink(h.link)?.coordinatorUrl === t.url)).toBe(true);
    expect((await current())?.hospitals).toEqual(hospitals);
    const socket = rawSiteSocket(t.url, { protocolVersion: PROTOCOL_VERSION, federationId: 'demo-brain-tumor', siteToken: parseInviteLink(hospitals[1]!.link)!.token });
    const welcome = await new Promise<{ site: { id: string } }>((resolve, reject) => {
      socket.once('session:welcome', resolve);
      socket.once('connect_error', reject);
    });
    expect(welcome.site.id).toBe(hospitals[1]!.siteId);
    socket.close();
    // A revoked hospital is left out; the others keep their index (their images).
    await api(t.url, `/api/federations/demo-brain-tumor/invites/${hospitals[1]!.siteId}`, { method: 'DELETE', token: t.adminToken });
    expect((await current())?.hospitals.map((h) => [h.name, h.index])).toEqual([['Hospital A', 0], ['Hospital C', 2]]);

    const entries = await audit('demo-brain-tumor');
    expect(entries.find((e) => e.action === 'demo.run-started')).toMatchObject({ actor: 'admin', details: { run: 1, previous: null, previousStatus: null } });
  });

  it('replaces a run that is going: stops it, keeps it listed, audits both', async () => {
    await createInvite(t, 'demo-brain-tumor', 'Demo hospital 1');
    const started = await startRun();
    expect(started.run.federation.summary).toMatchObject({ id: 'demo-brain-tumor-2', name: `${DEMO_FEDERATION.name} (run 2)`, isDemo: true, status: 'waiting', sitesTotal: 3 });
    expect(started.run.hospitals.map((h) => parseInviteLink(h.link)?.federationId)).toEqual(['demo-brain-tumor-2', 'demo-brain-tumor-2', 'demo-brain-tumor-2']);
    expect((await current())?.federation.summary.id).toBe('demo-brain-tumor-2');
    expect(started.previous).toMatchObject({ id: 'demo-brain-tumor', status: 'stopped' });
    expect((await info()).demoFederationId).toBe('demo-brain-tumor-2');

    const listed = await apiParsed(z.object({ federations: z.array(federationSummarySchema) }), t.url, '/api/federations', { token: t.adminToken });
    expect(listed.federations.map((f) => [f.id, f.status]).sort()).toEqual([
      ['demo-brain-tumor', 'stopped'],
      ['demo-brain-tumor-2', 'waiting'],
    ]);
    expect((await audit('demo-brain-tumor')).find((e) => e.action === 'federation.stopped')).toMatchObject({ actor: 'admin' });
    expect((await audit('demo-brain-tumor-2')).find((e) => e.action === 'demo.run-started')).toMatchObject({
      actor: 'admin',
      details: { run: 2, previous: 'demo-brain-tumor', previousStatus: 'stopped' },
    });
  });

  it('leaves a run that is over as it was', async () => {
    expect((await api(t.url, '/api/federations/demo-brain-tumor-2/stop', { method: 'POST', token: t.adminToken })).status).toBe(200);
    const started = await startRun();
    expect(started.run.federation.summary.id).toBe('demo-brain-tumor-3');
    expect(started.previous).toMatchObject({ id: 'demo-brain-tumor-2', status: 'stopped' });
    expect((await audit('demo-brain-tumor-2')).filter((e) => e.action === 'federation.stopped')).toHaveLength(1);
    expect((await info()).demoFederationId).toBe('demo-brain-tumor-3');
  });

  it('takes a shorter round for a run when asked, and refuses a bad one', async () => {
    const short = await apiParsed(demoRunStartedSchema, t.url, '/api/demo/runs', { method: 'POST', body: { stepsPerRound: 2 }, token: t.adminToken }, 201);
    expect(short.run.federation.config.training).toMatchObject({ stepsPerRound: 2, localEpochs: null, batchSize: DEMO_FEDERATION.training.batchSize });
    expect(DEMO_FEDERATION.training.stepsPerRound).toBe(199);
    const bad = await fetch(`${t.url}/api/demo/runs`, { method: 'POST', headers: { authorization: `Bearer ${t.adminToken}`, 'content-type': 'application/json' }, body: JSON.stringify({ stepsPerRound: 0 }) });
    expect(bad.status).toBe(400);
  });
});

describe('FederationService.startDemoRun', () => {
  it('answers a request made while a run is being prepared with that run', async () => {
    const store = openSqliteStore(':memory:');
    const engine = new FederationEngine({ store, clock: systemClock, logger: silentLogger });
    let release = () => {};
    const gate = new Promise<void>((resolve) => { release = resolve; });
    const encoder = createSyntheticEncoder({ dim: 8 });
    const service = new FederationService({ engine, store, encoder: () => gate.then(() => encoder), logger: silentLogger, publicUrl: () => 'http://127.0.0.1:1' });
    const first = service.startDemoRun('admin');
    const second = service.startDemoRun('admin');
    release();
    const started = async (run: ReturnType<FederationService['startDemoRun']>) => {
      const outcome = await run;
      if (!outcome.ok) throw new Error(outcome.message);
      return outcome;
    };
    const [a, b] = await Promise.all([started(first), started(second)]);
    expect(a.record.id).toBe('demo-brain-tumor');
    expect(b.record.id).toBe('demo-brain-tumor');
    expect(store.listFederations()).toHaveLength(1);
    // Once it is ready, a new request is a new run.
    expect((await started(service.startDemoRun('admin'))).record.id).toBe('demo-brain-tumor-2');
    await engine.shutdown();
    store.close();
  });
});
