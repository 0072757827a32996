/**
 * `npm start` as a user runs it: a bad setting stops start-up naming it; the first start prints the URL, the admin
 * token and the demo federation's invite links (generated tiny CLIP, generated images); virtual hospitals run a
 * federation to the end; a second start on the same data keeps the token and the federation.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { coordinatorInfoSchema, federationDetailSchema, parseInviteLink, readDemoHospitalIndex } from '@facmic/protocol';
import { afterAll, describe, expect, it } from 'vitest';
import { api, apiParsed, tempDir } from './helpers.ts';

const REPO_ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '..', '..', '..');
const MAIN = join(REPO_ROOT, 'apps', 'coordinator', 'src', 'main.ts');

interface Started {
  child: ChildProcess;
  url: string;
  stdout: () => string;
  exited: Promise<number | null>;
}

function start(args: string[], env: Record<string, string> = {}, ready = /listening on (http\S+)/): Promise<Started> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', MAIN, ...args], { cwd: REPO_ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => { r(code); }));
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const match = ready.exec(out);
      const url = /listening on (http\S+)/.exec(out)?.[1];
      if (match && url) resolvePromise({ child, url, stdout: () => out, exited });
    });
    child.stderr.on('data', (chunk: Buffer) => { err += chunk.toString(); });
    void exited.then((code) => { reject(new Error(`exited with ${code}: ${err.slice(-2000)}`)); });
  });
}

function run(args: string[], env: Record<string, string>): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolvePromise) => {
    const child = spawn(process.execPath, ['--import', 'tsx', MAIN, ...args], { cwd: REPO_ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString(); });
    child.once('exit', (code) => { resolvePromise({ code, stderr }); });
  });
}

describe('npm start', () => {
  const dir = tempDir();
  const children: ChildProcess[] = [];
  afterAll(() => {
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
    dir.remove();
  });

  it.each([
    [['--port', 'abc'], {}, '--port / PORT'],
    [[], { FACMIC_ADMIN_TOKEN: 'short' }, 'FACMIC_ADMIN_TOKEN'],
    [['--virtual-sites', 'many'], {}, '--virtual-sites'],
  ])('stops on a bad setting %j %j and names it', async (args, env, named) => {
    const { code, stderr } = await run([...args, '--data-dir', join(dir.path, 'unused')], env);
    expect(code).toBe(2);
    expect(stderr).toContain(named);
  });

  it('first start: URL, admin token, demo federation with invites; virtual hospitals finish it; restart keeps everything', async () => {
    const args = ['--port', '0', '--data-dir', join(dir.path, 'data'), '--models-dir', join(dir.path, 'models'), '--web-dir', join(dir.path, 'no-web'), '--log-level', 'warn'];
    const first = await start(args, {}, /Hospital C: (\S+)/);
    children.push(first.child);
    const out = first.stdout();
    const token = /admin token \(shown once; keep it\): (\S+)/.exec(out)?.[1];
    expect(token).toBeDefined();
    const printed = [...out.matchAll(/Hospital [ABC]: (\S+)/g)].map((m) => m[1]!);
    const links = printed.map((link) => parseInviteLink(link));
    expect(links).toHaveLength(3);
    expect(links.every((l) => l?.federationId === 'demo-brain-tumor' && l.coordinatorUrl === first.url)).toBe(true);
    // Opened as printed, each link is a demo hospital that generates its own images.
    expect(printed.map((link) => readDemoHospitalIndex(new URL(link).searchParams))).toEqual([0, 1, 2]);
    expect(out).toContain('generates its own images');

    const info = await apiParsed(coordinatorInfoSchema, first.url, '/api/info');
    expect(info).toMatchObject({ demoFederationId: 'demo-brain-tumor', encoder: { modelId: 'facmic-tiny-clip', source: 'tiny', featureDim: 512 } });
    expect((await fetch(`${first.url}/site`)).status).toBe(200);
    const auth = { token: token! };
    const demo = await apiParsed(federationDetailSchema, first.url, '/api/federations/demo-brain-tumor', auth);
    expect(demo.config.classNames).toEqual(['glioma tumor', 'meningioma tumor', 'no tumor', 'pituitary tumor']);
    expect(demo.config.training).toMatchObject({ stepsPerRound: 199, localEpochs: null, batchSize: 32, optimizer: { learningRate: 5e-5, betas: [0.9, 0.98], epsilon: 1e-6, weightDecay: 0.02 } });
    // The paper's 50 rounds, paced so people can follow them.
    expect(demo.config).toMatchObject({ rounds: 50, quorum: 2, minRoundSeconds: 6, roundDeadlineSeconds: 300 });

    // One unpaced round (the demo's: 199 steps of 32 per hospital) with two virtual hospitals (child processes) to the end.
    expect((await api(first.url, '/api/federations/demo-brain-tumor', { method: 'PATCH', body: { rounds: 1, minRoundSeconds: 0 }, ...auth })).status).toBe(200);
    const added = await api(first.url, '/api/federations/demo-brain-tumor/virtual-sites', { method: 'POST', body: { count: 2, samplesPerSite: 16 }, ...auth });
    expect(added.status).toBe(201);
    const deadline = Date.now() + 300_000;
    let status = '';
    while (status !== 'finished' && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 500));
      status = (await apiParsed(federationDetailSchema, first.url, '/api/federations/demo-brain-tumor', auth)).summary.status;
    }
    expect(status).toBe('finished');

    first.child.kill('SIGTERM');
    expect(await first.exited).toBe(0);

    const second = await start(args, {}, /demo federation demo-brain-tumor: .*\n/);
    children.push(second.child);
    expect(second.stdout()).not.toContain('shown once');
    expect(second.stdout()).toContain('demo federation demo-brain-tumor: finished, round 1 of 1');
    const again = await apiParsed(federationDetailSchema, second.url, '/api/federations/demo-brain-tumor', auth);
    expect(again.summary).toMatchObject({ status: 'finished', round: 1 });
    expect((await api(second.url, '/api/federations', auth)).body).toMatchObject({ federations: [{ id: 'demo-brain-tumor' }] });
    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);
  }, 480_000);
});
