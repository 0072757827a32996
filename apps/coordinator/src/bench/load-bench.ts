/**
 * `npm run bench:load -- --sites N --rounds R [--processes P] [--train-ms MIN-MAX] [--kill-at-round K] [--dim D]`
 *
 * The coordinator's load harness. It starts the coordinator as a process of its own (`load-coordinator.ts`, a fresh
 * SQLite folder), creates a federation of N sites (quorum N, every site in every round), and runs N Socket.IO sites
 * in P processes (`load-sites.ts`) that act as real sites with random finite float16 D=512 updates. It reports:
 * - the `round:submit` ack latency (p50 / p95 / p99, measured by the sites);
 * - the gap from the last submission stored in a round to its publication (both on the coordinator's clock);
 * - the coordinator's event-loop delay p99 over the run, from the sites' start to the end (the difference of two
 *   scrapes of its `facmic_event_loop_interval_seconds` histogram in `/metrics`, so the federation's set-up and the
 *   invites before it do not count), and the max and since-start p99 of `monitorEventLoopDelay`;
 * - the coordinator's peak RSS and CPU (and the sites' CPU);
 * - disconnects by reason;
 * - correctness: every round published, every acknowledged update stored in its round, and the last round's
 *   published model equal to the weighted mean of exactly the acknowledged updates.
 * With `--kill-at-round K` it kill -9s the coordinator once half of round K's updates are in, starts it again on the
 * same folder, and measures the time until `/healthz` answers.
 *
 * The last line is plain: `load N sites x R rounds: ack p99 X ms, publish p50 X ms, loop delay p99 X ms,
 * disconnects N, correct yes|no`. Run it under `flock /tmp/facmic-bench.lock` on a shared machine.
 */
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { build } from 'esbuild';
import { isCounterEntry } from '@facmic/learning/plain';
import { decodeTensors } from '@facmic/protocol';
import { generateToken } from '../auth.ts';
import type { SitesReport, SitesStart } from './load-sites.ts';
import { parseHistogram, windowQuantile, type HistogramBuckets } from './prom-histogram.ts';

const { values: args } = parseArgs({
  options: {
    sites: { type: 'string', default: '100' },
    rounds: { type: 'string', default: '3' },
    processes: { type: 'string' },
    'train-ms': { type: 'string', default: '2000-10000' },
    'kill-at-round': { type: 'string' },
    dim: { type: 'string', default: '512' },
    'stall-seconds': { type: 'string', default: '180' },
  },
});
const N = Number(args.sites);
const R = Number(args.rounds);
const P = Number(args.processes ?? Math.min(4, Math.max(1, Math.ceil(N / 150))));
const [trainMin, trainMax] = args['train-ms'].split('-').map(Number) as [number, number];
const killAt = args['kill-at-round'] === undefined ? null : Number(args['kill-at-round']);
const DIM = Number(args.dim);
const STALL_MS = Number(args['stall-seconds']) * 1000;
if (![N, R, P, trainMin, trainMax, DIM].every((v) => Number.isInteger(v) && v >= 0) || N < 1 || R < 1 || (killAt !== null && (killAt < 1 || killAt > R))) {
  process.stderr.write('usage: bench:load -- --sites N --rounds R [--processes P] [--train-ms MIN-MAX] [--kill-at-round K] [--dim D]\n');
  process.exit(2);
}

const here = new URL('.', import.meta.url).pathname;
const dataDir = mkdtempSync(join(tmpdir(), 'facmic-load-'));
const adminToken = generateToken();
const log = (line: string) => { process.stdout.write(`${line}\n`); };

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => { resolve(port); });
    });
  });
}
const port = await freePort();
const url = `http://127.0.0.1:${port}`;

/**
 * The coordinator runs from one bundled JavaScript file (esbuild; the npm packages stay outside it), so that a
 * restart measures the coordinator's recovery, not tsx compiling its TypeScript (seconds on a busy 2-core machine).
 */
