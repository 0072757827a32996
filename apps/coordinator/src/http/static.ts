/**
 * What the coordinator serves besides the API: the built web app (`dist/web`, with the SPA routes `/`, `/site`,
 * `/admin`), the model mirror (`/models/...` from the models folder) and ONNX Runtime's wasm files (`/ort/...`), so
 * pages load nothing from a CDN. Security headers come from helmet; its CSP allows what the app needs: WebAssembly
 * (`'wasm-unsafe-eval'`), workers and blob: URLs, same-origin WebSockets. WebGPU needs no CSP directive.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import express, { type Express, type Request, type Response } from 'express';
import helmet from 'helmet';

export interface StaticOptions {
  webDir: string | null;
  modelsDir: string | null;
  /** ONNX Runtime's wasm folder and the file names to serve from it. */
  ort: { dir: string; files: readonly string[] } | null;
  /** Send COOP/COEP so pages are cross-origin isolated (SharedArrayBuffer: threaded wasm). */
  crossOriginIsolation: boolean;
}

export const CONTENT_SECURITY_POLICY = {
  useDefaults: false,
  directives: {
    'default-src': ["'self'"],
    'script-src': ["'self'", "'wasm-unsafe-eval'"],
    'worker-src': ["'self'", 'blob:'],
    'child-src': ["'self'", 'blob:'],
    'connect-src': ["'self'", 'blob:', 'data:'],
    'img-src': ["'self'", 'blob:', 'data:'],
    'style-src': ["'self'", "'unsafe-inline'"],
    'font-src': ["'self'", 'data:'],
    'object-src': ["'none'"],
    'base-uri': ["'self'"],
    'frame-ancestors': ["'none'"],
    'form-action': ["'self'"],
  },
} as const;

export function applySecurityHeaders(app: Express, options: Pick<StaticOptions, 'crossOriginIsolation'>): void {
  app.use(
    helmet({
      contentSecurityPolicy: CONTENT_SECURITY_POLICY,
      // Hospitals often reach a coordinator over plain http on their LAN: never force https from here.
      strictTransportSecurity: false,
      crossOriginEmbedderPolicy: options.crossOriginIsolation ? { policy: 'require-corp' } : false,
      crossOriginOpenerPolicy: { policy: 'same-origin' },
      referrerPolicy: { policy: 'no-referrer' },
    }),
  );
}

const NOT_BUILT_PAGE = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>facmic coordinator</title></head>
<body><h1>facmic coordinator</h1><p>The coordinator runs, but the web app is not built. Run <code>npm run build</code>
and restart, or use the REST API under <code>/api</code>.</p></body></html>`;

export function mountStatic(app: Express, options: StaticOptions): void {
  if (options.modelsDir !== null) {
    app.use('/models', express.static(resolve(options.modelsDir), { dotfiles: 'ignore', index: false, fallthrough: false, maxAge: '1h' }));
  }
  const ort = options.ort;
  if (ort !== null) {
    app.get('/ort/:file', (req: Request, res: Response) => {
      const file = String(req.params.file);
      if (!ort.files.includes(file)) {
        res.status(404).type('text/plain').send('not found');
        return;
      }
      res.sendFile(join(ort.dir, file), { maxAge: '1d' });
    });
  }
  const webDir = options.webDir === null ? null : resolve(options.webDir);
  const index = webDir === null ? null : join(webDir, 'index.html');
  if (webDir !== null && existsSync(webDir)) app.use(express.static(webDir, { index: false, dotfiles: 'ignore' }));
  const sendApp = (_req: Request, res: Response) => {
    if (index !== null && existsSync(index)) res.sendFile(index);
    else res.status(200).type('html').send(NOT_BUILT_PAGE);
  };
  app.get(['/', '/site{/*rest}', '/admin{/*rest}'], sendApp);
}
