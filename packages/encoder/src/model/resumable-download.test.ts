import { describe, expect, it } from 'vitest';
import { downloadResumable, remoteSize, type PartCache } from './resumable-download.ts';

/** Like Cache Storage, keys are URLs whose fragment is ignored. */
function memoryCache(): PartCache & { keys: () => string[] } {
  const store = new Map<string, Uint8Array>();
  const url = (key: string) => key.split('#')[0] ?? key;
  return {
    keys: () => [...store.keys()],
    async match(key) {
      const bytes = store.get(url(key));
      return Promise.resolve(bytes ? new Response(bytes.slice()) : undefined);
    },
    async put(key, response) {
      store.set(url(key), new Uint8Array(await response.arrayBuffer()));
    },
    delete(key) {
      return Promise.resolve(store.delete(url(key)));
    },
  };
}

const FILE = Uint8Array.from({ length: 1000 }, (_, i) => (i * 7) % 251);

/** A server honouring Range; `failAfter` requests it drops the connection (a closed tab, a lost network). */
function server(options: { failAfter?: number; ignoreRange?: boolean } = {}) {
  const ranges: string[] = [];
  let calls = 0;
  const fetchImpl = ((_url: string, init?: RequestInit) => {
    if (init?.method === 'HEAD') return Promise.resolve(new Response(null, { headers: { 'content-length': String(FILE.length) } }));
    calls++;
    if (options.failAfter !== undefined && calls > options.failAfter) return Promise.reject(new TypeError('network error'));
    const range = new Headers(init?.headers).get('range');
    if (!range || options.ignoreRange === true) return Promise.resolve(new Response(FILE.slice(), { status: 200 }));
    ranges.push(range);
    const [, a, b] = /bytes=(\d+)-(\d+)/.exec(range) ?? [];
    return Promise.resolve(new Response(FILE.slice(Number(a), Number(b) + 1), { status: 206 }));
  }) as typeof fetch;
  return { fetchImpl, ranges };
}

describe('resumable model download', () => {
  it('resumes after an interruption, fetching only the ranges still missing, and cleans up its parts', async () => {
    const cache = memoryCache();
    const first = server({ failAfter: 3 });
    const size = await remoteSize('http://x/model.onnx', first.fetchImpl);
    expect(size).toBe(1000);
    await expect(downloadResumable({ url: 'http://x/model.onnx', size, cache, fetch: first.fetchImpl, partBytes: 128 })).rejects.toThrow(/network error/);
    expect(first.ranges).toEqual(['bytes=0-127', 'bytes=128-255', 'bytes=256-383']);
    expect(cache.keys()).toHaveLength(3);

    const second = server();
    const progress: number[] = [];
    const bytes = await downloadResumable({ url: 'http://x/model.onnx', size, cache, fetch: second.fetchImpl, partBytes: 128, onProgress: (loaded) => progress.push(loaded) });
    expect([...bytes]).toEqual([...FILE]);
    expect(second.ranges[0]).toBe('bytes=384-511');
    expect(second.ranges).toHaveLength(5);
    expect(progress.at(-1)).toBe(1000);
    expect(cache.keys()).toEqual([]);
  });

  it('reads the whole file when the server ignores Range, and without a known size', async () => {
    const plain = server({ ignoreRange: true });
    expect([...(await downloadResumable({ url: 'http://x/m', size: 1000, cache: memoryCache(), fetch: plain.fetchImpl, partBytes: 128 }))]).toEqual([...FILE]);
    expect([...(await downloadResumable({ url: 'http://x/m', size: undefined, cache: undefined, fetch: server().fetchImpl }))]).toEqual([...FILE]);
  });
});
