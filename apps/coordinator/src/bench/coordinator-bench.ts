/**
 * `npm run bench:coordinator`: what a D=512 FACMIC federation costs the coordinator.
 *
 * 1. bytes per submission (tensor file) in float32 and float16;
 * 2. at 10, 100 and 1000 submissions (`--sizes`), through the engine on a SQLite file as the coordinator runs it:
 *    - the ingest cost per submission: decode + check (`checkSubmission`) + add to the round's running sum
 *      (`RoundIngest.add`), float32 and float16 updates, against a memcpy of the same bytes;
 *    - the publication latency: from the last submission accepted (`engine.submit` returned, i.e. the ack) to the
 *      global model published (stored, round closed), with the engine's own aggregation time; after one warm-up
 *      round, as in a coordinator that has run a round before;
 * 3. a round with 10 Node sites on loopback (`--sites`, real server, Socket.IO), as a whole-system check.
 *
 * Goals (issue 10): publication within 50 ms whatever the number of submissions; ingest within 8x the memcpy.
 * The output ends with one line per size, `publish latency at N submissions: X ms`, and `ingest / memcpy ratio: X`
 * (float32 updates, the sites' default, median over the sizes; the float16 ratio is in the table).
 *
 * Options: `--sizes 10,100,1000`, `--rounds N` (default 3) and `--sites N` (default 10) for part 3 (`--sites 0`
 * skips it), `--json <file>`.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { AGGREGATION_STRATEGIES, counterEntryNames, initialModuleState, isCounterEntry, moduleTensorSpec, type ModuleState } from '@facmic/learning/plain';
import { encodedTensorsByteLength, encodeTensors, type ParsedSubmission, type PlainTensorDtype } from '@facmic/protocol';
import { generateToken, hashToken } from '../auth.ts';
import { systemClock } from '../clock.ts';
import { createCoordinator } from '../create-coordinator.ts';
import { FederationEngine } from '../engine.ts';
import { federationRecordFixture, newFederationFixture } from '../federation-fixture.ts';
import { createSyntheticEncoder } from '../features/synthetic-encoder.ts';
import { silentLogger } from '../logger.ts';
import { createNodeSite } from '../node-site/node-site.ts';
import { RoundIngest } from '../round-ingest.ts';
import { openSqliteStore } from '../store/sqlite-store.ts';
import { checkSubmission } from '../submission-check.ts';
import { initTfBackend } from '../tf-backend.ts';

const DIM = 512;
/**
 * Distinct update files, used in turn: 200 x 2.1 MB is far more than a CPU cache, so the ingest and the memcpy both
 * read from memory, as updates arriving from the network do (a few files in turn would be copied from the cache).
 */
const DISTINCT = 200;

