/**
 * Updates are aggregated as they arrive, and the stored submissions stay the source of truth: a coordinator that
 * restarts mid-round rebuilds the running sum from the store and publishes the same bits as one that did not.
 */
import { AGGREGATION_STRATEGIES, initialModuleState } from '@facmic/learning/plain';
import { decodeTensors, encodeTensors, type ParsedSubmission } from '@facmic/protocol';
import { describe, expect, it } from 'vitest';
import { hashToken } from './auth.ts';
import { FakeClock } from './clock.ts';
import { FederationEngine } from './engine.ts';
import { newFederationFixture } from './federation-fixture.ts';
import { syntheticEncoderIdentity } from './features/synthetic-encoder.ts';
import { silentLogger } from './logger.ts';
import { RoundIngest } from './round-ingest.ts';
import { openSqliteStore } from './store/sqlite-store.ts';
import type { CoordinatorStore } from './store/store.ts';
import { moduleSpecOf } from './submission-check.ts';

const DIM = 6;
const SITES = ['a', 'b', 'c', 'd'];
const SAMPLES = [7, 30, 12, 5];

function perturbed(seed: number) {
  const state = initialModuleState('facmic', DIM, 1);
  let s = seed;
  for (const [name, tensor] of Object.entries(state)) {
    if (name.endsWith('num_batches_tracked')) {
      tensor.data[0] = seed;
      continue;
    }
    for (let i = 0; i < tensor.data.length; i++) {
      s = (Math.imul(s, 1664525) + 1013904223) | 0;
      tensor.data[i] = (tensor.data[i] as number) + (s / 2 ** 31) * 0.1;
    }
  }
  return state;
}

function submission(siteIndex: number, dtype: 'float32' | 'float16'): ParsedSubmission {
  return {
    federationId: 'fed-1',
    round: 1,
    sampleCount: SAMPLES[siteIndex] as number,
    weights: encodeTensors(perturbed(siteIndex + 2), { dtype, float32Names: ['1.num_batches_tracked'] }).bytes,
    metrics: { trainLoss: null, steps: 1, trainSeconds: 0, globalModel: null, localModel: null },
  };
}

function setUp(store: CoordinatorStore, clock: FakeClock): FederationEngine {
  const engine = new FederationEngine({ store, clock, logger: silentLogger });
  engine.createFederation(newFederationFixture({ dim: DIM, quorum: SITES.length, rounds: 2 }));
  for (const name of SITES) engine.createSite({ id: `site-${name}`, federationId: 'fed-1', name, tokenHash: hashToken(`token-${name}`), virtual: false, actor: 'test' });
  return engine;
}

function connectAll(engine: FederationEngine, store: CoordinatorStore, session: string): void {
  for (const name of SITES) {
    const id = `site-${name}`;
    engine.siteConnected(store.getSite(id)!, `${session}-${id}`, null);
    expect(engine.siteReady(id, `${session}-${id}`, { encoderHash: syntheticEncoderIdentity(DIM).hash, trainSamples: 1, testSamples: 0 }).ok).toBe(true);
  }
}

const flush = () => new Promise((resolve) => setTimeout(resolve, 0));

/** Runs round 1 with every site submitting; with `restartAfter`, the coordinator restarts after that many submissions. */
async function publishedModel(dtype: 'float32' | 'float16', restartAfter: number | null): Promise<Uint8Array> {
  const store = openSqliteStore(':memory:');
  const clock = new FakeClock();
  let engine = setUp(store, clock);
  connectAll(engine, store, 'first');
  for (const [k, name] of SITES.entries()) {
    if (k === restartAfter) {
      await engine.shutdown();
      engine = new FederationEngine({ store, clock, logger: silentLogger });
      engine.recover();
      connectAll(engine, store, 'second');
    }
    expect(engine.submit(`site-${name}`, 'fed-1', submission(k, dtype))).toMatchObject({ ok: true, duplicate: false });
  }
  await flush();
  expect(store.getRound('fed-1', 1)?.status).toBe('published');
  const model = store.getGlobalModel('fed-1', 1);
  await engine.shutdown();
  store.close();
  return model!.weights;
}

