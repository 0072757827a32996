/** The round state machine with a fake clock and an in-memory store: quorum, deadlines, late/stale/duplicate input. */
import { initialModuleState } from '@facmic/learning';
import { encodeTensors, type ParsedSubmission } from '@facmic/protocol';
import { beforeEach, describe, expect, it } from 'vitest';
import { hashToken } from './auth.ts';
import { FakeClock } from './clock.ts';
import { FederationEngine } from './engine.ts';
import { newFederationFixture } from './federation-fixture.ts';
import { syntheticEncoderIdentity } from './features/synthetic-encoder.ts';
import { silentLogger } from './logger.ts';
import { openSqliteStore } from './store/sqlite-store.ts';
import type { CoordinatorStore, SiteRecord } from './store/store.ts';

const DIM = 4;
const DEADLINE_S = 60;

function makeEngine(store: CoordinatorStore, clock: FakeClock, reconnectGraceMs = 5_000): FederationEngine {
  return new FederationEngine({ store, clock, logger: silentLogger, reconnectGraceMs });
}

function createFederation(engine: FederationEngine, quorum: number, rounds = 3, minRoundSeconds = 0): string {
  engine.createFederation(newFederationFixture({ dim: DIM, quorum, rounds, roundDeadlineSeconds: DEADLINE_S, minRoundSeconds }));
  return 'fed-1';
}

function weights(seed: number): Uint8Array {
  return encodeTensors(initialModuleState('facmic', DIM, seed)).bytes;
}

function submission(round: number, seed: number, sampleCount = 10): ParsedSubmission {
  return {
    federationId: 'fed-1',
    round,
    sampleCount,
    weights: weights(seed),
    metrics: { trainLoss: null, steps: 1, trainSeconds: 0, globalModel: null, localModel: null },
  };
}

const flush = () => new Promise((resolve) => setTimeout(resolve, 0));

/** A refusal (the engine returns refusals, it does not throw them) whose message matches. */
const refusal = (message?: RegExp) => ({ ok: false, ...(message ? { message: expect.stringMatching(message) as unknown } : {}) });

