/**
 * A model file download that survives a closed tab: the file is fetched in ranges (`Range: bytes=a-b`), each range
 * kept in Cache Storage as it arrives (`<url>?facmic-part=<start>-<end>`), so a new attempt fetches only the ranges
 * still missing. When every range is in, the parts are joined and removed. A server that ignores `Range` (answers
 * 200 with the whole body) is read in one go. Platform-free: fetch and the cache are passed in (the browser's, or
 * fakes in tests).
 */

/** The subset of the Cache Storage `Cache` used here. */
export interface PartCache {
  match(key: string): Promise<Response | undefined>;
  put(key: string, response: Response): Promise<void>;
  delete(key: string): Promise<boolean>;
}

export interface ResumableDownloadOptions {
  readonly url: string;
  /** From a HEAD request; unknown (undefined) means one plain GET. */
  readonly size: number | undefined;
  readonly cache: PartCache | undefined;
  readonly fetch: typeof globalThis.fetch;
  /** Bytes per range (default 8 MiB). */
  readonly partBytes?: number;
  readonly onProgress?: (loadedBytes: number, totalBytes: number) => void;
  readonly signal?: AbortSignal;
}

export const DEFAULT_PART_BYTES = 8 * 1024 * 1024;

/** A query parameter, not a fragment: Cache Storage ignores fragments, so `#part` keys would all be the file's own. */
function partKey(url: string, start: number, end: number): string {
  return `${url}${url.includes('?') ? '&' : '?'}facmic-part=${start}-${end}`;
}

async function readAll(response: Response, onChunk: (bytes: number) => void): Promise<Uint8Array> {
  if (!response.body) {
    const bytes = new Uint8Array(await response.arrayBuffer());
    onChunk(bytes.length);
    return bytes;
  }
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let length = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    length += value.length;
    onChunk(value.length);
  }
  const out = new Uint8Array(length);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.length;
  }
  return out;
}

/** Size of a remote file from a HEAD request (undefined when the server does not say). */
export async function remoteSize(url: string, fetchImpl: typeof globalThis.fetch): Promise<number | undefined> {
  try {
    const response = await fetchImpl(url, { method: 'HEAD' });
    if (!response.ok) return undefined;
    const length = Number(response.headers.get('content-length') ?? '');
    return Number.isFinite(length) && length > 0 ? length : undefined;
  } catch {
    return undefined;
  }
}

/** Downloads a file whole, resuming from the ranges a previous attempt kept. */
export async function downloadResumable(options: ResumableDownloadOptions): Promise<Uint8Array> {
  const { url, size, cache } = options;
  const report = options.onProgress ?? (() => undefined);
  if (size === undefined || cache === undefined) {
    const response = await options.fetch(url, options.signal ? { signal: options.signal } : {});
    if (!response.ok) throw new Error(`GET ${url}: HTTP ${response.status} ${response.statusText}`);
    const total = Number(response.headers.get('content-length') ?? '0');
    let loaded = 0;
    return readAll(response, (n) => {
      loaded += n;
      report(loaded, total);
    });
  }
  const partBytes = options.partBytes ?? DEFAULT_PART_BYTES;
  const ranges: [number, number][] = [];
  for (let start = 0; start < size; start += partBytes) ranges.push([start, Math.min(size, start + partBytes) - 1]);
  const parts: Uint8Array[] = [];
  let loaded = 0;
  for (const [start, end] of ranges) {
    options.signal?.throwIfAborted();
    const key = partKey(url, start, end);
    const kept = await cache.match(key);
    if (kept) {
      const bytes = new Uint8Array(await kept.arrayBuffer());
      if (bytes.length === end - start + 1) {
        parts.push(bytes);
        loaded += bytes.length;
        report(loaded, size);
        continue;
      }
    }
    const response = await options.fetch(url, { headers: { range: `bytes=${start}-${end}` }, ...(options.signal ? { signal: options.signal } : {}) });
    if (!response.ok) throw new Error(`GET ${url} (bytes ${start}-${end}): HTTP ${response.status} ${response.statusText}`);
    if (response.status !== 206) {
      // The server sends the whole file: nothing to resume, read it in one go.
      const before = loaded;
      const whole = await readAll(response, (n) => {
        loaded += n;
        report(loaded - before, size);
      });
      if (whole.length !== size) throw new Error(`GET ${url}: ${whole.length} bytes, expected ${size}`);
      return whole;
    }
    const bytes = await readAll(response, (n) => {
      loaded += n;
      report(loaded, size);
    });
    if (bytes.length !== end - start + 1) throw new Error(`GET ${url} (bytes ${start}-${end}): ${bytes.length} bytes, expected ${end - start + 1}`);
    try {
      await cache.put(key, new Response(bytes.slice().buffer, { headers: { 'content-length': String(bytes.length) } }));
    } catch {
      // Quota: this attempt still completes, only resuming is lost.
    }
    parts.push(bytes);
  }
  const out = new Uint8Array(size);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  await Promise.all(ranges.map(([start, end]) => cache.delete(partKey(url, start, end)).catch(() => false)));
  return out;
}
