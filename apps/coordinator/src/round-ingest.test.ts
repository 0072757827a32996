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
import { RoundIngest, type RemoteSum, type RoundAggregate } from './round-ingest.ts';
import { openSqliteStore } from './store/sqlite-store.ts';
import type { CoordinatorStore } from './store/store.ts';
import { moduleSpecOf } from './submission-check.ts';

/** `finish` where the sum is kept on this thread: never 'pending'. */
function finishHere(ingest: RoundIngest, federationId: string, round: number, spec: ReturnType<typeof moduleSpecOf>): RoundAggregate {
  const aggregate = ingest.finish(federationId, round, spec);
  if (aggregate === 'pending') throw new Error('finish waits for a worker sum');
  return aggregate;
}

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
    const full = finishHere(reference, 'fed-1', 1, spec);
    expect(full.contributors).toEqual(['site-a', 'site-b']);
    expect(full.totalSamples).toBe(SAMPLES[0]! + SAMPLES[1]!);

    const partial = new RoundIngest(store, AGGREGATION_STRATEGIES.fedavg());
    partial.add('fed-1', 1, { siteId: 'site-a', sampleCount: SAMPLES[0]!, state: decodeTensors(submission(0, 'float32').weights).tensors });
    expect(partial.contributors('fed-1', 1)).toEqual(['site-a']);
    const rebuilt = finishHere(partial, 'fed-1', 1, spec);
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
    expect(encodeTensors(finishHere(ingest, 'fed-1', 1, spec).state).checksum).toBe(encodeTensors(finishHere(reference, 'fed-1', 1, spec).state).checksum);
    await engine.shutdown();
    store.close();
  });
  describe('with the sum kept in the submission worker', () => {
    /** Two stored float32 updates (sites a, b), a fake worker answering `take` with `answer`, and the reference sum. */
    function withRemote(answer: (reference: RoundAggregate) => Promise<RemoteSum | null>) {
      const store = openSqliteStore(':memory:');
      const engine = setUp(store, new FakeClock());
      connectAll(engine, store, 's');
      for (const [k, name] of SITES.slice(0, 2).entries()) engine.submit(`site-${name}`, 'fed-1', submission(k, 'float32'));
      const spec = moduleSpecOf(store.getFederation('fed-1')!);
      const referenceIngest = new RoundIngest(store, AGGREGATION_STRATEGIES.fedavg());
      referenceIngest.rebuild('fed-1', 1, spec);
      const reference = finishHere(referenceIngest, 'fed-1', 1, spec);
      const ingest = new RoundIngest(store, AGGREGATION_STRATEGIES.fedavg());
      const calls = { take: 0, forget: 0, ready: 0 };
      ingest.remote = {
        usable: true,
        take: () => { calls.take += 1; return answer(reference); },
        forget: () => { calls.forget += 1; },
      };
      let ready: () => void = () => undefined;
      const called = new Promise<void>((resolve) => { ready = resolve; });
      ingest.onRemoteSum = () => { calls.ready += 1; ready(); };
      const cleanup = async () => { await engine.shutdown(); store.close(); };
      return { store, spec, ingest, reference, calls, called, cleanup };
    }
    const remoteAdds = (ingest: RoundIngest, sites: readonly string[]) => {
      for (const [k, name] of sites.entries()) ingest.add('fed-1', 1, { siteId: `site-${name}`, sampleCount: SAMPLES[k]!, state: null });
    };

    it('waits for the worker\'s sum, then publishes it when its contributors are the stored submissions', async () => {
      // A marker value, so that the test sees the worker's state was used rather than a rebuild.
      const { ingest, spec, reference, calls, called, cleanup } = withRemote((ref) => Promise.resolve({ ...ref, state: { ...ref.state, marker: { shape: [1], data: new Float32Array([7]) } } }));
      expect(ingest.sumsInWorker('fed-1', 1)).toBe(true);
      remoteAdds(ingest, ['a', 'b']);
      expect(ingest.finish('fed-1', 1, spec)).toBe('pending');
      expect(ingest.finish('fed-1', 1, spec)).toBe('pending');
      await called;
      expect(calls).toEqual({ take: 1, forget: 0, ready: 1 });
      const aggregate = finishHere(ingest, 'fed-1', 1, spec);
      expect(aggregate.contributors).toEqual(reference.contributors);
      expect(aggregate.totalSamples).toBe(reference.totalSamples);
      expect(aggregate.state['marker']?.data[0]).toBe(7);
      await cleanup();
    });

    it('rebuilds from the store when the worker\'s contributors differ from the stored ones, or it cannot answer', async () => {
      for (const answer of [
        (ref: RoundAggregate) => Promise.resolve({ ...ref, contributors: ['site-a'] }),
        () => Promise.resolve(null),
        () => Promise.reject(new Error('the submission worker exited')),
      ]) {
        const { ingest, spec, reference, called, calls, cleanup } = withRemote(answer);
        remoteAdds(ingest, ['a', 'b']);
        expect(ingest.finish('fed-1', 1, spec)).toBe('pending');
        await called;
        const aggregate = finishHere(ingest, 'fed-1', 1, spec);
        expect(aggregate.contributors).toEqual(['site-a', 'site-b']);
        expect(encodeTensors(aggregate.state).checksum).toBe(encodeTensors(reference.state).checksum);
        expect(calls.forget).toBe(1);
        await cleanup();
      }
    });

    it('rebuilds from the store, without asking the worker, when the round was summed in both places', async () => {
      const { ingest, spec, reference, calls, cleanup } = withRemote((ref) => Promise.resolve(ref));
      ingest.add('fed-1', 1, { siteId: 'site-a', sampleCount: SAMPLES[0]!, state: decodeTensors(submission(0, 'float32').weights).tensors });
      // Once something is summed here, the next updates are not summed in the worker.
      expect(ingest.sumsInWorker('fed-1', 1)).toBe(false);
      ingest.add('fed-1', 1, { siteId: 'site-b', sampleCount: SAMPLES[1]!, state: null });
      const aggregate = finishHere(ingest, 'fed-1', 1, spec);
      expect(calls.take).toBe(0);
      expect(encodeTensors(aggregate.state).checksum).toBe(encodeTensors(reference.state).checksum);
      await cleanup();
    });
  });
});
