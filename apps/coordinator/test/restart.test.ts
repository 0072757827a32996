/**
 * Acceptance: the coordinator stops mid-round (gracefully, and by SIGKILL of its process) and starts again on the
 * same SQLite file; the sites reconnect by themselves and the federation finishes all its rounds; every submission
 * a site saw acknowledged is in the final store.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { federationDetailSchema } from '@facmic/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { generateToken } from '../src/auth.ts';
import { openSqliteStore } from '../src/store/sqlite-store.ts';
import { api, apiParsed, createInvite, createTestFederation, startTestCoordinator, tempDir, TEST_DIM, type TestCoordinator } from './helpers.ts';

const REPO_ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '..', '..', '..');
const FIXTURE = fileURLToPath(new URL('./fixtures/coordinator-process.ts', import.meta.url));

interface Accepted {
  site: string;
  round: number;
  checksum: string;
}

interface SiteProcess {
  child: ChildProcess;
  siteId: string;
  finished: Promise<string>;
}

const SITE_FIXTURE = fileURLToPath(new URL('./fixtures/site-process.ts', import.meta.url));

/**
 * Three sites, each in its own process (as hospitals are): two fast ones and a slow one (many more samples), so a
 * round stays open while the slow one trains.
 */
async function startThreeSites(t: Pick<TestCoordinator, 'url' | 'adminToken'>, federationId: string, onSubmitted: (siteIndex: number, round: number) => void) {
  const accepted: Accepted[] = [];
  const sites: SiteProcess[] = [];
  const perClass = [2, 3, 300];
  for (const [i, n] of perClass.entries()) {
    const invite = await createInvite(t, federationId, `Hospital ${i + 1}`);
    const spec = { url: t.url, federationId, token: invite.token, name: `hospital-${i + 1}`, trainPerClass: n, seed: i + 1, dim: TEST_DIM };
    const child = spawn(process.execPath, ['--import', 'tsx', SITE_FIXTURE], {
      cwd: REPO_ROOT,
      env: { ...process.env, FACMIC_TEST_SITE: JSON.stringify(spec) },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const finished = new Promise<string>((resolvePromise) => {
      let buffer = '';
      let reason = 'exited';
      child.stdout.on('data', (chunk: Buffer) => {
        buffer += chunk.toString();
        let newline;
        while ((newline = buffer.indexOf('\n')) >= 0) {
          const line = JSON.parse(buffer.slice(0, newline)) as { event: string; round?: number; checksum?: string; reason?: string; message?: string };
          buffer = buffer.slice(newline + 1);
          if (line.event === 'submitted' && line.round !== undefined && line.checksum !== undefined) {
            accepted.push({ site: invite.site.id, round: line.round, checksum: line.checksum });
            onSubmitted(i, line.round);
          }
          if (line.event === 'finished') reason = line.reason ?? 'unknown';
          if (line.event === 'failed') reason = `failed: ${line.message ?? ''}`;
        }
      });
      child.once('exit', () => { resolvePromise(reason); });
    });
    sites.push({ child, siteId: invite.site.id, finished });
  }
  return { sites, accepted };
}

function checkNothingLost(dbPath: string, federationId: string, accepted: Accepted[], rounds: number): void {
  const store = openSqliteStore(dbPath);
  try {
    const federation = store.getFederation(federationId);
    expect(federation?.status).toBe('finished');
    expect(federation?.round).toBe(rounds);
    for (const a of accepted) {
      const stored = store.getSubmission(federationId, a.round, a.site);
      expect(stored, `round ${a.round} of ${a.site}`).not.toBeNull();
      expect(stored?.checksum).toBe(a.checksum);
    }
    for (let round = 1; round <= rounds; round++) {
      expect(store.getGlobalModel(federationId, round)).not.toBeNull();
      const contributors = store.listGlobalModels(federationId).find((m) => m.round === round)?.contributors ?? [];
      expect(contributors.length).toBe(3);
    }
  } finally {
    store.close();
  }
}

describe('coordinator restarts', () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  it('resumes after a graceful stop mid-round on the same SQLite file', async () => {
    const dir = tempDir();
    cleanups.push(dir.remove);
    const dbPath = join(dir.path, 'coordinator.sqlite');
    const adminToken = generateToken();
    let t = await startTestCoordinator({ dbPath, adminToken });
    const port = Number(new URL(t.url).port);
    const detail = await createTestFederation(t, { rounds: 3, quorum: 3, training: { localEpochs: 1, stepsPerRound: null, batchSize: 8 } });
    const federationId = detail.config.id;
    let fastRoundTwo = 0;
    let midRound!: () => void;
    const reached = new Promise<void>((r) => { midRound = r; });
    const { sites, accepted } = await startThreeSites(t, federationId, (i, round) => {
      if (round === 2 && i < 2 && ++fastRoundTwo === 2) midRound();
    });
    cleanups.push(() => { for (const s of sites) s.child.kill('SIGKILL'); });

    await reached;
    const open = t.store.getFederation(federationId);
    expect(open?.status).toBe('training');
    expect(open?.round).toBe(2);
    expect(t.store.listSubmissions(federationId, 2).length).toBeLessThan(3);
    await t.coordinator.close();
    t.store.close();

    t = await startTestCoordinator({ dbPath, adminToken, port });
    cleanups.push(() => t.close());
    const results = await Promise.all(sites.map((s) => s.finished));
    expect(results).toEqual(['finished', 'finished', 'finished']);
    checkNothingLost(dbPath, federationId, accepted, 3);
    expect(accepted.filter((a) => a.round === 2)).toHaveLength(3);
  });

  it('resumes after SIGKILL of the coordinator process mid-round', async () => {
    const dir = tempDir();
    cleanups.push(dir.remove);
    const dbPath = join(dir.path, 'coordinator.sqlite');
    const adminToken = generateToken();

    const launch = (port: number): Promise<{ child: ChildProcess; url: string }> =>
      new Promise((resolvePromise, reject) => {
        const child = spawn(process.execPath, ['--import', 'tsx', FIXTURE], {
          cwd: REPO_ROOT,
          env: { ...process.env, FACMIC_TEST_DB: dbPath, FACMIC_TEST_PORT: String(port), FACMIC_ADMIN_TOKEN: adminToken, FACMIC_TEST_DIM: String(TEST_DIM) },
          stdio: ['ignore', 'pipe', 'inherit'],
        });
        let output = '';
        child.stdout.on('data', (chunk: Buffer) => {
          output += chunk.toString();
          const match = /READY (\S+)/.exec(output);
          if (match?.[1]) resolvePromise({ child, url: match[1] });
        });
        child.once('exit', (code) => { reject(new Error(`coordinator process exited (${code}) before it was ready`)); });
      });

    const first = await launch(0);
    cleanups.push(() => { first.child.kill('SIGKILL'); });
    const port = Number(new URL(first.url).port);
    const t = { url: first.url, adminToken };
    const detail = await createTestFederation(t, { rounds: 3, quorum: 3, training: { localEpochs: 1, stepsPerRound: null, batchSize: 8 } });
    const federationId = detail.config.id;
    let fastRoundTwo = 0;
    let midRound!: () => void;
    const reached = new Promise<void>((r) => { midRound = r; });
    const { sites, accepted } = await startThreeSites(t, federationId, (i, round) => {
      if (round === 2 && i < 2 && ++fastRoundTwo === 2) midRound();
    });
    cleanups.push(() => { for (const s of sites) s.child.kill('SIGKILL'); });

    await reached;
    const before = await apiParsed(federationDetailSchema, first.url, `/api/federations/${federationId}`, { token: adminToken });
    expect(before.summary.status).toBe('training');
    expect(before.summary.round).toBe(2);
    expect(before.summary.submissions).toBeLessThan(3);
    const killed = new Promise((r) => first.child.once('exit', r));
    first.child.kill('SIGKILL');
    await killed;

    const second = await launch(port);
    cleanups.push(() => { second.child.kill('SIGKILL'); });
    const health = await api(second.url, '/healthz');
    expect(health.status).toBe(200);
    const results = await Promise.all(sites.map((s) => s.finished));
    expect(results).toEqual(['finished', 'finished', 'finished']);
    second.child.kill('SIGTERM');
    await new Promise((r) => second.child.once('exit', r));
    checkNothingLost(dbPath, federationId, accepted, 3);
  });
});
