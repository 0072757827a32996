import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEncoder } from '../encoder.ts';
import { buildTinyClipFiles } from '../fixture/tiny-clip.ts';
import { fetchModel, MODEL_MANIFEST, type DownloadProgress } from './download.ts';
import { ensureTinyClip } from './tiny-clip-files.ts';

const ID = 'facmic/tiny-clip';
const files = buildTinyClipFiles();

interface ServerState {
  honourRange: boolean;
  missing: Set<string>;
  /** Stop sending after this many bytes of a body (simulates a dropped connection). */
  cutAfter: number | undefined;
  requests: { path: string; range: string | undefined; status: number }[];
}

const state: ServerState = { honourRange: true, missing: new Set(), cutAfter: undefined, requests: [] };
let server: Server;
let host: string;
let root: string;

/** Serves the fixture in the hub's layout, `/<id>/resolve/main/<file>`, and in a mirror's, `/models/<id>/<file>`. */
function startServer(): Promise<void> {
  server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const hub = /^\/(.+?)\/resolve\/main\/(.+)$/.exec(url.pathname);
    const mirror = /^\/models\/facmic-tiny-clip\/(.+)$/.exec(url.pathname);
    const file = hub?.[1] === ID ? hub[2] : mirror?.[1];
    const body = file !== undefined && !state.missing.has(file) ? files.get(file) : undefined;
    const range = req.headers.range;
    const record = (status: number) => state.requests.push({ path: url.pathname, range, status });
    if (!body) {
      record(404);
      res.writeHead(404).end('not found');
      return;
    }
    const match = /^bytes=(\d+)-$/.exec(range ?? '');
    const start = state.honourRange && match ? Number(match[1]) : 0;
    if (start >= body.length && start > 0) {
      record(416);
      res.writeHead(416).end();
      return;
    }
    const status = start > 0 ? 206 : 200;
    record(status);
    const slice = body.subarray(start);
    res.writeHead(status, { 'content-length': String(slice.length), 'content-type': 'application/octet-stream' });
    if (state.cutAfter !== undefined && slice.length > state.cutAfter) {
      res.flushHeaders();
      res.write(slice.subarray(0, state.cutAfter), () => {
        setTimeout(() => res.destroy(), 50);
      });
      return;
    }
    res.end(slice);
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      host = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
      resolve();
    });
  });
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'facmic-fetch-'));
  await startServer();
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

function reset(): void {
  state.honourRange = true;
  state.missing = new Set();
  state.cutAfter = undefined;
  state.requests = [];
}

describe('fetchModel (models:fetch) against a local server in the hub layout', () => {
  it('downloads every file into <out>/<id>/ with progress and writes a manifest with the model hash', async () => {
    reset();
    const out = join(root, 'full');
    const progress: DownloadProgress[] = [];
    const result = await fetchModel({ source: { kind: 'hub', id: ID, host }, outDir: out, onProgress: (p) => progress.push(p) });
    expect(result.dir).toBe(join(out, 'facmic', 'tiny-clip'));
    for (const [file, bytes] of files) expect(Buffer.from(await readFile(join(result.dir, file))).equals(Buffer.from(bytes)), file).toBe(true);
    expect(result.files.every((f) => f.status === 'downloaded')).toBe(true);
    expect(progress.filter((p) => p.phase === 'done').map((p) => p.file).sort()).toEqual([...files.keys()].sort());
    const manifest = JSON.parse(await readFile(join(result.dir, MODEL_MANIFEST), 'utf8')) as { modelHash: string };
    expect(manifest.modelHash).toBe(result.modelHash);

    // A second run finds everything in place and downloads nothing.
    state.requests = [];
    const again = await fetchModel({ source: { kind: 'hub', id: ID, host }, outDir: out });
    expect(again.files.every((f) => f.status === 'present')).toBe(true);
    expect(state.requests).toEqual([]);
    expect(again.modelHash).toBe(result.modelHash);
  });

  it('resumes an interrupted download with a Range request, and restarts when the server ignores ranges', async () => {
    reset();
    const out = join(root, 'resume');
    state.cutAfter = 100_000;
    await expect(fetchModel({ source: { kind: 'hub', id: ID, host }, outDir: out, files: ['onnx/vision_model.onnx'] })).rejects.toThrow();
    const dir = join(out, 'facmic', 'tiny-clip');
    const part = join(dir, 'onnx/vision_model.onnx.part');
    expect((await stat(part)).size).toBe(100_000);
    await expect(stat(join(dir, 'onnx/vision_model.onnx'))).rejects.toThrow(/ENOENT/);

    state.cutAfter = undefined;
    state.requests = [];
    const resumed = await fetchModel({ source: { kind: 'hub', id: ID, host }, outDir: out, files: ['onnx/vision_model.onnx'] });
    expect(resumed.files[0]?.status).toBe('resumed');
    expect(state.requests).toEqual([{ path: `/${ID}/resolve/main/onnx/vision_model.onnx`, range: 'bytes=100000-', status: 206 }]);
    expect(Buffer.from(await readFile(join(dir, 'onnx/vision_model.onnx'))).equals(Buffer.from(files.get('onnx/vision_model.onnx')!))).toBe(true);

    await rm(join(dir, 'onnx/vision_model.onnx'));
    await writeFile(part, Buffer.alloc(5000, 1));
    state.honourRange = false;
    const restarted = await fetchModel({ source: { kind: 'hub', id: ID, host }, outDir: out, files: ['onnx/vision_model.onnx'] });
    expect(restarted.files[0]?.status).toBe('downloaded');
    expect(Buffer.from(await readFile(join(dir, 'onnx/vision_model.onnx'))).equals(Buffer.from(files.get('onnx/vision_model.onnx')!))).toBe(true);
  });

  it('skips optional files the server lacks and fails clearly on a missing required file', async () => {
    reset();
    state.missing = new Set(['merges.txt', 'vocab.json']);
    const result = await fetchModel({ source: { kind: 'hub', id: ID, host }, outDir: join(root, 'optional') });
    expect(result.files.filter((f) => f.status === 'missing').map((f) => f.path).sort()).toEqual(['merges.txt', 'vocab.json']);
    state.missing = new Set(['onnx/text_model.onnx']);
    await expect(fetchModel({ source: { kind: 'hub', id: ID, host }, outDir: join(root, 'required') })).rejects.toThrow(/has no onnx\/text_model.onnx/);
  });
});

describe('createEncoder with remote sources in Node', () => {
  it('downloads a hub model or a mirror into the model cache and gets the same hash as the folder', async () => {
    reset();
    const folder = await ensureTinyClip(join(root, 'local', 'facmic-tiny-clip'));
    const local = await createEncoder({ model: { kind: 'folder', path: folder.dir }, cache: false });
    const fromHub = await createEncoder({ model: { kind: 'hub', id: ID, host }, modelCacheDir: join(root, 'model-cache'), cache: false });
    const fromMirror = await createEncoder({ model: `${host}models/facmic-tiny-clip`, modelCacheDir: join(root, 'model-cache'), cache: false });
    expect(fromHub.info.modelHash).toBe(local.info.modelHash);
    expect(fromMirror.info.modelHash).toBe(local.info.modelHash);
    expect(fromHub.info.modelId).toBe(ID);
    expect(fromMirror.info.source).toBe(`mirror ${host}models/facmic-tiny-clip/`);
    const prompts = ['a photo of rings'];
    expect(Array.from((await fromHub.encodeTexts(prompts)).features)).toEqual(Array.from((await local.encodeTexts(prompts)).features));
    await Promise.all([local.dispose(), fromHub.dispose(), fromMirror.dispose()]);
  });
});
