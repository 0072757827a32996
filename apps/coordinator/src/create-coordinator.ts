/**
 * The coordinator as a factory: `createCoordinator({ store, clock, config, logger, encoder })` wires the state machine,
 * the Socket.IO namespaces, the REST API and the static files onto one HTTP server. Tests inject a temporary store, a
 * fake clock and a synthetic encoder; `main.ts` injects the real ones.
 */
import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { FEDERATION_STATUSES, PROTOCOL_VERSION, type FederationStatus } from '@facmic/protocol';
import express, { type Express } from 'express';
import { Server } from 'socket.io';
import type { Clock } from './clock.ts';
import { FederationEngine } from './engine.ts';
import type { FeatureEncoder } from './features/feature-encoder.ts';
import { createGlobalEvaluator } from './features/global-test.ts';
import { FederationService } from './federations.ts';
import { AdminGateway } from './gateways/admin-gateway.ts';
import { SiteGateway } from './gateways/site-gateway.ts';
import { createRestApi } from './http/rest-api.ts';
import { applySecurityHeaders, mountStatic } from './http/static.ts';
import type { Logger } from './logger.ts';
import { LoadWatch } from './load-watch.ts';
import { CoordinatorMetrics } from './metrics.ts';
import { FailureLimiter } from './rate-limit.ts';
import type { CoordinatorStore } from './store/store.ts';
import { SUBMISSION_WORKER_ENTRY, SubmissionWriter } from './submission-writer.ts';

export interface CoordinatorConfig {
  /** SHA-256 hash of the admin token (see `setUpAdminToken`). */
  adminTokenHash: string;
  /** Base URL for invite links; default: the address the server listens on. */
  publicUrl: string | null;
  /** Built web app (`dist/web`); null: not served. */
  webDir: string | null;
  /** Model mirror folder served at `/models/`; null: not served. */
  modelsDir: string | null;
  /** ONNX Runtime wasm files served at `/ort/`; null: not served. */
  ort: { dir: string; files: readonly string[] } | null;
  /** Socket.IO `maxHttpBufferSize`: the largest message (default 4 MiB: a float32 D=512 state is 2.1 MB). */
  maxMessageBytes: number;
  /** Largest REST JSON body (federation creation with uploaded images). */
  maxBodyBytes: number;
  /** Failed authentications (handshakes and REST) per IP before RATE_LIMITED. */
  authFailuresPerMinute: number;
  /** Socket messages per second per connection (sustained) and burst. */
  socketMessagesPerSecond: number;
  socketBurst: number;
  reconnectGraceMs: number;
  keepSubmissionWeightsRounds: number | null;
  crossOriginIsolation: boolean;
  trustProxy: boolean;
  version: string;
  /** Socket.IO heartbeat (a sleeping laptop is noticed after interval + timeout). */
  pingIntervalMs: number;
  pingTimeoutMs: number;
}

export const DEFAULT_CONFIG: Omit<CoordinatorConfig, 'adminTokenHash'> = {
  publicUrl: null,
  webDir: null,
  modelsDir: null,
  ort: null,
  maxMessageBytes: 4 * 1024 * 1024,
  maxBodyBytes: 64 * 1024 * 1024,
  authFailuresPerMinute: 30,
  socketMessagesPerSecond: 50,
  socketBurst: 200,
  reconnectGraceMs: 30_000,
  keepSubmissionWeightsRounds: null,
  crossOriginIsolation: true,
  trustProxy: false,
  version: '0.1.0',
  pingIntervalMs: 25_000,
  pingTimeoutMs: 20_000,
};

export interface CoordinatorDeps {
  store: CoordinatorStore;
  clock: Clock;
  config: Partial<CoordinatorConfig> & Pick<CoordinatorConfig, 'adminTokenHash'>;
  logger: Logger;
  /** The encoder, or a promise of it (the server answers while a large model loads). */
  encoder: FeatureEncoder | Promise<FeatureEncoder>;
  /** Runs virtual hospitals for a federation (demo); returns the new site ids. */
  addVirtualSites?: (federationId: string, count: number, samplesPerSite: number | undefined) => Promise<string[]>;
  /**
   * Where updates are decoded, checked and stored: a `worker_threads` worker on the store's file (the default for a
   * file store; a URL: the worker's entry, e.g. a bundle's), or `false`: on the main thread (`:memory:` always).
   */
  submissionWorker?: URL | false;
}

export interface Coordinator {
  readonly app: Express;
  readonly httpServer: HttpServer;
  readonly io: Server;
  readonly engine: FederationEngine;
  readonly federations: FederationService;
  readonly metrics: CoordinatorMetrics;
  readonly config: CoordinatorConfig;
  /** Starts listening; resolves with the base URL (`http://host:port`). */
  listen(port: number, host?: string): Promise<{ url: string; port: number }>;
  /** The base URL once listening. */
  url(): string;
  /** Stops accepting, disconnects everyone, waits for pending work. Does not close the store. */
  close(): Promise<void>;
}

