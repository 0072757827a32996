/**
 * `npm run bench:coordinator`: what a D=512 FACMIC federation costs the coordinator.
 *
 * 1. bytes per submission (tensor file) in float32 and float16;
 * 2. aggregation of 10, 100 and 1000 submissions: decoding the tensor files, sample-weighted FedAvg
 *    (`@facmic/learning`), encoding the global model, as the coordinator does when a round closes;
 * 3. the coordinator's own time per round with 10 Node sites on loopback (real server, SQLite file, Socket.IO):
 *    from the last accepted submission to the published global model, as the engine measures it.
 *
 * Options: `--rounds N` (default 5), `--sites N` (default 10), `--sizes 10,100,1000`, `--json <file>`.
 */
import { writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { AGGREGATION_STRATEGIES, initialModuleState, moduleSpec, type ModuleState } from '@facmic/learning';
import { decodeTensors, encodedTensorsByteLength, encodeTensors, type TensorSpec } from '@facmic/protocol';
import { generateToken, hashToken } from '../auth.ts';
import { systemClock } from '../clock.ts';
import { createCoordinator } from '../create-coordinator.ts';
import { createSyntheticEncoder } from '../features/synthetic-encoder.ts';
import { silentLogger } from '../logger.ts';
import { createNodeSite } from '../node-site/node-site.ts';
import { openSqliteStore } from '../store/sqlite-store.ts';
import { initTfBackend } from '../tf-backend.ts';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';

const DIM = 512;

function option(name: string, fallback: string): string {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 ? (process.argv[index + 1] ?? fallback) : fallback;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

function perturbed(base: ModuleState, seed: number): ModuleState {
  const out: ModuleState = {};
  let s = seed;
  for (const [name, t] of Object.entries(base)) {
    const data = t.data.slice();
    if (!name.endsWith('num_batches_tracked')) {
      for (let i = 0; i < data.length; i++) {
        s = (Math.imul(s, 1664525) + 1013904223) | 0;
        data[i] = (data[i] as number) + (s / 2 ** 31) * 1e-3;
      }
    }
    out[name] = { shape: t.shape, data };
  }
  return out;
}

async function main(): Promise<void> {
  const sizes = option('sizes', '10,100,1000').split(',').map(Number);
  const rounds = Number(option('rounds', '5'));
  const siteCount = Number(option('sites', '10'));
  const jsonPath = process.argv.includes('--json') ? option('json', 'coordinator-bench.json') : null;
  const results: Record<string, unknown> = {
    machine: { cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length, node: process.version },
  };
  console.log(`facmic coordinator benchmark (D=${DIM}, ${cpus()[0]?.model ?? 'unknown CPU'}, ${cpus().length} cores, Node ${process.version})\n`);

  // 1. Bytes per submission.
  const spec: TensorSpec = Object.fromEntries(moduleSpec('facmic', DIM).map((e) => [e.name, e.shape]));
  const counters = moduleSpec('facmic', DIM).filter((e) => e.kind === 'counter').map((e) => e.name);
  const base = initialModuleState('facmic', DIM, 1);
  const fp32 = encodeTensors(base).bytes.byteLength;
  const fp16 = encodeTensors(base, { dtype: 'float16', float32Names: counters }).bytes.byteLength;
  if (fp32 !== encodedTensorsByteLength(spec, 'float32')) throw new Error('size mismatch');
  console.log('bytes per submission (FACMIC module, D=512)');
  console.log(`  float32: ${fp32} bytes (${(fp32 / 2 ** 20).toFixed(2)} MiB)`);
  console.log(`  float16: ${fp16} bytes (${(fp16 / 2 ** 20).toFixed(2)} MiB)\n`);
  results.bytesPerSubmission = { float32: fp32, float16: fp16 };

  // 2. Aggregation.
  const distinct = Array.from({ length: 10 }, (_, i) => encodeTensors(perturbed(base, i + 1)).bytes);
  const strategy = AGGREGATION_STRATEGIES.fedavg();
  const aggregation: Record<string, unknown>[] = [];
  console.log('aggregation (decode + sample-weighted FedAvg + encode), median of runs');
  console.log('  submissions   decode ms   FedAvg ms    encode ms    total ms');
  for (const n of sizes) {
    const runs = n >= 1000 ? 1 : 3;
    const decodeTimes: number[] = [];
    const averageTimes: number[] = [];
    const encodeTimes: number[] = [];
    for (let r = 0; r < runs; r++) {
      const t0 = performance.now();
      const updates = Array.from({ length: n }, (_, i) => ({ state: decodeTensors(distinct[i % distinct.length] as Uint8Array, { expected: spec }).tensors, numSamples: 10 + (i % 50) }));
      const t1 = performance.now();
      const state = strategy.aggregateTrain(updates);
      const t2 = performance.now();
      encodeTensors(state);
      const t3 = performance.now();
      decodeTimes.push(t1 - t0);
      averageTimes.push(t2 - t1);
      encodeTimes.push(t3 - t2);
    }
    const row = { submissions: n, decodeMs: median(decodeTimes), fedAvgMs: median(averageTimes), encodeMs: median(encodeTimes) };
    const total = row.decodeMs + row.fedAvgMs + row.encodeMs;
    aggregation.push({ ...row, totalMs: total, runs });
    console.log(`  ${String(n).padStart(11)} ${row.decodeMs.toFixed(1).padStart(11)} ${row.fedAvgMs.toFixed(1).padStart(11)} ${row.encodeMs.toFixed(1).padStart(12)} ${total.toFixed(1).padStart(11)}`);
    if (globalThis.gc) globalThis.gc();
  }
  results.aggregation = aggregation;

  // 3. A real federation: coordinator + N Node sites on loopback.
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
    const created = (await (
      await fetch(`${url}/api/federations`, {
        method: 'POST',
        headers,
        body: JSON.stringify({
          name: 'bench',
          classNames: ['a', 'b', 'c', 'd'],
          rounds,
          quorum: siteCount,
          training: { maxStepsPerRound: 1, batchSize: 8 },
          reference: { kind: 'generated', count: 16 },
        }),
      })
    ).json()) as { config: { id: string } };
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
    results.federation = { sites: siteCount, rounds, aggregationMs, lastSubmissionToPublishedMs: lastToPublished, traffic, wallSeconds: wall / 1000 };
  } finally {
    await coordinator.close();
    store.close();
    rmSync(dir, { recursive: true, force: true });
  }
  if (jsonPath !== null) {
    writeFileSync(jsonPath, `${JSON.stringify(results, null, 2)}\n`);
    console.log(`\nwrote ${jsonPath}`);
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