function option(name: string, fallback: string): string {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 ? (process.argv[index + 1] ?? fallback) : fallback;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

function perturbed(base: ModuleState, seed: number): ModuleState {
  const out: ModuleState = {};
  let s = seed;
  for (const [name, t] of Object.entries(base)) {
    const data = t.data.slice();
    if (!isCounterEntry(name)) {
      for (let i = 0; i < data.length; i++) {
        s = (Math.imul(s, 1664525) + 1013904223) | 0;
        data[i] = (data[i] as number) + (s / 2 ** 31) * 1e-3;
      }
    }
    out[name] = { shape: t.shape, data };
  }
  return out;
}

const METRICS = { trainLoss: null, steps: 1, trainSeconds: 0, globalModel: null, localModel: null };

function submissionOf(weights: Uint8Array, round: number, index: number): ParsedSubmission {
  return { federationId: 'bench', round, sampleCount: 10 + (index % 50), weights, metrics: METRICS };
}

/**
 * Milliseconds per call of `run(i)` for i < count: the median over repetitions of the whole loop (at least three,
 * and at least `minMs` in all, unless one repetition alone takes a second), so a descheduled moment moves one sample.
 */
function perCall(count: number, minMs: number, setUp: () => void, run: (i: number) => void): number {
  const samples: number[] = [];
  let elapsed = 0;
  while (samples.length < 3 || elapsed < minMs) {
    setUp();
    const started = performance.now();
    for (let i = 0; i < count; i++) run(i);
    const ms = performance.now() - started;
    samples.push(ms / count);
    elapsed += ms;
    if (ms > 1000 && elapsed >= minMs) break;
  }
  return median(samples);
}

const benchFederation = (quorum: number) => ({ id: 'bench', dim: DIM, quorum, rounds: 1, roundDeadlineSeconds: 3600 });

/** decode + check + add, per submission, and a memcpy of the same bytes. */
function ingestCost(files: readonly Uint8Array[], count: number): { ingestMs: number; memcpyMs: number } {
  const federation = federationRecordFixture(benchFederation(count), { status: 'training', round: 1, deadline: Date.now() + 3_600_000 });
  const store = openSqliteStore(':memory:');
  const ids = Array.from({ length: count }, (_, i) => `site-${i}`);
  let ingest = new RoundIngest(store, AGGREGATION_STRATEGIES.fedavg());
  const ingestMs = perCall(count, 300, () => { ingest = new RoundIngest(store, AGGREGATION_STRATEGIES.fedavg()); }, (i) => {
    const submission = submissionOf(files[i % files.length] as Uint8Array, 1, i);
    const check = checkSubmission({ siteId: ids[i] as string, sessionFederationId: 'bench', federation, participants: ids, existing: null }, submission);
    if (!check.ok || check.checked.kind !== 'update') throw new Error(`bench submission refused: ${check.ok ? 'duplicate' : check.message}`);
    ingest.add('bench', 1, { siteId: ids[i] as string, sampleCount: submission.sampleCount, state: check.checked.state });
  });
  const largest = Math.max(...files.map((f) => f.byteLength));
  const target = new Uint8Array(largest);
  const memcpyMs = perCall(count, 300, () => {}, (i) => { target.set(files[i % files.length] as Uint8Array); });
  store.close();
  return { ingestMs, memcpyMs };
}

/** One round of `count` submissions through the engine on a SQLite file: last accepted -> published. */
async function publication(files: readonly Uint8Array[], count: number): Promise<{ publishMs: number; aggregationMs: number; engineMs: number | null }> {
  const dir = mkdtempSync(join(tmpdir(), 'facmic-bench-'));
  const store = openSqliteStore(join(dir, 'coordinator.sqlite'));
  const engine = new FederationEngine({ store, clock: systemClock, logger: silentLogger });
  try {
    const created = engine.createFederation(newFederationFixture(benchFederation(count)));
    if (!created.ok) throw new Error(created.message);
    let published: (timings: { aggregationMs: number; publicationMs: number | null; at: number }) => void = () => {};
    const done = new Promise<{ aggregationMs: number; publicationMs: number | null; at: number }>((resolve) => { published = resolve; });
    engine.addListener({
      federationChanged: () => {},
      roundChanged: () => {},
      siteChanged: () => {},
      closeSite: () => {},
      federationDeleted: () => {},
      audit: () => {},
      roundPublished: (_id, _round, timings) => { published({ ...timings, at: performance.now() }); },
    });
    const hash = created.federation.encoder.hash;
    for (let i = 0; i < count; i++) {
      const id = `site-${i}`;
      const site = engine.createSite({ id, federationId: 'bench', name: id, tokenHash: hashToken(`bench-token-${i}`), virtual: false, actor: 'bench' });
      if (!site.ok) throw new Error(site.message);
      engine.siteConnected(site.site, `session-${i}`, null);
      engine.siteReady(id, `session-${i}`, { encoderHash: hash, trainSamples: 10, testSamples: 0 });
    }
    if (store.getFederation('bench')?.status !== 'training') throw new Error('the bench round did not start');
    let lastAccepted = 0;
    for (let i = 0; i < count; i++) {
      const answer = engine.submit(`site-${i}`, 'bench', submissionOf(files[i % files.length] as Uint8Array, 1, i));
      lastAccepted = performance.now();
      if (!answer.ok) throw new Error(`submission refused: ${answer.message}`);
    }
    const timings = await done;
    if (store.getRound('bench', 1)?.status !== 'published') throw new Error('the bench round was not published');
    return { publishMs: timings.at - lastAccepted, aggregationMs: timings.aggregationMs, engineMs: timings.publicationMs };
  } finally {
    await engine.shutdown();
    store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function loopbackRounds(rounds: number, siteCount: number): Promise<Record<string, unknown>> {
  console.log(`\nround time with ${siteCount} Node sites on loopback (${rounds} rounds, 1 local step each, float32 weights)`);
  await initTfBackend('wasm');
  const dir = mkdtempSync(join(tmpdir(), 'facmic-bench-'));
  const store = openSqliteStore(join(dir, 'coordinator.sqlite'));
  const adminToken = generateToken();
  const encoder = createSyntheticEncoder({ dim: DIM });
  const coordinator = createCoordinator({ store, clock: systemClock, logger: silentLogger, encoder, config: { adminTokenHash: hashToken(adminToken) } });
  try {
    const { url } = await coordinator.listen(0, '127.0.0.1');
    const headers = { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' };
    const body = { name: 'bench', classNames: ['a', 'b', 'c', 'd'], rounds, quorum: siteCount, training: { stepsPerRound: 1, batchSize: 8 }, reference: { kind: 'generated', count: 16 } };
    const created = (await (await fetch(`${url}/api/federations`, { method: 'POST', headers, body: JSON.stringify(body) })).json()) as { config: { id: string } };
    const federationId = created.config.id;
    const sites = [];
    for (let i = 0; i < siteCount; i++) {
      const invite = (await (await fetch(`${url}/api/federations/${federationId}/invites`, { method: 'POST', headers, body: JSON.stringify({ name: `site ${i}` }) })).json()) as { token: string };
      sites.push(
        createNodeSite({
          coordinatorUrl: url,
          federationId,
          token: invite.token,
          name: `site-${i}`,
          encoder,
          data: { kind: 'generated', trainPerClass: 4, testPerClass: 0, seed: i + 1 },
          connection: { transports: ['websocket'], requestTimeoutMs: 120_000 },
        }),
      );
    }
    const started = performance.now();
    await Promise.all(sites.map((s) => s.run()));
    const wall = performance.now() - started;
    const records = store.listRounds(federationId);
    const aggregationMs = records.map((r) => r.aggregationMs ?? Number.NaN);
    const lastToPublished = records.map((r) => (r.publishedAt ?? 0) - (r.lastSubmissionAt ?? 0));
    const traffic = records.map((r) => store.getTraffic(federationId, r.round));
    console.log('  round   aggregation ms   last submission -> published (ms, wall clock)   bytes in   bytes out');
    records.forEach((r, i) => {
      console.log(
        `  ${String(r.round).padStart(5)} ${(aggregationMs[i] ?? 0).toFixed(1).padStart(16)} ${String(lastToPublished[i]).padStart(47)} ${String(traffic[i]?.bytesReceived).padStart(10)} ${String(traffic[i]?.bytesSent).padStart(11)}`,
      );
    });
    console.log(`  median aggregation: ${median(aggregationMs).toFixed(1)} ms; whole run ${(wall / 1000).toFixed(1)} s (mostly the sites' training in this one process)`);
    return { sites: siteCount, rounds, aggregationMs, lastSubmissionToPublishedMs: lastToPublished, traffic, wallSeconds: wall / 1000 };
  } finally {
    await coordinator.close();
    store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const sizes = option('sizes', '10,100,1000').split(',').map(Number);
  const rounds = Number(option('rounds', '3'));
  const siteCount = Number(option('sites', '10'));
  const jsonPath = process.argv.includes('--json') ? option('json', 'coordinator-bench.json') : null;
  const results: Record<string, unknown> = { machine: { cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length, node: process.version } };
  console.log(`facmic coordinator benchmark (D=${DIM}, ${cpus()[0]?.model ?? 'unknown CPU'}, ${cpus().length} cores, Node ${process.version})\n`);

  // 1. Bytes per submission.
  const counters = counterEntryNames('facmic', DIM);
  const base = initialModuleState('facmic', DIM, 1);
  const files: Record<PlainTensorDtype, Uint8Array[]> = {
    float32: Array.from({ length: DISTINCT }, (_, i) => encodeTensors(perturbed(base, i + 1)).bytes),
    float16: Array.from({ length: DISTINCT }, (_, i) => encodeTensors(perturbed(base, i + 1), { dtype: 'float16', float32Names: counters }).bytes),
  };
  const fp32 = (files.float32[0] as Uint8Array).byteLength;
  const fp16 = (files.float16[0] as Uint8Array).byteLength;
  if (fp32 !== encodedTensorsByteLength(moduleTensorSpec('facmic', DIM), 'float32')) throw new Error('size mismatch');
  console.log('bytes per submission (FACMIC module, D=512)');
  console.log(`  float32: ${fp32} bytes (${(fp32 / 2 ** 20).toFixed(2)} MiB)`);
  console.log(`  float16: ${fp16} bytes (${(fp16 / 2 ** 20).toFixed(2)} MiB)\n`);
  results.bytesPerSubmission = { float32: fp32, float16: fp16 };

  // 2. Ingest and publication at each size.
  console.log('ingest per submission (decode + check + add to the running sum) against a memcpy of the same bytes, and');
  console.log('publication (last accepted submission -> global model stored), through the engine on a SQLite file');
  console.log('  submissions   ingest fp32 ms   memcpy fp32 ms   ratio   ingest fp16 ms   memcpy fp16 ms   ratio   publish ms   (aggregation ms)');
  const rows: { submissions: number; ingest: Record<PlainTensorDtype, { ingestMs: number; memcpyMs: number }>; publishMs: number; aggregationMs: number; engineMs: number | null; runs: number }[] = [];
  // One round and a few updates first, not reported: a running coordinator has this code compiled by the JIT.
  ingestCost(files.float32, 20);
  ingestCost(files.float16, 20);
  await publication(files.float32, 2);
  for (const n of sizes) {
    const ingest = { float32: ingestCost(files.float32, n), float16: ingestCost(files.float16, n) };
    const runs = n >= 1000 ? 1 : 3;
    const measured = [];
    for (let r = 0; r < runs; r++) measured.push(await publication(files.float32, n));
    const publishMs = median(measured.map((m) => m.publishMs));
    const aggregationMs = median(measured.map((m) => m.aggregationMs));
    const engineMs = measured.every((m) => m.engineMs !== null) ? median(measured.map((m) => m.engineMs as number)) : null;
    rows.push({ submissions: n, ingest, publishMs, aggregationMs, engineMs, runs });
    const cell = (x: number, width: number) => x.toFixed(3).padStart(width);
    const ratio = (d: PlainTensorDtype) => (ingest[d].ingestMs / ingest[d].memcpyMs).toFixed(1).padStart(7);
    console.log(
      `  ${String(n).padStart(11)} ${cell(ingest.float32.ingestMs, 16)} ${cell(ingest.float32.memcpyMs, 16)} ${ratio('float32')} ${cell(ingest.float16.ingestMs, 16)} ${cell(ingest.float16.memcpyMs, 16)} ${ratio('float16')} ${publishMs.toFixed(1).padStart(12)}   (${aggregationMs.toFixed(1)})`,
    );
    if (globalThis.gc) globalThis.gc();
  }
  results.sizes = rows;

  // 3. A real federation: coordinator + N Node sites on loopback.
  if (siteCount > 0) results.federation = await loopbackRounds(rounds, siteCount);

  if (jsonPath !== null) {
    writeFileSync(jsonPath, `${JSON.stringify(results, null, 2)}\n`);
    console.log(`\nwrote ${jsonPath}`);
  }
  // Plain lines for scripts, last. The ratio: float32 updates (what sites send by default), the median over sizes.
  const ratio = median(rows.map((r) => r.ingest.float32.ingestMs / r.ingest.float32.memcpyMs));
  console.log('\ngoals: publication within 50 ms whatever the number of submissions; ingest within 8x the memcpy');
  for (const row of rows) console.log(`publish latency at ${row.submissions} submissions: ${row.publishMs.toFixed(1)} ms`);
  console.log(`ingest / memcpy ratio: ${ratio.toFixed(1)}`);
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