describe('FederationEngine', () => {
  let store: CoordinatorStore;
  let clock: FakeClock;
  let engine: FederationEngine;
  let sessions: Map<string, string>;

  const addSite = (name: string): SiteRecord => {
    const created = engine.createSite({ id: `site-${name}`, federationId: 'fed-1', name, tokenHash: hashToken(`token-${name}`), virtual: false, actor: 'test' });
    if (!created.ok) throw new Error(created.message);
    return created.site;
  };
  const connect = (site: SiteRecord, ready = true) => {
    const session = `${site.id}-${clock.now()}-${Math.random()}`;
    sessions.set(site.id, session);
    engine.siteConnected(store.getSite(site.id)!, session, null);
    if (ready) expect(engine.siteReady(site.id, session, { encoderHash: syntheticEncoderIdentity(DIM).hash, trainSamples: 10, testSamples: 2 }).ok).toBe(true);
  };
  const disconnect = (site: SiteRecord) => { engine.siteDisconnected(site.id, sessions.get(site.id)!); };
  const submit = (site: SiteRecord, round: number, seed: number, sampleCount = 10) => engine.submit(site.id, 'fed-1', submission(round, seed, sampleCount));
  const federation = () => store.getFederation('fed-1')!;

  beforeEach(() => {
    store = openSqliteStore(':memory:');
    clock = new FakeClock();
    engine = makeEngine(store, clock);
    sessions = new Map();
  });

  it('starts a round at quorum with the ready sites; a site joining mid-round trains from the next one', async () => {
    createFederation(engine, 2);
    const [a, b, c] = ['a', 'b', 'c'].map(addSite) as [SiteRecord, SiteRecord, SiteRecord];
    connect(a);
    expect(federation().status).toBe('waiting');
    connect(b);
    expect(federation()).toMatchObject({ status: 'training', round: 1, deadline: clock.now() + DEADLINE_S * 1000 });
    expect(store.getRound('fed-1', 1)?.participants).toEqual(['site-a', 'site-b']);

    connect(c);
    expect(engine.roundUpdateFor(c.id)).toMatchObject({ round: 1, participating: false, latestModelRound: 0 });
    expect(submit(c, 1, 3)).toMatchObject({ ok: false, code: 'NOT_A_PARTICIPANT' });
    expect(submit(a, 1, 1)).toMatchObject({ ok: true, duplicate: false });
    expect(submit(b, 1, 2, 30)).toMatchObject({ ok: true });
    await flush();
    expect(store.getRound('fed-1', 1)?.status).toBe('published');
    expect(store.getGlobalModel('fed-1', 1)?.totalSamples).toBe(40);
    expect(federation()).toMatchObject({ status: 'training', round: 2 });
    expect(store.getRound('fed-1', 2)?.participants).toEqual(['site-a', 'site-b', 'site-c']);
    expect(engine.roundUpdateFor(c.id)).toMatchObject({ round: 2, participating: true, submitted: false, latestModelRound: 1 });
  });

  it('aggregates at the deadline without a site that dropped, when quorum holds; its late submission is refused', async () => {
    createFederation(engine, 2);
    const [a, b, c] = ['a', 'b', 'c'].map(addSite) as [SiteRecord, SiteRecord, SiteRecord];
    connect(a);
    connect(b);
    connect(c);
    // Quorum 2: round 1 started with a and b; c, ready later, takes part from round 2.
    expect(submit(a, 1, 1)).toMatchObject({ ok: true });
    expect(submit(b, 1, 2)).toMatchObject({ ok: true });
    await flush();
    expect(federation().round).toBe(2);
    expect(store.getRound('fed-1', 2)?.participants).toHaveLength(3);

    expect(submit(a, 2, 4)).toMatchObject({ ok: true });
    expect(submit(b, 2, 5)).toMatchObject({ ok: true });
    disconnect(c);
    await flush();
    expect(federation()).toMatchObject({ status: 'training', round: 2 }); // c may still come back before the deadline
    clock.advance(DEADLINE_S * 1000 - 1);
    expect(federation().status).toBe('training');
    clock.advance(1);
    expect(store.getRound('fed-1', 2)?.status).toBe('published');
    expect(store.listGlobalModels('fed-1').find((m) => m.round === 2)?.contributors).toEqual(['site-a', 'site-b']);
    // Round 3 started with a and b (c is offline).
    expect(store.getRound('fed-1', 3)?.participants).toEqual(['site-a', 'site-b']);
    connect(c);
    expect(submit(c, 2, 6)).toMatchObject({ ok: false, code: 'STALE_ROUND' });
    expect(engine.roundUpdateFor(c.id)).toMatchObject({ round: 3, participating: false });
  });

  it('refuses a submission for a round that closed when no next round started (late)', async () => {
    createFederation(engine, 1, 3);
    const [a, b] = ['a', 'b'].map(addSite) as [SiteRecord, SiteRecord];
    connect(a);
    connect(b);
    // quorum 1: a alone started round 1; b became ready after
    expect(store.getRound('fed-1', 1)?.participants).toEqual(['site-a']);
    expect(submit(a, 1, 1)).toMatchObject({ ok: true });
    disconnect(a);
    disconnect(b);
    await flush();
    // Published, and nobody is ready for round 2.
    expect(federation()).toMatchObject({ status: 'waiting', round: 1 });
    connect(b, false);
    expect(submit(b, 1, 2)).toMatchObject({ ok: false, code: 'ROUND_CLOSED' });
    expect(submit(b, 2, 2)).toMatchObject({ ok: false, code: 'WRONG_ROUND' });
    expect(submit(a, 1, 9)).toMatchObject({ ok: false, code: 'DUPLICATE_SUBMISSION' });
    expect(submit(a, 1, 1)).toMatchObject({ ok: true, duplicate: true });
  });

  it('keeps a paced round open until its shortest length even when every update is in', async () => {
    createFederation(engine, 2, 3, 6);
    const [a, b] = ['a', 'b'].map(addSite) as [SiteRecord, SiteRecord];
    connect(a);
    connect(b);
    clock.advance(1_000);
    expect(submit(a, 1, 1)).toMatchObject({ ok: true });
    expect(submit(b, 1, 2)).toMatchObject({ ok: true });
    await flush();
    expect(federation()).toMatchObject({ status: 'training', round: 1 });
    clock.advance(4_999);
    expect(federation()).toMatchObject({ status: 'training', round: 1 });
    clock.advance(1);
    expect(store.getRound('fed-1', 1)?.status).toBe('published');
    expect(store.getRound('fed-1', 1)?.closedAt).toBe(store.getRound('fed-1', 1)!.startedAt + 6_000);
    // Round 2 is paced from its own start; an admin may drop the pace, which closes a round that waits for it.
    expect(federation()).toMatchObject({ status: 'training', round: 2 });
    expect(submit(a, 2, 3)).toMatchObject({ ok: true });
    expect(submit(b, 2, 4)).toMatchObject({ ok: true });
    await flush();
    expect(federation().round).toBe(2);
    engine.updateSettings('fed-1', { minRoundSeconds: 0 }, 'admin');
    expect(store.getRound('fed-1', 2)?.status).toBe('published');
    expect(engine.updateSettings('fed-1', { minRoundSeconds: DEADLINE_S }, 'admin')).toMatchObject(refusal(/shorter than the round deadline/));
    expect(engine.updateSettings('fed-1', { roundDeadlineSeconds: 5, minRoundSeconds: 5 }, 'admin')).toMatchObject(refusal(/shorter than the round deadline/));
  });

  it('a paced round paused while it waits closes after resume, at its shortest length', async () => {
    createFederation(engine, 2, 3, 6);
    const [a, b] = ['a', 'b'].map(addSite) as [SiteRecord, SiteRecord];
    connect(a);
    connect(b);
    expect(submit(a, 1, 1)).toMatchObject({ ok: true });
    expect(submit(b, 1, 2)).toMatchObject({ ok: true });
    await flush();
    engine.pause('fed-1', 'admin');
    clock.advance(10_000);
    expect(federation()).toMatchObject({ status: 'paused', round: 1 });
    engine.resume('fed-1', 'admin');
    expect(store.getRound('fed-1', 1)?.status).toBe('published');
  });

  it('extends a round below quorum at the deadline and opens it to sites that became ready', async () => {
    createFederation(engine, 2);
    const [a, b, c] = ['a', 'b', 'c'].map(addSite) as [SiteRecord, SiteRecord, SiteRecord];
    connect(a);
    connect(b);
    expect(submit(a, 1, 1)).toMatchObject({ ok: true });
    disconnect(b);
    connect(c);
    clock.advance(DEADLINE_S * 1000);
    const round = store.getRound('fed-1', 1)!;
    expect(round).toMatchObject({ status: 'training', extensions: 1, participants: ['site-a', 'site-b', 'site-c'] });
    expect(federation().deadline).toBe(clock.now() + DEADLINE_S * 1000);
    expect(store.listAudit({ federationId: 'fed-1', limit: 10 }).map((e) => e.action)).toContain('round.extended');
    expect(engine.roundUpdateFor(c.id)).toMatchObject({ participating: true });

    expect(submit(c, 1, 3)).toMatchObject({ ok: true });
    await flush();
    // b (a participant) might still come back: wait for the deadline.
    expect(federation().status).toBe('training');
    clock.advance(DEADLINE_S * 1000);
    expect(store.listGlobalModels('fed-1').find((m) => m.round === 1)?.contributors).toEqual(['site-a', 'site-c']);
  });

  it('pause freezes the deadline and keeps accepting submissions; resume restores the time left', async () => {
    createFederation(engine, 2);
    const [a, b] = ['a', 'b'].map(addSite) as [SiteRecord, SiteRecord];
    connect(a);
    connect(b);
    clock.advance(10_000);
    engine.pause('fed-1', 'admin');
    expect(federation()).toMatchObject({ status: 'paused', pausedFrom: 'training', deadline: null, pausedRemainingMs: 50_000 });
    expect(engine.roundUpdateFor(a.id)).toMatchObject({ status: 'paused', participating: true });
    clock.advance(600_000);
    expect(store.getRound('fed-1', 1)?.extensions).toBe(0);
    expect(submit(a, 1, 1)).toMatchObject({ ok: true });
    engine.resume('fed-1', 'admin');
    expect(federation()).toMatchObject({ status: 'training', deadline: clock.now() + 50_000 });
    clock.advance(49_999);
    expect(store.getRound('fed-1', 1)?.extensions).toBe(0);
    clock.advance(1);
    expect(store.getRound('fed-1', 1)?.extensions).toBe(1);

    expect(submit(b, 1, 2)).toMatchObject({ ok: true });
    engine.pause('fed-1', 'admin');
    await flush();
    expect(federation().status).toBe('paused');
    engine.resume('fed-1', 'admin');
    await flush();
    expect(store.getRound('fed-1', 1)?.status).toBe('published');
  });

  it('stop abandons the open round; nothing is accepted afterwards', () => {
    createFederation(engine, 1);
    const a = addSite('a');
    connect(a);
    engine.stop('fed-1', 'admin');
    expect(store.getRound('fed-1', 1)?.status).toBe('abandoned');
    expect(engine.roundUpdateFor(a.id)).toMatchObject({ status: 'stopped' });
    expect(submit(a, 1, 1)).toMatchObject({ ok: false, code: 'FEDERATION_STOPPED' });
    expect(engine.resume('fed-1', 'admin')).toMatchObject(refusal(/cannot be resumed/));
    expect(engine.pause('fed-1', 'admin')).toMatchObject(refusal(/cannot be paused/));
  });

  it('acknowledges a resent submission idempotently and refuses different weights for the same round', () => {
    createFederation(engine, 2);
    const [a, b] = ['a', 'b'].map(addSite) as [SiteRecord, SiteRecord];
    connect(a);
    connect(b);
    const first = submit(a, 1, 1);
    expect(first).toMatchObject({ ok: true, duplicate: false });
    const before = store.snapshot();
    expect(submit(a, 1, 1)).toMatchObject({ ok: true, duplicate: true, checksum: first.ok ? first.checksum : '' });
    expect(submit(a, 1, 2)).toMatchObject({ ok: false, code: 'DUPLICATE_SUBMISSION' });
    expect(store.snapshot()).toEqual(before);
  });

  it('a site that reconnects gets the current round and keeps its submitted flag; a newer session replaces the old', () => {
    createFederation(engine, 2);
    const [a, b] = ['a', 'b'].map(addSite) as [SiteRecord, SiteRecord];
    connect(a);
    connect(b);
    submit(a, 1, 1);
    const oldSession = sessions.get(a.id)!;
    const replaced = engine.siteConnected(store.getSite(a.id)!, 'new-session', null);
    expect(replaced).toBe(oldSession);
    expect(engine.isCurrentSession(a.id, oldSession)).toBe(false);
    engine.siteDisconnected(a.id, oldSession); // the old socket's disconnect must not mark the new one offline
    expect(engine.isCurrentSession(a.id, 'new-session')).toBe(true);
    expect(engine.roundUpdateFor(a.id)).toMatchObject({ round: 1, participating: true, submitted: true });
  });

  it('revoking a participant closes the round when everyone else has submitted', async () => {
    createFederation(engine, 2);
    const [a, b, c] = ['a', 'b', 'c'].map(addSite) as [SiteRecord, SiteRecord, SiteRecord];
    connect(a);
    connect(b);
    connect(c);
    submit(a, 1, 1);
    submit(b, 1, 2);
    await flush();
    expect(federation().round).toBe(2);
    submit(a, 2, 3);
    submit(b, 2, 4);
    await flush();
    expect(federation()).toMatchObject({ status: 'training', round: 2 });
    engine.revokeSite('fed-1', c.id, 'admin');
    expect(store.getRound('fed-1', 2)?.status).toBe('published');
  });

  it('after a restart: an open round whose deadline passed gets a grace period; an interrupted aggregation is redone', async () => {
    createFederation(engine, 2);
    const [a, b] = ['a', 'b'].map(addSite) as [SiteRecord, SiteRecord];
    connect(a);
    connect(b);
    submit(a, 1, 1);
    await engine.shutdown();

    clock.advance(DEADLINE_S * 1000 * 3);
    const restarted = makeEngine(store, clock, 5_000);
    restarted.recover();
    expect(federation().deadline).toBe(clock.now() + 5_000);
    expect(store.getRound('fed-1', 1)?.status).toBe('training');

    // Simulate a crash between "aggregating" and "published".
    restarted.siteConnected(store.getSite(b.id)!, 'sb', null);
    restarted.siteReady(b.id, 'sb', { encoderHash: syntheticEncoderIdentity(DIM).hash, trainSamples: 1, testSamples: 0 });
    expect(restarted.submit(b.id, 'fed-1', submission(1, 2))).toMatchObject({ ok: true });
    await restarted.shutdown(); // stops before the queued close runs
    store.updateFederationState('fed-1', { ...federation(), status: 'aggregating', deadline: null }, clock.now());
    store.updateRound('fed-1', 1, { status: 'aggregating' });
    const again = makeEngine(store, clock);
    again.recover();
    expect(store.getRound('fed-1', 1)?.status).toBe('published');
    expect(store.listGlobalModels('fed-1').find((m) => m.round === 1)?.contributors).toEqual(['site-a', 'site-b']);
    expect(federation()).toMatchObject({ status: 'waiting', round: 1 });
  });

  it('finishes after the last round; settings can change while running but not after', async () => {
    createFederation(engine, 1, 1);
    const a = addSite('a');
    connect(a);
    expect(engine.updateSettings('fed-1', { rounds: 0 }, 'admin')).toMatchObject(refusal());
    engine.updateSettings('fed-1', { rounds: 2, name: 'renamed' }, 'admin');
    submit(a, 1, 1);
    await flush();
    expect(federation()).toMatchObject({ status: 'training', round: 2 });
    submit(a, 2, 2);
    await flush();
    expect(federation()).toMatchObject({ status: 'finished', round: 2 });
    expect(engine.updateSettings('fed-1', { rounds: 5 }, 'admin')).toMatchObject(refusal(/finished/));
    expect(submit(a, 2, 3)).toMatchObject({ ok: false, code: 'DUPLICATE_SUBMISSION' });
    expect(submit(a, 3, 3)).toMatchObject({ ok: false, code: 'FEDERATION_FINISHED' });
    expect(store.getSetting('x')).toBeNull();
  });
});