export function createCoordinator(deps: CoordinatorDeps): Coordinator {
  const config: CoordinatorConfig = { ...DEFAULT_CONFIG, ...deps.config };
  const { store, clock, logger } = deps;
  const encoderPromise = Promise.resolve(deps.encoder);
  // A failed encoder load must not become an unhandled rejection; requests that need it report it.
  encoderPromise.catch((error: unknown) => {
    logger.error('the encoder failed to load', { error: error instanceof Error ? error.message : String(error) });
  });
  const encoder = () => encoderPromise;
  const authFailures = new FailureLimiter(config.authFailuresPerMinute, 60_000);

  const workerEntry = deps.submissionWorker ?? SUBMISSION_WORKER_ENTRY;
  const submissionWriter = workerEntry !== false && store.location !== ':memory:' ? new SubmissionWriter(store.location, logger, workerEntry) : null;
  const engine = new FederationEngine({
    store,
    clock,
    logger,
    submissionWriter,
    evaluateGlobal: createGlobalEvaluator(store),
    reconnectGraceMs: config.reconnectGraceMs,
    keepSubmissionWeightsRounds: config.keepSubmissionWeightsRounds,
  });

  const metrics = new CoordinatorMetrics({
    version: config.version,
    protocolVersion: PROTOCOL_VERSION,
    sample: () => {
      const federations = Object.fromEntries(FEDERATION_STATUSES.map((s) => [s, 0])) as Record<FederationStatus, number>;
      for (const f of store.listFederations()) federations[f.status] += 1;
      const presence = engine.presenceCounts();
      return { federations, sitesOnline: presence.online, sitesReady: presence.ready };
    },
  });

  let baseUrl: string | null = null;
  const publicUrl = () => config.publicUrl ?? baseUrl ?? 'http://localhost';
  const federations = new FederationService({ engine, store, encoder, logger, publicUrl });

  const app = express();
  app.disable('x-powered-by');
  if (config.trustProxy) app.set('trust proxy', true);
  applySecurityHeaders(app, config);

  const load = new LoadWatch(logger);
  app.get('/healthz', (_req, res) => {
    res.json({ ok: true, uptimeSeconds: (Date.now() - metrics.startedAt) / 1000, federations: store.listFederations().length, load: load.status() });
  });
  app.get('/metrics', async (_req, res) => {
    res.type(metrics.contentType).send(await metrics.render());
  });
  app.use(
    '/api',
    createRestApi({
      engine,
      store,
      federations,
      encoder,
      logger,
      metrics,
      adminTokenHash: config.adminTokenHash,
      version: config.version,
      maxBodyBytes: config.maxBodyBytes,
      authFailuresPerWindow: config.authFailuresPerMinute,
      addVirtualSites: deps.addVirtualSites ?? null,
    }),
  );
  mountStatic(app, config);

  const httpServer = createServer(app);
  const io = new Server(httpServer, {
    maxHttpBufferSize: config.maxMessageBytes,
    pingInterval: config.pingIntervalMs,
    pingTimeout: config.pingTimeoutMs,
    serveClient: false,
    // Same origin only: the web app is served by this server.
    cors: { origin: false },
  });
  // The default namespace is not part of the protocol.
  io.of('/').use((_socket, next) => {
    next(new Error('use the /site or /admin namespace'));
  });

  const guard = { ratePerSecond: config.socketMessagesPerSecond, burst: config.socketBurst, maxFloodRefusals: 1000 };
  const sites = new SiteGateway(io, { engine, store, clock, logger, metrics, authFailures, guard, trustProxy: config.trustProxy });
  const admins = new AdminGateway(io, { engine, store, logger, metrics, authFailures, adminTokenHash: config.adminTokenHash, guard, trustProxy: config.trustProxy });
  engine.addListener({
    federationChanged: (id) => {
      sites.federationChanged(id);
      admins.federationChanged(id);
    },
    roundChanged: (id, round) => {
      admins.roundChanged(id, round);
    },
    roundPublished: (_id, _round, timings) => {
      metrics.roundPublished(timings);
    },
    siteChanged: (id) => {
      admins.siteChanged(id);
    },
    secureRequest: (siteId, request) => {
      sites.secureRequest(siteId, request);
    },
    closeSite: (siteId, code, message) => {
      sites.closeSession(siteId, null, code, message);
    },
    federationDeleted: (id) => {
      admins.federationDeleted(id);
    },
    audit: (entry) => {
      admins.audit(entry);
    },
  });

  engine.recover();

  return {
    app,
    httpServer,
    io,
    engine,
    federations,
    metrics,
    config,
    listen(port, host = '127.0.0.1') {
      return new Promise((resolvePromise, reject) => {
        httpServer.once('error', reject);
        httpServer.listen(port, host, () => {
          httpServer.off('error', reject);
          const address = httpServer.address() as AddressInfo;
          const shownHost = host === '0.0.0.0' || host === '::' ? 'localhost' : host.includes(':') ? `[${host}]` : host;
          baseUrl = `http://${shownHost}:${address.port}`;
          resolvePromise({ url: baseUrl, port: address.port });
        });
      });
    },
    url() {
      if (baseUrl === null) throw new Error('the coordinator is not listening');
      return baseUrl;
    },
    async close() {
      metrics.stop();
      load.stop();
      sites.close();
      await engine.shutdown();
      // Socket.IO closes every client, then the HTTP server; idle keep-alive HTTP connections would hold that up.
      const closed = new Promise<void>((resolvePromise) => {
        void io.close(() => {
          resolvePromise();
        });
      });
      httpServer.closeAllConnections();
      await closed;
    },
  };
}
