/**
 * Downloads a model's files into `<outDir>/<id>/` (the layout a coordinator mirrors at `/models/<id>/`). Each file is
 * streamed into `<file>.part` and renamed into place only when complete, so a present file is always whole; an
 * interrupted download resumes from the `.part` file with an HTTP Range request (or restarts when the server ignores
 * it). Used by `npm run models:fetch` and by Node encoders given a hub id or a mirror URL.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';
import { combineModelHash } from '../model/hash.ts';
import { describeModelSource, MODEL_IDENTITY_FILES, modelFileUrl, OPTIONAL_MODEL_FILES, REQUIRED_MODEL_FILES } from '../model/source.ts';
import type { ModelSource } from '../types.ts';

export type RemoteModelSource = Exclude<ModelSource, { kind: 'folder' }>;

export interface DownloadProgress {
  readonly file: string;
  readonly fileIndex: number;
  readonly fileCount: number;
  readonly loadedBytes: number;
  /** 0 when the server sends no length. */
  readonly totalBytes: number;
  readonly phase: 'start' | 'progress' | 'done' | 'present' | 'missing';
}

export interface FetchModelOptions {
  readonly source: RemoteModelSource;
  /** Models root; files go to `<outDir>/<id>/`. */
  readonly outDir: string;
  /** Default: the required files, then the optional ones (skipped when the server has none). */
  readonly files?: readonly string[];
  /** Files that may be missing on the server (default `OPTIONAL_MODEL_FILES`). */
  readonly optional?: readonly string[];
  /** Download again even when a file is already present. */
  readonly force?: boolean;
  readonly onProgress?: (progress: DownloadProgress) => void;
  readonly signal?: AbortSignal;
  readonly fetch?: typeof fetch;
}

export interface FetchedFile {
  readonly path: string;
  readonly bytes: number;
  readonly status: 'downloaded' | 'resumed' | 'present' | 'missing';
}

export interface FetchModelResult {
  /** The model folder, `<outDir>/<id>`. */
  readonly dir: string;
  readonly files: readonly FetchedFile[];
  /**
   * The encoder identity (see `EncoderInfo.modelHash`), also written to `facmic-model.json`; undefined when the
   * identity files are not all in the folder (a partial `files` list).
   */
  readonly modelHash: string | undefined;
}

/** Name of the manifest written next to a fetched model. */
export const MODEL_MANIFEST = 'facmic-model.json';

export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

async function sizeOf(path: string): Promise<number | undefined> {
  try {
    return (await stat(path)).size;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/** Keeps `file` inside `dir` (a server-chosen name must not escape the model folder). */
function safeJoin(dir: string, file: string): string {
  const target = resolve(dir, file);
  if (!target.startsWith(resolve(dir) + sep)) throw new Error(`refusing to write ${file} outside ${dir}`);
  return target;
}

async function downloadFile(
  url: string,
  target: string,
  report: (loaded: number, total: number, phase: DownloadProgress['phase']) => void,
  fetchImpl: typeof fetch,
  signal: AbortSignal | undefined,
): Promise<{ status: 'downloaded' | 'resumed' | 'missing'; bytes: number }> {
  const part = `${target}.part`;
  await mkdir(dirname(target), { recursive: true });
  const partial = (await sizeOf(part)) ?? 0;
  const headers: Record<string, string> = partial > 0 ? { Range: `bytes=${partial}-` } : {};
  const get = async (init: RequestInit): Promise<Response> => {
    try {
      return await fetchImpl(url, init);
    } catch (error) {
      if (signal?.aborted) throw error;
      const cause = error instanceof Error && error.cause instanceof Error ? ` (${error.cause.message})` : '';
      throw new Error(`GET ${url}: ${error instanceof Error ? error.message : String(error)}${cause}`, { cause: error });
    }
  };
  let response = await get({ headers, signal, redirect: 'follow' });
  if (response.status === 416) {
    await response.body?.cancel();
    await rm(part, { force: true });
    response = await get({ signal, redirect: 'follow' });
  }
  if (response.status === 404) {
    await response.body?.cancel();
    return { status: 'missing', bytes: 0 };
  }
  if (response.status !== 200 && response.status !== 206) {
    await response.body?.cancel();
    throw new Error(`GET ${url}: HTTP ${response.status} ${response.statusText}`);
  }
  const resumed = response.status === 206;
  let loaded = resumed ? partial : 0;
  const length = Number(response.headers.get('content-length') ?? '0');
  const total = length > 0 ? loaded + length : 0;
  const handle = await open(part, resumed ? 'a' : 'w');
  try {
    report(loaded, total, 'start');
    if (response.body) {
      const reader = response.body.getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        await handle.write(value);
        loaded += value.length;
        report(loaded, total, 'progress');
      }
    }
  } finally {
    await handle.close();
  }
  if (total > 0 && loaded !== total) throw new Error(`GET ${url}: got ${loaded} of ${total} bytes; run again to resume`);
  await rename(part, target);
  report(loaded, total, 'done');
  return { status: resumed ? 'resumed' : 'downloaded', bytes: loaded };
}

/** Downloads (or completes) a model into `<outDir>/<id>/` and writes its manifest with the file hashes. */
export async function fetchModel(options: FetchModelOptions): Promise<FetchModelResult> {
  const fetchImpl = options.fetch ?? globalThis.fetch;
  const files = options.files ?? [...REQUIRED_MODEL_FILES, ...OPTIONAL_MODEL_FILES];
  const optional = new Set<string>(options.optional ?? OPTIONAL_MODEL_FILES);
  const dir = safeJoin(resolve(options.outDir), options.source.id);
  const results: FetchedFile[] = [];
  for (const [fileIndex, file] of files.entries()) {
    options.signal?.throwIfAborted();
    const target = safeJoin(dir, file);
    const report = (loadedBytes: number, totalBytes: number, phase: DownloadProgress['phase']) => {
      options.onProgress?.({ file, fileIndex, fileCount: files.length, loadedBytes, totalBytes, phase });
    };
    const present = options.force ? undefined : await sizeOf(target);
    if (present !== undefined) {
      report(present, present, 'present');
      results.push({ path: file, bytes: present, status: 'present' });
      continue;
    }
    const url = modelFileUrl(options.source, file);
    const { status, bytes } = await downloadFile(url, target, report, fetchImpl, options.signal);
    if (status === 'missing') {
      if (!optional.has(file)) throw new Error(`${describeModelSource(options.source)} has no ${file} (GET ${url}: HTTP 404)`);
      report(0, 0, 'missing');
    }
    results.push({ path: file, bytes, status });
  }
  const fileHashes: Record<string, string> = {};
  for (const file of MODEL_IDENTITY_FILES) {
    const path = safeJoin(dir, file);
    if ((await sizeOf(path)) === undefined) return { dir, files: results, modelHash: undefined };
    fileHashes[file] = await sha256File(path);
  }
  const modelHash = combineModelHash(fileHashes);
  const manifest = {
    source: describeModelSource(options.source),
    id: options.source.id,
    modelHash,
    files: Object.fromEntries(results.filter((r) => r.status !== 'missing').map((r) => [r.path, r.bytes])),
    identityFiles: fileHashes,
  };
  await writeFile(join(dir, MODEL_MANIFEST), `${JSON.stringify(manifest, null, 2)}\n`);
  return { dir, files: results, modelHash };
}