const bundleDir = join(process.cwd(), 'node_modules', '.cache', 'facmic-load');
const bundle = join(bundleDir, 'coordinator.mjs');
await build({
  // The submission worker is bundled beside it (`submission-worker.mjs`; load-coordinator.ts points the coordinator at it).
  entryPoints: { coordinator: join(here, 'load-coordinator.ts'), 'submission-worker': join(here, '..', 'submission-worker.ts') },
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  outdir: bundleDir,
  outExtension: { '.js': '.mjs' },
  // The workspace packages are bundled (TypeScript sources); every other package is loaded from node_modules.
  plugins: [
    {
      name: 'external-packages',
      setup(b) {
        b.onResolve({ filter: /^[^./#]/ }, (a) => (a.path.startsWith('@facmic/') ? undefined : { path: a.path, external: true }));
      },
    },
  ],
  logLevel: 'error',
});

let coordinator: ChildProcess;
function startCoordinator(): ChildProcess {
  // LOAD_COORDINATOR_NODE_ARGS: extra Node flags for the coordinator (e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`).
  const extra = (process.env.LOAD_COORDINATOR_NODE_ARGS ?? '').split(' ').filter((a) => a !== '');
  const child = spawn(process.execPath, [...extra, bundle], {
    env: { ...process.env, LOAD_DATA_DIR: dataDir, LOAD_PORT: String(port), LOAD_ADMIN_TOKEN: adminToken, LOAD_DIM: String(DIM) },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  return child;
}

async function waitHealthy(timeoutMs: number): Promise<number> {
  const started = performance.now();
  while (performance.now() - started < timeoutMs) {
    try {
      const response = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(1000) });
      if (response.ok) return performance.now() - started;
    } catch {
      // not up yet
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`the coordinator did not answer /healthz within ${timeoutMs} ms`);
}

async function rest<T>(path: string, init: { method?: string; body?: unknown } = {}): Promise<T> {
  const response = await fetch(`${url}${path}`, {
    method: init.method ?? 'GET',
    headers: { authorization: `Bearer ${adminToken}`, ...(init.body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
    signal: AbortSignal.timeout(30_000),
  });
  if (!response.ok) throw new Error(`${init.method ?? 'GET'} ${path}: ${response.status} ${await response.text()}`);
  return (response.headers.get('content-type')?.includes('json') ? await response.json() : new Uint8Array(await response.arrayBuffer())) as T;
}

/** The coordinator's own gauges (loop delay, RSS, CPU), from `/metrics`. */
async function scrape(): Promise<{ loopP99Ms: number; loopMaxMs: number; loopBuckets: HistogramBuckets; rssBytes: number; cpuSeconds: number } | null> {
  try {
    const text = await (await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(5000) })).text();
    const value = (pattern: RegExp) => Number(pattern.exec(text)?.[1] ?? NaN);
    return {
      loopP99Ms: value(/^facmic_event_loop_delay_seconds\{quantile="0\.99"\} (\S+)/m) * 1000,
      loopMaxMs: value(/^facmic_event_loop_delay_seconds\{quantile="1"\} (\S+)/m) * 1000,
      loopBuckets: parseHistogram(text, 'facmic_event_loop_interval_seconds'),
      rssBytes: value(/^facmic_process_max_rss_bytes (\S+)/m),
      cpuSeconds: value(/^facmic_process_cpu_seconds\{mode="user"\} (\S+)/m) + value(/^facmic_process_cpu_seconds\{mode="system"\} (\S+)/m),
    };
  } catch {
    return null;
  }
}

const quantile = (sorted: number[], q: number) => (sorted.length === 0 ? NaN : (sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number));
const ms = (v: number) => (Number.isFinite(v) ? v.toFixed(v < 10 ? 1 : 0) : 'n/a');

// ---- set-up -----------------------------------------------------------------------------------------------------
log(`bench:load: ${N} sites in ${P} processes, ${R} rounds, D=${DIM} float16 updates, training ${trainMin}-${trainMax} ms${killAt === null ? '' : `, kill -9 in round ${killAt}`}`);
coordinator = startCoordinator();
await waitHealthy(60_000);
const federation = await rest<{ config: { id: string } }>('/api/federations', {
  method: 'POST',
  body: { name: `load ${N}`, classNames: ['a', 'b'], rounds: R, quorum: N, roundDeadlineSeconds: 3600, reference: { kind: 'generated', count: 8 }, globalTest: null },
});
const federationId = federation.config.id;
const invites: { id: string; token: string }[] = [];
for (let i = 0; i < N; i += 16) {
  const batch = await Promise.all(
    Array.from({ length: Math.min(16, N - i) }, (_, k) => rest<{ site: { id: string }; token: string }>(`/api/federations/${federationId}/invites`, { method: 'POST', body: { name: `Site ${i + k + 1}` } })),
  );
  invites.push(...batch.map((b) => ({ id: b.site.id, token: b.token })));
}

// The event-loop delay counts from here: the sites' connections, downloads and rounds, not the federation's set-up.
const loopBaseline = await scrape();

// ---- the run ----------------------------------------------------------------------------------------------------
const acks: { siteId: string; round: number; ms: number; ok: boolean; code: string | null; at: number }[] = [];
const disconnects = new Map<string, number>();
const killDisconnects = new Map<string, number>();
const finished = new Set<string>();
const partials: Extract<SitesReport, { type: 'partial' }>[] = [];
let killWindow = false;
let lastProgress = Date.now();
const sitesStarted = Date.now();

const children = Array.from({ length: P }, (_, p) => {
  const child = fork(join(here, 'load-sites.ts'), [], { execArgv: ['--import', 'tsx'], serialization: 'advanced', stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  child.on('message', (message: SitesReport) => {
    lastProgress = Date.now();
    if (message.type === 'ack') acks.push(message);
    else if (message.type === 'disconnect') {
      const into = killWindow ? killDisconnects : disconnects;
      into.set(message.reason, (into.get(message.reason) ?? 0) + 1);
    } else if (message.type === 'finished') finished.add(message.siteId);
    else partials.push(message);
  });
  const start: SitesStart = {
    type: 'start',
    url,
    federationId,
    sites: invites.filter((_, i) => i % P === p),
    dim: DIM,
    trainMs: [trainMin, trainMax],
    seed: 1000 + p,
    lastRound: R,
  };
  child.send(start);
  return child;
});

let maxLoopP99 = 0;
let maxLoopMax = 0;
/** Per coordinator process (two after a kill): the interval histogram at the window's start (null: the process start) and its last scrape. */
const loopWindows: { before: HistogramBuckets | null; last: HistogramBuckets | null }[] = [{ before: loopBaseline?.loopBuckets ?? null, last: null }];
let maxRss = 0;
let cpuBeforeKill = 0;
let lastCpu = 0;
let healthAfterKillMs: number | null = null;
let killed = false;
let stalled = false;
const track = (m: Awaited<ReturnType<typeof scrape>>) => {
  if (!m) return;
  if (Number.isFinite(m.loopP99Ms)) maxLoopP99 = Math.max(maxLoopP99, m.loopP99Ms);
  if (Number.isFinite(m.loopMaxMs)) maxLoopMax = Math.max(maxLoopMax, m.loopMaxMs);
  const window = loopWindows.at(-1);
  if (window && m.loopBuckets.length > 0) window.last = m.loopBuckets;
  if (Number.isFinite(m.rssBytes)) maxRss = Math.max(maxRss, m.rssBytes);
  if (Number.isFinite(m.cpuSeconds)) lastCpu = m.cpuSeconds;
};

let lastRoundLogged = 0;
for (;;) {
  await new Promise((resolve) => setTimeout(resolve, 1000));
  track(await scrape());
  let status: { summary: { status: string; round: number } } | null;
  try {
    status = await rest(`/api/federations/${federationId}`);
  } catch {
    status = null;
  }
  const round = status?.summary.round ?? 0;
  const acked = (r: number) => acks.filter((a) => a.round === r && a.ok).length;
  if (status && round > lastRoundLogged && (status.summary.status === 'training' || status.summary.status === 'finished')) {
    for (let r = lastRoundLogged + 1; r < round || (status.summary.status === 'finished' && r <= round); r++) log(`  round ${r} published (${acked(r)} acks, ${((Date.now() - sitesStarted) / 1000).toFixed(1)} s)`);
    lastRoundLogged = status.summary.status === 'finished' ? round : round - 1;
    lastProgress = Date.now();
  }
  if (killAt !== null && !killed && status?.summary.status === 'training' && round === killAt && acked(killAt) >= N / 2) {
    killed = true;
    cpuBeforeKill = lastCpu;
    killWindow = true;
    log(`  kill -9 of the coordinator in round ${killAt} with ${acked(killAt)} of ${N} updates acknowledged`);
    coordinator.kill('SIGKILL');
    await new Promise((resolve) => coordinator.once('exit', resolve));
    const restarted = performance.now();
    coordinator = startCoordinator();
    loopWindows.push({ before: null, last: null });
    healthAfterKillMs = (await waitHealthy(60_000), performance.now() - restarted);
    log(`  restarted: /healthz answered ${ms(healthAfterKillMs)} ms after the restart`);
    setTimeout(() => { killWindow = false; }, 5000);
  }
  if (status?.summary.status === 'finished' && finished.size === N) break;
  if (Date.now() - lastProgress > STALL_MS) {
    stalled = true;
    log(`  stalled: nothing happened for ${STALL_MS / 1000} s (status ${status?.summary.status ?? 'unreachable'}, round ${round})`);
    break;
  }
}
const wallSeconds = (Date.now() - sitesStarted) / 1000;
track(await scrape());

// ---- checks -----------------------------------------------------------------------------------------------------
for (const child of children) child.send({ type: 'report' });
await new Promise<void>((resolve) => {
  const check = setInterval(() => {
    if (partials.length === P) {
      clearInterval(check);
      resolve();
    }
  }, 50);
});

type RoundSummary = { round: number; status: string; publishedAt: number | null };
const rounds = (await rest<{ rounds: RoundSummary[] }>(`/api/federations/${federationId}/rounds`)).rounds;
const problems: string[] = [];
const gaps: number[] = [];
for (let r = 1; r <= R; r++) {
  const summary = rounds.find((s) => s.round === r);
  if (summary?.status !== 'published' || summary.publishedAt === null) {
    problems.push(`round ${r} was not published`);
    continue;
  }
  const accepted = acks.filter((a) => a.round === r && a.ok);
  const detail = await rest<{ submissions: { siteId: string; receivedAt: number }[] }>(`/api/federations/${federationId}/rounds/${r}`);
  // From the last submission stored (the coordinator's clock: an ack can reach its site after the publication, queued
  // behind the next round's model downloads on the same connection) to the publication.
  gaps.push(summary.publishedAt - Math.max(...detail.submissions.map((s) => s.receivedAt)));
  const stored = new Set(detail.submissions.map((s) => s.siteId));
  const lost = accepted.filter((a) => !stored.has(a.siteId));
  if (lost.length > 0) problems.push(`round ${r}: ${lost.length} acknowledged updates are not in the published round`);
}
let maxError = NaN;
if (!stalled) {
  const bytes = await rest<Uint8Array>(`/api/federations/${federationId}/models/${R}`);
  const published = decodeTensors(bytes).tensors;
  const samples = partials.reduce((s, p) => s + p.samples, 0);
  maxError = 0;
  for (const [name, tensor] of Object.entries(published)) {
    if (isCounterEntry(name)) continue;
    for (let i = 0; i < tensor.data.length; i++) {
      let sum = 0;
      for (const p of partials) sum += p.sums[name]?.[i] ?? NaN;
      maxError = Math.max(maxError, Math.abs((tensor.data[i] as number) - sum / samples));
    }
  }
  if (!(maxError <= 1e-6)) problems.push(`the last round's model differs from the weighted mean of its acknowledged updates by up to ${maxError}`);
}
if (stalled) problems.push('the run stalled');

coordinator.kill('SIGTERM');
await new Promise((resolve) => coordinator.once('exit', resolve));
rmSync(dataDir, { recursive: true, force: true });

// ---- report -----------------------------------------------------------------------------------------------------
const latencies = acks.map((a) => a.ms).sort((a, b) => a - b);
const refusals = new Map<string, number>();
for (const a of acks) if (!a.ok) refusals.set(a.code ?? '?', (refusals.get(a.code ?? '?') ?? 0) + 1);
const sortedGaps = [...gaps].sort((a, b) => a - b);
const disconnectCount = [...disconnects.values()].reduce((a, b) => a + b, 0);
const coordinatorCpu = killed ? cpuBeforeKill + lastCpu : lastCpu;
const siteCpu = partials.reduce((s, p) => s + p.cpuSeconds, 0);
const correct = problems.length === 0;
// Over the run, each process's window from its two scrapes; the larger of the two processes after a kill.
const loopP99 = Math.max(...loopWindows.map((w) => (w.last ? windowQuantile(0.99, w.last, w.before) * 1000 : Number.NaN)));
log('');
log(`acks: ${acks.length} (${acks.filter((a) => a.ok).length} accepted${refusals.size > 0 ? `, refused: ${[...refusals].map(([c, n]) => `${c} ${n}`).join(', ')}` : ''})`);
log(`ack latency (sites' view): p50 ${ms(quantile(latencies, 0.5))} ms, p95 ${ms(quantile(latencies, 0.95))} ms, p99 ${ms(quantile(latencies, 0.99))} ms, max ${ms(latencies.at(-1) ?? NaN)} ms`);
log(`last submission to publication: p50 ${ms(quantile(sortedGaps, 0.5))} ms, max ${ms(sortedGaps.at(-1) ?? NaN)} ms (per round: ${gaps.map((g) => ms(g)).join(', ')})`);
log(
  `coordinator event-loop delay (interval of a 10 ms timer, the tick included): p99 ${ms(loopP99)} ms over the run${killed ? ' (the larger of the two processes)' : ''}; ` +
    `max ${ms(maxLoopMax)} ms, largest p99 since the process start ${ms(maxLoopP99)} ms (monitorEventLoopDelay; the federation's set-up included)`,
);
log(`coordinator: peak RSS ${(maxRss / 2 ** 20).toFixed(0)} MiB, CPU ${coordinatorCpu.toFixed(1)} s over ${wallSeconds.toFixed(1)} s (${((100 * coordinatorCpu) / wallSeconds).toFixed(0)} % of one core); sites' processes: CPU ${siteCpu.toFixed(1)} s`);
log(`disconnects: ${disconnectCount}${disconnects.size > 0 ? ` (${[...disconnects].map(([r, n]) => `${r} ${n}`).join(', ')})` : ''}${killed ? `; during the kill: ${[...killDisconnects].map(([r, n]) => `${r} ${n}`).join(', ')}` : ''}`);
if (healthAfterKillMs !== null) log(`kill -9 in round ${killAt}: /healthz ${ms(healthAfterKillMs)} ms after the restart (process start included)`);
log(`correctness: ${correct ? 'yes' : 'no'}${Number.isFinite(maxError) ? ` (last round: max |published - weighted mean| = ${maxError.toExponential(2)})` : ''}${problems.length > 0 ? `; ${problems.join('; ')}` : ''}`);
log(
  `load ${N} sites x ${R} rounds: ack p99 ${ms(quantile(latencies, 0.99))} ms, publish p50 ${ms(quantile(sortedGaps, 0.5))} ms, loop delay p99 ${ms(loopP99)} ms, disconnects ${disconnectCount}, correct ${correct ? 'yes' : 'no'}`,
);
process.exit(correct ? 0 : 1);
