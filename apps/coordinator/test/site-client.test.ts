/** `@facmic/site` against the real coordinator: refusals end `run()` with a clear code; stop is clean. */
import { createSiteClient, SiteError, type SiteClientOptions } from '@facmic/site';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initTfBackend } from '../src/tf-backend.ts';
import { api, createInvite, createTestFederation, startSite, startTestCoordinator, TEST_DIM, waitFor, type TestCoordinator } from './helpers.ts';

const connection = { transports: ['websocket' as const], reconnectionDelayMs: 50, reconnectionDelayMaxMs: 200 };

async function failure(promise: Promise<unknown>): Promise<SiteError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof SiteError) return error;
    throw error;
  }
  throw new Error('run() resolved');
}

describe('site client', () => {
  let t: TestCoordinator;
  let federationId: string;
  const base = (token: string): SiteClientOptions => ({
    coordinatorUrl: t.url,
    federationId,
    token,
    encoder: { modelId: t.encoder.identity.modelId, hash: t.encoder.identity.hash },
    loadData: () => Promise.resolve({ train: { dim: TEST_DIM, features: new Float32Array(4 * TEST_DIM).fill(0.1), labels: Int32Array.of(0, 1, 2, 3) }, test: null }),
    connection,
  });

  beforeAll(async () => {
    await initTfBackend('cpu');
    t = await startTestCoordinator();
    federationId = (await createTestFederation(t, { quorum: 5, globalTest: null })).config.id;
  });
  afterAll(async () => {
    await t.close();
  });

  it('refuses to take part when its encoder differs, saying which models differ', async () => {
    const invite = await createInvite(t, federationId, 'Other encoder');
    let loaded = false;
    const site = createSiteClient({
      ...base(invite.token),
      encoder: { modelId: 'clip-vit-large', hash: 'f'.repeat(64) },
      loadData: () => {
        loaded = true;
        return Promise.reject(new Error('must not be called'));
      },
    });
    const error = await failure(site.run());
    expect(error.code).toBe('ENCODER_MISMATCH');
    expect(error.message).toContain('clip-vit-large');
    expect(error.message).toContain(t.encoder.identity.modelId);
    expect(loaded).toBe(false);
  });

  it('stops with BAD_TOKEN on a wrong token (no endless retries)', async () => {
    const error = await failure(createSiteClient(base('this-is-not-a-valid-token-at-all')).run());
    expect(error.code).toBe('BAD_TOKEN');
  });

  it('rejects local data that does not fit the federation', async () => {
    const invite = await createInvite(t, federationId, 'Wrong data');
    const site = createSiteClient({
      ...base(invite.token),
      loadData: () => Promise.resolve({ train: { dim: 8, features: new Float32Array(16), labels: Int32Array.of(0, 1) }, test: null }),
    });
    const error = await failure(site.run());
    expect(error.code).toBe('LOCAL_DATA_INVALID');
    expect(error.message).toContain('dimension 8');
  });

  it('reports its phase to the dashboard, is replaced by a newer session, and is stopped by revocation', async () => {
    const invite = await createInvite(t, federationId, 'Hospital R');
    const first = createSiteClient(base(invite.token));
    const firstRun = failure(first.run());
    await waitFor(() => t.coordinator.engine.views.siteSummary(t.store.getSite(invite.site.id)!).ready);
    await waitFor(() => t.coordinator.engine.views.siteSummary(t.store.getSite(invite.site.id)!).phase === 'waiting');

    const second = createSiteClient(base(invite.token));
    const secondRun = failure(second.run());
    expect((await firstRun).code).toBe('SESSION_REPLACED');
    await waitFor(() => second.currentStatus.phase === 'waiting');

    const revoked = await api(t.url, `/api/federations/${federationId}/invites/${invite.site.id}`, { method: 'DELETE', token: t.adminToken });
    expect(revoked.status).toBe(200);
    expect((await secondRun).code).toBe('TOKEN_REVOKED');
  });

  it('stop() ends run() with "aborted" and disconnects', async () => {
    const invite = await createInvite(t, federationId, 'Hospital S');
    const site = startSite(t.url, federationId, invite.token, { name: 'stop-me', encoder: t.encoder, trainPerClass: 2 });
    const run = site.run();
    await waitFor(() => site.currentStatus.phase === 'waiting');
    site.stop();
    expect(await run).toEqual({ reason: 'aborted', roundsSubmitted: [] });
    await waitFor(() => !t.coordinator.engine.views.siteSummary(t.store.getSite(invite.site.id)!).online);
  });

  it('retries a round whose model download was cut by a dropped connection', async () => {
    const other = await createTestFederation(t, { quorum: 1, rounds: 3, globalTest: null });
    const invite = await createInvite(t, other.config.id, 'Flaky hospital');
    const site = startSite(t.url, other.config.id, invite.token, { name: 'flaky', encoder: t.encoder, trainPerClass: 2 });
    let cut = false;
    let lost = 0;
    site.on('status', (s) => {
      if (s.phase === 'downloading' && s.round === 2 && !cut) {
        cut = true;
        t.coordinator.io.of('/site').disconnectSockets(true);
      }
    });
    site.on('error', (e) => { if (e.code === 'CONNECTION_LOST') lost++; });
    const result = await site.run();
    expect(cut).toBe(true);
    expect(lost).toBeGreaterThan(0);
    expect(result).toEqual({ reason: 'finished', roundsSubmitted: [1, 2, 3] });
  });
});
