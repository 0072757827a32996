/**
 * The submission worker: updates decoded, checked and committed off the main thread, acknowledged after the commit,
 * refused with ROUND_CLOSED when their round closed before it, and the same published model as on the main thread;
 * a failed worker leaves the submissions to the main thread.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initialModuleState, isCounterEntry, moduleSpec } from '@facmic/learning/plain';
import { crc32, decodeTensors, encodeTensors, type ParsedSubmission } from '@facmic/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { hashToken } from './auth.ts';
import { FakeClock } from './clock.ts';
import { FederationEngine } from './engine.ts';
import { newFederationFixture } from './federation-fixture.ts';
import { syntheticEncoderIdentity } from './features/synthetic-encoder.ts';
import { createMemoryLogger, silentLogger } from './logger.ts';
import type { RoundIngest } from './round-ingest.ts';
import { openSqliteStore } from './store/sqlite-store.ts';
import type { CoordinatorStore } from './store/store.ts';
import { SubmissionWriter } from './submission-writer.ts';

const DIM = 4;
const SITES = ['a', 'b', 'c'];

function submission(seed: number, options: { dtype?: 'float32' | 'float16'; poison?: boolean } = {}): ParsedSubmission {
  const state = initialModuleState('facmic', DIM, seed);
  // encodeTensors refuses NaN: a finite marker, replaced by NaN in the bytes, and the trailer fixed.
  if (options.poison === true) state['3.bias']!.data[1] = 12345.5;
  const weights = encodeTensors(state, { dtype: options.dtype ?? 'float32', float32Names: Object.keys(state).filter(isCounterEntry) }).bytes;
  if (options.poison === true) {
    const view = new DataView(weights.buffer);
    for (let offset = 0; offset < weights.byteLength - 4; offset += 4) if (view.getFloat32(offset, true) === 12345.5) view.setFloat32(offset, Number.NaN, true);
    view.setUint32(weights.byteLength - 4, crc32(weights.subarray(0, weights.byteLength - 4)), true);
  }
  return {
    federationId: 'fed-1',
    round: 1,
    sampleCount: 10 + seed,
    weights,
    metrics: { trainLoss: null, steps: 1, trainSeconds: 0, globalModel: null, localModel: null },
  };
}

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function setUp(options: { file: boolean; writer?: (path: string) => SubmissionWriter; keep?: number }): { store: CoordinatorStore; engine: FederationEngine; writer: SubmissionWriter | null } {
  let path = ':memory:';
  if (options.file) {
    const dir = mkdtempSync(join(tmpdir(), 'facmic-writer-'));
    cleanups.push(() => { rmSync(dir, { recursive: true, force: true }); });
    path = join(dir, 'coordinator.sqlite');
  }
  const store = openSqliteStore(path);
  const writer = options.writer ? options.writer(path) : null;
  const engine = new FederationEngine({ store, clock: new FakeClock(), logger: silentLogger, submissionWriter: writer, keepSubmissionWeightsRounds: options.keep ?? null });
  cleanups.push(async () => {
    await engine.shutdown();
    store.close();
  });
  engine.createFederation(newFederationFixture({ dim: DIM, quorum: SITES.length, rounds: 2 }));
  for (const name of SITES) {
    const id = `site-${name}`;
    engine.createSite({ id, federationId: 'fed-1', name, tokenHash: hashToken(`token-${name}`), virtual: false, actor: 'test' });
    engine.siteConnected(store.getSite(id)!, `s-${id}`, null);
    engine.siteReady(id, `s-${id}`, { encoderHash: syntheticEncoderIdentity(DIM).hash, trainSamples: 1, testSamples: 0 });
  }
  expect(store.getFederation('fed-1')?.status).toBe('training');
  return { store, engine, writer };
}

async function withWorker(): Promise<ReturnType<typeof setUp>> {
  const set = setUp({ file: true, writer: (path) => new SubmissionWriter(path, silentLogger) });
  await set.writer?.whenStarted();
  expect(set.writer?.usable).toBe(true);
  return set;
}

async function publishedRound1(store: CoordinatorStore): Promise<string> {
  for (let i = 0; i < 200 && store.getGlobalModel('fed-1', 1) === null; i++) await new Promise((resolve) => setTimeout(resolve, 10));
  const model = store.getGlobalModel('fed-1', 1);
  if (!model) throw new Error('round 1 was not published');
  return model.checksum;
}

describe('the submission worker', () => {
  it('stores each update before its ack, and publishes the same model as the main thread does', async () => {
    const { store, engine, writer } = await withWorker();
    const ingest = (engine as unknown as { rounds: { ingest: RoundIngest } }).rounds.ingest;
    let rebuilt = 0;
    const rebuild = ingest.rebuild.bind(ingest);
    ingest.rebuild = (...args) => { rebuilt += 1; rebuild(...args); };
    const statesHere: boolean[] = [];
    const add = ingest.add.bind(ingest);
    ingest.add = (federationId, round, update) => { statesHere.push(update.state !== null); add(federationId, round, update); };
    const updates = [submission(1), submission(2, { dtype: 'float16' }), submission(3)];
    const pending = SITES.map((name, i) => engine.submitGrouped(`site-${name}`, 'fed-1', updates[i] as ParsedSubmission));
    expect(writer?.inFlight).toBe(3);
    // Not stored before the worker's commit, so not acknowledged either.
    expect(store.listSubmitters('fed-1', 1)).toEqual([]);
    const outcomes = await Promise.all(pending);
    expect(outcomes).toMatchObject([{ ok: true, duplicate: false }, { ok: true, duplicate: false }, { ok: true, duplicate: false }]);
    expect(store.listSubmitters('fed-1', 1)).toEqual(['site-a', 'site-b', 'site-c']);
    const stored = store.getSubmission('fed-1', 1, 'site-b');
    expect(stored).toMatchObject({ sampleCount: 12, dtype: 'float16', bytes: updates[1]?.weights.byteLength });
    expect(Buffer.compare(Buffer.from(stored?.weights ?? new Uint8Array()), Buffer.from(updates[1]?.weights ?? new Uint8Array()))).toBe(0);
    expect(store.getTraffic('fed-1', 1).bytesReceived).toBe(updates.reduce((s, u) => s + u.weights.byteLength, 0));
    const viaWorker = await publishedRound1(store);
    // From the running sum the worker kept (no decoded state came back to the main thread), not rebuilt from the store.
    expect(statesHere).toEqual([false, false, false]);
    expect(rebuilt).toBe(0);

    const main = setUp({ file: false });
    await Promise.all(SITES.map((name, i) => main.engine.submitGrouped(`site-${name}`, 'fed-1', updates[i] as ParsedSubmission)));
    expect(await publishedRound1(main.store)).toBe(viaWorker);
  });

  it('publishes the same model when the worker that kept the round\'s sum fails before the close: rebuilt from the store', async () => {
    const updates = [submission(1), submission(2, { dtype: 'float16' }), submission(3)];
    const main = setUp({ file: false });
    await Promise.all(SITES.map((name, i) => main.engine.submitGrouped(`site-${name}`, 'fed-1', updates[i] as ParsedSubmission)));
    const expected = await publishedRound1(main.store);

    const { store, engine, writer } = await withWorker();
    const ingest = (engine as unknown as { rounds: { ingest: RoundIngest } }).rounds.ingest;
    // The worker dies once the first two are stored; the third goes to the main thread: summed in both places.
    await Promise.all(SITES.slice(0, 2).map((name, i) => engine.submitGrouped(`site-${name}`, 'fed-1', updates[i] as ParsedSubmission)));
    expect(ingest.contributors('fed-1', 1)).toEqual(['site-a', 'site-b']);
    await (writer as unknown as { worker: { terminate(): Promise<number> } }).worker.terminate();
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(writer?.usable).toBe(false);
    expect(await engine.submitGrouped('site-c', 'fed-1', updates[2] as ParsedSubmission)).toMatchObject({ ok: true, duplicate: false });
    expect(await publishedRound1(store)).toBe(expected);
  });

  it('drops the weights of rounds older than --keep-submission-weights: in the worker, else on the main thread', async () => {
    const round = (r: number, seed: number): ParsedSubmission => ({ ...submission(seed), round: r });
    for (const worker of [true, false]) {
      const set = worker ? setUp({ file: true, writer: (path) => new SubmissionWriter(path, silentLogger), keep: 1 }) : setUp({ file: false, keep: 1 });
      await set.writer?.whenStarted();
      const { store, engine } = set;
      await Promise.all(SITES.map((name, i) => engine.submitGrouped(`site-${name}`, 'fed-1', round(1, i))));
      await publishedRound1(store);
      // Keep 1: round 1's weights stay while it is the latest published round.
      expect(store.getSubmission('fed-1', 1, 'site-a')?.weights).not.toBeNull();
      for (const name of SITES) engine.siteReady(`site-${name}`, `s-site-${name}`, { encoderHash: syntheticEncoderIdentity(DIM).hash, trainSamples: 1, testSamples: 0 });
      expect(store.getFederation('fed-1')).toMatchObject({ status: 'training', round: 2 });
      await Promise.all(SITES.map((name, i) => engine.submitGrouped(`site-${name}`, 'fed-1', round(2, i + 3))));
      for (let i = 0; i < 200 && store.getFederation('fed-1')?.status !== 'finished'; i++) await new Promise((resolve) => setTimeout(resolve, 10));
      for (let i = 0; i < 200 && store.getSubmission('fed-1', 1, 'site-a')?.weights; i++) await new Promise((resolve) => setTimeout(resolve, 10));
      expect(store.getFederation('fed-1')?.status).toBe('finished');
      for (const name of SITES) {
        expect(store.getSubmission('fed-1', 1, `site-${name}`)?.weights ?? null).toBeNull();
        expect(store.getSubmission('fed-1', 2, `site-${name}`)?.weights).toBeInstanceOf(Uint8Array);
      }
    }
  });

  it('decodes an 8-bit update on the main thread, against the round\'s global model, and sends the others to the worker', async () => {
    const { store, engine, writer } = await withWorker();
    const global = store.getGlobalModel('fed-1', 0);
    if (!global) throw new Error('no initial model');
    const base = { round: 0, tensors: decodeTensors(global.weights).tensors };
    const trained = initialModuleState('facmic', DIM, 7);
    const eightBit: ParsedSubmission = {
      ...submission(7),
      weights: encodeTensors(trained, { dtype: 'int8', float32Names: moduleSpec('facmic', DIM).filter((e) => e.kind !== 'parameter').map((e) => e.name), base, random: () => 0.5 }).bytes,
    };
    const pending = [engine.submitGrouped('site-a', 'fed-1', eightBit), engine.submitGrouped('site-b', 'fed-1', submission(2)), engine.submitGrouped('site-c', 'fed-1', submission(3))];
    expect(writer?.inFlight).toBe(2);
    expect(await Promise.all(pending)).toMatchObject([{ ok: true }, { ok: true }, { ok: true }]);
    expect(store.getSubmission('fed-1', 1, 'site-a')?.dtype).toBe('int8');
    await publishedRound1(store);
  });

  it('refuses with ROUND_CLOSED an update whose round closed before the worker committed it, and stores nothing', async () => {
    const { store, engine } = await withWorker();
    let pending: Promise<unknown> = Promise.resolve();
    // The main thread holds the write lock until the stop is committed: the worker's commit comes after it.
    store.transaction(() => {
      pending = engine.submitGrouped('site-a', 'fed-1', submission(1));
      expect(engine.stop('fed-1', 'admin').ok).toBe(true);
    });
    expect(await pending).toMatchObject({ ok: false, code: 'ROUND_CLOSED' });
    expect(store.listSubmitters('fed-1', 1)).toEqual([]);
  });

  it('refuses non-finite weights with their code, and a repeated update as a duplicate', async () => {
    const { store, engine } = await withWorker();
    expect(await engine.submitGrouped('site-a', 'fed-1', submission(1, { poison: true }))).toMatchObject({ ok: false, code: 'NON_FINITE_WEIGHTS' });
    expect(store.listSubmitters('fed-1', 1)).toEqual([]);
    const [first, again] = await Promise.all([engine.submitGrouped('site-a', 'fed-1', submission(1)), engine.submitGrouped('site-a', 'fed-1', submission(1))]);
    expect(first).toMatchObject({ ok: true, duplicate: false });
    expect(again).toMatchObject({ ok: true, duplicate: true });
    expect(store.listSubmitters('fed-1', 1)).toEqual(['site-a']);
  });

  it('stores on the main thread until the worker is ready', async () => {
    const { store, engine, writer } = setUp({ file: true, writer: (path) => new SubmissionWriter(path, silentLogger) });
    expect(writer?.usable).toBe(false);
    const pending = engine.submitGrouped('site-a', 'fed-1', submission(1));
    expect(writer?.inFlight).toBe(0);
    expect(await pending).toMatchObject({ ok: true, duplicate: false });
    expect(store.listSubmitters('fed-1', 1)).toEqual(['site-a']);
    await writer?.whenStarted();
    expect(writer?.usable).toBe(true);
  });

  it('stores an update on the main thread when the worker fails with it, and leaves the next ones to the main thread', async () => {
    const logger = createMemoryLogger();
    // A worker that starts, then throws on the first update it gets.
    const code = "import { parentPort } from 'node:worker_threads'; parentPort.postMessage({ ready: true }); parentPort.on('message', () => { throw new Error('broken worker'); });";
    const broken = new URL(`data:text/javascript,${encodeURIComponent(code)}`);
    const { store, engine, writer } = setUp({ file: true, writer: (path) => new SubmissionWriter(path, logger, broken) });
    await writer?.whenStarted();
    expect(writer?.usable).toBe(true);
    const pending = engine.submitGrouped('site-a', 'fed-1', submission(1));
    expect(writer?.inFlight).toBe(1);
    expect(await pending).toMatchObject({ ok: true, duplicate: false });
    expect(writer?.usable).toBe(false);
    expect(logger.lines.some((l) => l.level === 'error' && l.message.includes('submission worker failed'))).toBe(true);
    expect(await engine.submitGrouped('site-b', 'fed-1', submission(2))).toMatchObject({ ok: true, duplicate: false });
    expect(store.listSubmitters('fed-1', 1)).toEqual(['site-a', 'site-b']);
  });
});
