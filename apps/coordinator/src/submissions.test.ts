/**
 * The grouped submission path: updates checked in one turn of the event loop share one commit, each is acknowledged
 * after it, a round that closes in between refuses what it did not store, and a repeated submission waits for the
 * first one's commit.
 */
import { initialModuleState } from '@facmic/learning/plain';
import { encodeTensors, type ParsedSubmission } from '@facmic/protocol';
import { describe, expect, it } from 'vitest';
import { hashToken } from './auth.ts';
import { FakeClock } from './clock.ts';
import { FederationEngine } from './engine.ts';
import { newFederationFixture } from './federation-fixture.ts';
import { syntheticEncoderIdentity } from './features/synthetic-encoder.ts';
import { silentLogger } from './logger.ts';
import { openSqliteStore } from './store/sqlite-store.ts';

const DIM = 4;
const SITES = ['a', 'b', 'c'];

function submission(seed: number): ParsedSubmission {
  return {
    federationId: 'fed-1',
    round: 1,
    sampleCount: 10 + seed,
    weights: encodeTensors(initialModuleState('facmic', DIM, seed)).bytes,
    metrics: { trainLoss: null, steps: 1, trainSeconds: 0, globalModel: null, localModel: null },
  };
}

function setUp() {
  const store = openSqliteStore(':memory:');
  const engine = new FederationEngine({ store, clock: new FakeClock(), logger: silentLogger });
  engine.createFederation(newFederationFixture({ dim: DIM, quorum: SITES.length, rounds: 2 }));
  for (const name of SITES) {
    const id = `site-${name}`;
    engine.createSite({ id, federationId: 'fed-1', name, tokenHash: hashToken(`token-${name}`), virtual: false, actor: 'test' });
    engine.siteConnected(store.getSite(id)!, `s-${id}`, null);
    engine.siteReady(id, `s-${id}`, { encoderHash: syntheticEncoderIdentity(DIM).hash, trainSamples: 1, testSamples: 0 });
  }
  expect(store.getFederation('fed-1')?.status).toBe('training');
  return { store, engine };
}

describe('grouped submissions', () => {
  it('stores the updates of one turn in one transaction and acknowledges each after it', async () => {
    const { store, engine } = setUp();
    let transactions = 0;
    const transaction = store.transaction.bind(store);
    store.transaction = <T>(fn: () => T): T => {
      transactions += 1;
      return transaction(fn);
    };
    const pending = [engine.submitGrouped('site-a', 'fed-1', submission(1)), engine.submitGrouped('site-b', 'fed-1', submission(2))];
    // Not stored before the commit, so not acknowledged either.
    expect(store.listSubmitters('fed-1', 1)).toEqual([]);
    const outcomes = await Promise.all(pending);
    expect(outcomes).toMatchObject([{ ok: true, duplicate: false }, { ok: true, duplicate: false }]);
    expect(store.listSubmitters('fed-1', 1)).toEqual(['site-a', 'site-b']);
    expect(transactions).toBe(1);
  });

  it('refuses with ROUND_CLOSED what a round closed before storing, and stores nothing of it', async () => {
    const { store, engine } = setUp();
    const pending = engine.submitGrouped('site-a', 'fed-1', submission(1));
    expect(engine.stop('fed-1', 'admin').ok).toBe(true);
    expect(await pending).toMatchObject({ ok: false, code: 'ROUND_CLOSED' });
    expect(store.listSubmitters('fed-1', 1)).toEqual([]);
  });

  it('answers a repeated submission in the same turn as a duplicate of the first, stored once', async () => {
    const { store, engine } = setUp();
    const [first, again] = await Promise.all([engine.submitGrouped('site-a', 'fed-1', submission(1)), engine.submitGrouped('site-a', 'fed-1', submission(1))]);
    expect(first).toMatchObject({ ok: true, duplicate: false });
    expect(again).toMatchObject({ ok: true, duplicate: true });
    const other = await engine.submitGrouped('site-a', 'fed-1', submission(5));
    expect(other).toMatchObject({ ok: false, code: 'DUPLICATE_SUBMISSION' });
    expect(store.listSubmitters('fed-1', 1)).toEqual(['site-a']);
  });
});
