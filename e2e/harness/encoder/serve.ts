/**
 * Builds the encoder harness page with Vite's JS API and serves it from 127.0.0.1 together with other folders (the
 * model at /models/<id>/, ONNX Runtime's files at /ort/, images). Used by e2e/encoder.spec.ts and bench.ts.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'vite';

const HARNESS_ROOT = path.dirname(fileURLToPath(import.meta.url));

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript',
  '.mjs': 'text/javascript',
  '.wasm': 'application/wasm',
  '.json': 'application/json',
  '.txt': 'text/plain',
  '.onnx': 'application/octet-stream',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.webp': 'image/webp',
};

/** Builds a harness page (this folder's by default) into `outDir`. */
export async function buildHarness(outDir: string, root = HARNESS_ROOT): Promise<void> {
  await build({
    configFile: false,
    root,
    logLevel: 'warn',
    build: { outDir, emptyOutDir: true, target: 'esnext', chunkSizeWarningLimit: 4096 },
  });
}

export interface StaticServer {
  readonly url: string;
  close(): Promise<void>;
}

export interface ServeOptions {
  /** Send COOP/COEP, so the page is cross-origin isolated (SharedArrayBuffer: ONNX Runtime's wasm threads). */
  readonly isolated?: boolean;
  /** Called for every file served, with its URL path and size (to count what a page downloads). */
  readonly onServed?: (path: string, bytes: number) => void;
}

/** Serves each URL prefix from its folder (longest prefix first); nothing outside the folders is served. */
export function serveFolders(roots: Readonly<Record<string, string>>, options: ServeOptions = {}): Promise<StaticServer> {
  const prefixes = Object.keys(roots).sort((a, b) => b.length - a.length);
  const server: Server = createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      const pathname = decodeURIComponent(url.pathname === '/' ? '/index.html' : url.pathname);
      const prefix = prefixes.find((p) => pathname.startsWith(p));
      const root = prefix === undefined ? undefined : roots[prefix];
      const file = root === undefined || prefix === undefined ? undefined : path.join(root, pathname.slice(prefix.length));
      if (!file || !root || !file.startsWith(path.resolve(root))) {
        res.writeHead(404).end();
        return;
      }
      try {
        const body = await readFile(file);
        const isolation = options.isolated === true ? { 'cross-origin-opener-policy': 'same-origin', 'cross-origin-embedder-policy': 'require-corp' } : {};
        res.writeHead(200, { 'content-type': CONTENT_TYPES[path.extname(file).toLowerCase()] ?? 'application/octet-stream', 'content-length': String(body.length), ...isolation });
        res.end(body);
        // A HEAD answer (the size before a download) carries no body: nothing was downloaded.
        if (req.method !== 'HEAD') options.onServed?.(pathname, body.length);
      } catch {
        res.writeHead(404).end();
      }
    })();
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      resolve({
        url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
        close: () =>
          new Promise((done) => {
            server.closeAllConnections();
            server.close(() => {
              done();
            });
          }),
      });
    });
  });
}

export { CHROMIUM_ARGS, CHROMIUM_PATH } from '../../chromium.ts';