describe('the running aggregate', () => {
  it.each(['float32', 'float16'] as const)('publishes the same bits after a restart mid-round as without one (%s updates)', async (dtype) => {
    const straight = await publishedModel(dtype, null);
    for (const restartAfter of [1, 2, 3]) expect(Buffer.compare(Buffer.from(await publishedModel(dtype, restartAfter)), Buffer.from(straight))).toBe(0);
    // ... and they are FedAvg's bits over the decoded updates, the counter from the first update.
    const expected = AGGREGATION_STRATEGIES.fedavg().aggregateTrain(SITES.map((_, k) => ({ state: decodeTensors(submission(k, dtype).weights).tensors, numSamples: SAMPLES[k] as number })));
    expect(Buffer.compare(Buffer.from(encodeTensors(expected).bytes), Buffer.from(straight))).toBe(0);
    expect(decodeTensors(straight).tensors['1.num_batches_tracked']!.data[0]).toBe(2);
  });

  it('holds exactly the stored submissions at the close: a lost add is rebuilt from the store', () => {
    const store = openSqliteStore(':memory:');
    const clock = new FakeClock();
    const engine = setUp(store, clock);
    connectAll(engine, store, 's');
    for (const [k, name] of SITES.slice(0, 2).entries()) engine.submit(`site-${name}`, 'fed-1', submission(k, 'float32'));
    const federation = store.getFederation('fed-1')!;
    const spec = moduleSpecOf(federation);
    const reference = new RoundIngest(store, AGGREGATION_STRATEGIES.fedavg());
    reference.rebuild('fed-1', 1, spec);
    const full = reference.finish('fed-1', 1, spec);
    expect(full.contributors).toEqual(['site-a', 'site-b']);
    expect(full.totalSamples).toBe(SAMPLES[0]! + SAMPLES[1]!);

    const partial = new RoundIngest(store, AGGREGATION_STRATEGIES.fedavg());
    partial.add('fed-1', 1, { siteId: 'site-a', sampleCount: SAMPLES[0]!, state: decodeTensors(submission(0, 'float32').weights).tensors });
    expect(partial.contributors('fed-1', 1)).toEqual(['site-a']);
    const rebuilt = partial.finish('fed-1', 1, spec);
    expect(rebuilt.contributors).toEqual(['site-a', 'site-b']);
    expect(encodeTensors(rebuilt.state).checksum).toBe(encodeTensors(full.state).checksum);
    expect(partial.contributors('fed-1', 1)).toEqual([]);
    void engine.shutdown();
    store.close();
  });

  it('rebuilds after a restart in slices, without blocking: updates accepted meanwhile join after the stored ones', async () => {
    const store = openSqliteStore(':memory:');
    const clock = new FakeClock();
    const engine = setUp(store, clock);
    connectAll(engine, store, 's');
    for (const [k, name] of SITES.slice(0, 2).entries()) engine.submit(`site-${name}`, 'fed-1', submission(k, 'float32'));
    const spec = moduleSpecOf(store.getFederation('fed-1')!);
    const ingest = new RoundIngest(store, AGGREGATION_STRATEGIES.fedavg());
    const rebuilt = ingest.rebuildInSlices('fed-1', 1, spec);
    // Nothing decoded yet: the call returned at once.
    expect(ingest.rebuildsUnderWay()).toBe(1);
    expect(ingest.contributors('fed-1', 1)).toEqual([]);
    // An update accepted while the rebuild runs waits for it.
    engine.submit('site-c', 'fed-1', submission(2, 'float32'));
    ingest.add('fed-1', 1, { siteId: 'site-c', sampleCount: SAMPLES[2]!, state: decodeTensors(submission(2, 'float32').weights).tensors });
    expect(ingest.contributors('fed-1', 1)).toEqual([]);
    await rebuilt;
    expect(ingest.rebuildsUnderWay()).toBe(0);
    expect(ingest.contributors('fed-1', 1)).toEqual(['site-a', 'site-b', 'site-c']);
    const reference = new RoundIngest(store, AGGREGATION_STRATEGIES.fedavg());
    reference.rebuild('fed-1', 1, spec);
    expect(encodeTensors(ingest.finish('fed-1', 1, spec).state).checksum).toBe(encodeTensors(reference.finish('fed-1', 1, spec).state).checksum);
    await engine.shutdown();
    store.close();
  });
});
