/** What the coordinator serves besides the round protocol: the web app, models, ORT files, headers, admin events. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ortWasmFiles } from '@facmic/encoder/node';
import { auditEntrySchema, coordinatorInfoSchema, federationSummarySchema, PROTOCOL_VERSION, siteSummarySchema } from '@facmic/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createSyntheticEncoder } from '../src/features/synthetic-encoder.ts';
import { api, apiParsed, createInvite, createTestFederation, rawAdminSocket, startTestCoordinator, tempDir, type TestCoordinator } from './helpers.ts';

describe('HTTP surface', () => {
  let t: TestCoordinator;
  const dir = tempDir();
  const ort = ortWasmFiles();

  beforeAll(async () => {
    const web = join(dir.path, 'web');
    mkdirSync(join(web, 'assets'), { recursive: true });
    writeFileSync(join(web, 'index.html'), '<!doctype html><title>facmic app</title>');
    writeFileSync(join(web, 'assets', 'app.js'), 'console.log(1)');
    const models = join(dir.path, 'models');
    mkdirSync(join(models, 'facmic-tiny-clip'), { recursive: true });
    writeFileSync(join(models, 'facmic-tiny-clip', 'config.json'), '{"model_type":"clip"}');
    t = await startTestCoordinator({ config: { webDir: web, modelsDir: models, ort } });
  });
  afterAll(async () => {
    await t.close();
    dir.remove();
  });

  it('serves the web app with SPA routes for /, /site and /admin', async () => {
    for (const path of ['/', '/site', '/site?f=demo&t=abc', '/admin', '/admin/federations/x']) {
      const response = await fetch(`${t.url}${path}`);
      expect(response.status, path).toBe(200);
      expect(await response.text()).toContain('facmic app');
    }
    const asset = await fetch(`${t.url}/assets/app.js`);
    expect(asset.status).toBe(200);
    expect((await fetch(`${t.url}/elsewhere`)).status).toBe(404);
  });

  it('sends a CSP that allows WebAssembly, workers and blob: URLs and nothing from elsewhere', async () => {
    const response = await fetch(`${t.url}/site`);
    const csp = response.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("script-src 'self' 'wasm-unsafe-eval'");
    expect(csp).toContain("worker-src 'self' blob:");
    expect(csp).toContain("default-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toContain('upgrade-insecure-requests');
    expect(csp).not.toMatch(/https?:\/\//);
    expect(response.headers.get('strict-transport-security')).toBeNull();
    expect(response.headers.get('x-powered-by')).toBeNull();
    expect(response.headers.get('cross-origin-opener-policy')).toBe('same-origin');
  });

  it('mirrors the models folder and ONNX Runtime wasm files', async () => {
    const config = await fetch(`${t.url}/models/facmic-tiny-clip/config.json`);
    expect(config.status).toBe(200);
    expect(await config.json()).toEqual({ model_type: 'clip' });
    expect((await fetch(`${t.url}/models/facmic-tiny-clip/missing.onnx`)).status).toBe(404);
    expect([403, 404]).toContain((await fetch(`${t.url}/models/..%2f..%2fetc/passwd`)).status);
    const wasmName = ort.files.find((f) => f.endsWith('.wasm'))!;
    const wasm = await fetch(`${t.url}/ort/${wasmName}`);
    expect(wasm.status).toBe(200);
    expect(wasm.headers.get('content-type')).toBe('application/wasm');
    expect((await fetch(`${t.url}/ort/package.json`)).status).toBe(404);
  });

  it('answers /healthz, /api/info (public) and /metrics in Prometheus text format', async () => {
    const health = await api(t.url, '/healthz');
    expect(health.body).toMatchObject({ ok: true });
    const info = await apiParsed(coordinatorInfoSchema, t.url, '/api/info');
    expect(info).toMatchObject({ protocolVersion: PROTOCOL_VERSION, encoder: { modelId: 'synthetic-16', featureDim: 16 }, demoFederationId: null });
    const metrics = await fetch(`${t.url}/metrics`);
    expect(metrics.headers.get('content-type')).toContain('text/plain');
    const text = await metrics.text();
    expect(text).toMatch(/^# HELP facmic_build_info/m);
    expect(text).toMatch(/^facmic_federations\{status="waiting"\} \d+$/m);
    expect(text).toMatch(/^facmic_sites_online 0$/m);
  });

  it('pushes live events to admin dashboards and serves the audit log', async () => {
    const admin = rawAdminSocket(t.url, t.adminToken);
    await new Promise<void>((resolve, reject) => {
      admin.once('connect', resolve);
      admin.once('connect_error', reject);
    });
    const updates: unknown[] = [];
    const audits: unknown[] = [];
    const sites: unknown[] = [];
    admin.on('federation:updated', (f: unknown) => updates.push(federationSummarySchema.parse(f)));
    admin.on('audit:appended', (e: unknown) => audits.push(auditEntrySchema.parse(e)));
    admin.on('site:updated', (s: unknown) => sites.push(siteSummarySchema.parse(s)));
    const detail = await createTestFederation(t, { globalTest: null });
    const invite = await createInvite(t, detail.config.id, 'Hospital A');
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(updates.length).toBeGreaterThan(0);
    expect(audits.map((a) => (a as { action: string }).action)).toEqual(expect.arrayContaining(['federation.created', 'invite.created']));
    expect(sites.map((s) => (s as { id: string }).id)).toContain(invite.site.id);

    const listed = (await admin.timeout(5000).emitWithAck('federation:list', {})) as { ok: boolean; federations: unknown[] };
    expect(listed.ok).toBe(true);
    expect(listed.federations.length).toBeGreaterThan(0);
    const got = (await admin.timeout(5000).emitWithAck('federation:get', { federationId: detail.config.id })) as { ok: boolean; sites: unknown[] };
    expect(got.ok).toBe(true);
    expect(got.sites).toHaveLength(1);
    admin.close();

    const audit = await apiParsed(z.object({ entries: z.array(auditEntrySchema) }), t.url, `/api/audit?federationId=${detail.config.id}&limit=10`, { token: t.adminToken });
    expect(audit.entries.map((e) => e.action)).toEqual(['invite.created', 'federation.created']);
  });

  it('downloads the global model of a round, and PATCH/pause/resume/stop/delete work from REST', async () => {
    const detail = await createTestFederation(t, { globalTest: null, rounds: 4 });
    const id = detail.config.id;
    const model = await fetch(`${t.url}/api/federations/${id}/models/0`, { headers: { authorization: `Bearer ${t.adminToken}` } });
    expect(model.status).toBe(200);
    expect(model.headers.get('content-disposition')).toContain(`${id}-round-0.fmst`);
    expect(new Uint8Array(await model.arrayBuffer()).subarray(0, 4)).toEqual(new TextEncoder().encode('FMST'));

    const patched = await api(t.url, `/api/federations/${id}`, { method: 'PATCH', token: t.adminToken, body: { quorum: 5, name: 'Renamed' } });
    expect(patched.body).toMatchObject({ summary: { name: 'Renamed', quorum: 5 } });
    expect((await api(t.url, `/api/federations/${id}/pause`, { method: 'POST', token: t.adminToken })).body).toMatchObject({ status: 'paused', pausedFrom: 'waiting' });
    expect((await api(t.url, `/api/federations/${id}/resume`, { method: 'POST', token: t.adminToken })).body).toMatchObject({ status: 'waiting' });
    expect((await api(t.url, `/api/federations/${id}/stop`, { method: 'POST', token: t.adminToken })).body).toMatchObject({ status: 'stopped' });
    expect((await api(t.url, `/api/federations/${id}`, { method: 'DELETE', token: t.adminToken })).status).toBe(204);
    expect((await api(t.url, `/api/federations/${id}`, { token: t.adminToken })).status).toBe(404);
  });
});

describe('an encoder that fails', () => {
  let t: TestCoordinator;
  beforeAll(async () => {
    const working = createSyntheticEncoder({ dim: 8 });
    const broken = Object.assign(Object.create(working) as typeof working, {
      encodeTexts: () => Promise.reject(new Error('the model file is damaged')),
    });
    t = await startTestCoordinator({ encoder: broken, dim: 8 });
  });
  afterAll(async () => {
    await t.close();
  });

  it('answers a new federation with 503 ENCODER_UNAVAILABLE and the reason, and stores nothing', async () => {
    const before = t.store.snapshot();
    const { status, body } = await api(t.url, '/api/federations', { method: 'POST', token: t.adminToken, body: { name: 'x', classNames: ['a', 'b'] } });
    expect(status).toBe(503);
    expect(body).toMatchObject({ ok: false, code: 'ENCODER_UNAVAILABLE' });
    expect((body as { message: string }).message).toContain('the model file is damaged');
    expect(t.store.snapshot()).toEqual(before);
  });
});
