/**
 * The admin REST API under `/api` (Bearer admin token), plus the public `GET /api/info`. Bodies are validated with
 * the protocol's schemas; errors are `{ ok: false, code, message }` with the code's HTTP status.
 */
import {
  addVirtualSitesRequestSchema,
  createFederationRequestSchema,
  createInviteRequestSchema,
  describeIssues,
  ERROR_CODES,
  idSchema,
  MIN_PROTOCOL_VERSION,
  PROTOCOL_VERSION,
  startDemoRunRequestSchema,
  updateFederationRequestSchema,
  type CoordinatorInfo,
  type CurrentDemoRun,
  type DemoRunStarted,
  type ErrorCode,
  type FederationDetail,
  type RoundDetail,
} from '@facmic/protocol';
import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import { rateLimit } from 'express-rate-limit';
import { z } from 'zod';
import { bearerToken, tokenMatches } from '../auth.ts';
import type { FederationEngine } from '../engine.ts';
import type { FeatureEncoder } from '../features/feature-encoder.ts';
import type { FederationService } from '../federations.ts';
import type { Logger } from '../logger.ts';
import type { CoordinatorMetrics } from '../metrics.ts';
import { RefusalError, type Outcome } from '../outcome.ts';
import type { CoordinatorStore, FederationRecord } from '../store/store.ts';

export interface RestApiOptions {
  engine: FederationEngine;
  store: CoordinatorStore;
  federations: FederationService;
  encoder: () => Promise<FeatureEncoder>;
  logger: Logger;
  metrics: CoordinatorMetrics;
  adminTokenHash: string;
  version: string;
  /** Largest JSON body (federation creation with uploaded images). */
  maxBodyBytes: number;
  /** Failed admin authentications per IP per 15 minutes. */
  authFailuresPerWindow: number;
  addVirtualSites: ((federationId: string, count: number, samplesPerSite: number | undefined) => Promise<string[]>) | null;
}

function sendError(res: Response, code: ErrorCode, message: string): void {
  res.status(ERROR_CODES[code].httpStatus).json({ ok: false, code, message });
}

/** The declared body length: null when none is declared, 'invalid' when the header is not a decimal length. */
function declaredLength(header: string | undefined): number | null | 'invalid' {
  if (header === undefined) return null;
  if (!/^\d{1,20}$/.test(header.trim())) return 'invalid';
  return Number(header.trim());
}

function parse<S extends z.ZodType>(schema: S, value: unknown, what: string): z.output<S> {
  const result = schema.safeParse(value);
  if (!result.success) throw new RefusalError('BAD_REQUEST', `${what}: ${describeIssues(result.error)}`);
  return result.data;
}

/** The result of an outcome; a refusal goes to the error handler, which answers it with its code's HTTP status. */
function unwrap<T extends object>(outcome: Outcome<T>): T {
  if (!outcome.ok) throw new RefusalError(outcome.code, outcome.message);
  return outcome;
}

const roundParam = z.coerce.number().int().min(0).max(1_000_000);
const auditQuery = z.strictObject({
  federationId: idSchema.optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  before: z.coerce.number().int().min(1).optional(),
});

export function createRestApi(options: RestApiOptions): Router {
  const { engine, store, federations, metrics, logger } = options;
  const { views } = engine;
  const detailOf = (federation: FederationRecord): FederationDetail => ({ summary: views.federationSummary(federation), config: views.federationConfig(federation) });
  const router = express.Router();
  const jsonBody = express.json({ limit: options.maxBodyBytes, strict: true, type: ['application/json', 'application/*+json'] });

  // A declared length above the limit is refused at once, before a byte of the body is read (the JSON parser would
  // wait for the whole declared body before answering), and the connection is closed after the answer.
  router.use((req: Request, res: Response, next: NextFunction) => {
    const declared = declaredLength(req.headers['content-length']);
    if (declared === 'invalid' || (declared !== null && declared > options.maxBodyBytes)) {
      metrics.refused(declared === 'invalid' ? 'BAD_REQUEST' : 'PAYLOAD_TOO_LARGE');
      res.set('Connection', 'close');
      res.on('finish', () => { req.socket.destroySoon(); });
      if (declared === 'invalid') sendError(res, 'BAD_REQUEST', 'the Content-Length header is not a length');
      else sendError(res, 'PAYLOAD_TOO_LARGE', `the body declares ${declared} bytes; at most ${options.maxBodyBytes} are accepted`);
      return;
    }
    next();
  });

  router.get('/info', async (_req, res) => {
    const encoder = await options.encoder();
    const info: CoordinatorInfo = {
      service: 'facmic-coordinator',
      version: options.version,
      protocolVersion: PROTOCOL_VERSION,
      minProtocolVersion: MIN_PROTOCOL_VERSION,
      encoder: { ...encoder.identity, source: encoder.source, note: encoder.note },
      demoFederationId: federations.demoFederationId(),
      paths: { models: '/models/', ort: '/ort/' },
    };
    res.json(info);
  });

  // Everything below needs the admin token. Failed attempts are rate limited per IP.
  const authLimiter = rateLimit({
    windowMs: 15 * 60 * 1000,
    limit: options.authFailuresPerWindow,
    skipSuccessfulRequests: true,
    standardHeaders: 'draft-8',
    legacyHeaders: false,
    handler: (_req, res) => {
      metrics.refused('RATE_LIMITED');
      sendError(res, 'RATE_LIMITED', 'too many failed admin authentications; wait and retry');
    },
  });
  router.use(authLimiter, (req: Request, res: Response, next: NextFunction) => {
    const token = bearerToken(req.get('authorization'));
    if (token === null || !tokenMatches(token, options.adminTokenHash)) {
      metrics.refused('UNAUTHORIZED');
      sendError(res, 'UNAUTHORIZED', 'missing or wrong admin token (Authorization: Bearer <token>)');
      return;
    }
    next();
  });
  router.use(jsonBody);

  const federationOf = (req: Request) => {
    const id = parse(idSchema, req.params.id, 'federation id');
    return unwrap(engine.findFederation(id)).federation;
  };

  router.get('/federations', (_req, res) => {
    res.json({ federations: store.listFederations().map((f) => views.federationSummary(f)) });
  });

  router.post('/federations', async (req, res) => {
    const settings = parse(createFederationRequestSchema, req.body, 'federation');
    const { federation } = unwrap(await federations.create(settings, 'admin'));
    res.status(201).json(detailOf(federation));
  });

  // A fresh run of the demo federation, made the current demo (the previous run is stopped and stays listed).
  router.post('/demo/runs', async (req, res) => {
    const request = parse(startDemoRunRequestSchema, req.body ?? {}, 'demo run');
    const { record, hospitals, previous } = unwrap(await federations.startDemoRun('admin', request.stepsPerRound));
    const answer: DemoRunStarted = {
      run: { federation: detailOf(record), hospitals },
      previous: previous ? views.federationSummary(previous) : null,
    };
    res.status(201).json(answer);
  });

  // The current demo run and its demo hospitals' links (the landing page's view).
  router.get('/demo/runs/current', (_req, res) => {
    const id = federations.demoFederationId();
    const record = id === null ? null : store.getFederation(id);
    const answer: CurrentDemoRun = {
      run: record ? { federation: detailOf(record), hospitals: federations.demoHospitals(record.id) } : null,
    };
    res.json(answer);
  });

  router.get('/federations/:id', (req, res) => {
    res.json(detailOf(federationOf(req)));
  });

  router.patch('/federations/:id', (req, res) => {
    const federation = federationOf(req);
    const patch = parse(updateFederationRequestSchema, req.body, 'changes');
    const updated = unwrap(engine.updateSettings(federation.id, patch, 'admin')).federation;
    res.json(detailOf(updated));
  });

  router.delete('/federations/:id', (req, res) => {
    const federation = federationOf(req);
    unwrap(engine.deleteFederation(federation.id, 'admin'));
    res.status(204).end();
  });

  for (const action of ['pause', 'resume', 'stop'] as const) {
    router.post(`/federations/:id/${action}`, (req, res) => {
      const federation = federationOf(req);
      const updated = unwrap(engine[action](federation.id, 'admin')).federation;
      res.json(views.federationSummary(updated));
    });
  }

  const listSites = (req: Request, res: Response) => {
    const federation = federationOf(req);
    const counts = store.countSubmissionsBySite(federation.id);
    res.json({ sites: store.listSites(federation.id).map((s) => views.siteSummary(s, counts)) });
  };
  router.get('/federations/:id/invites', listSites);
  router.get('/federations/:id/sites', listSites);

  router.post('/federations/:id/invites', (req, res) => {
    const federation = federationOf(req);
    const body = parse(createInviteRequestSchema, req.body, 'invite');
    res.status(201).json(unwrap(federations.createInvite(federation.id, body.name, 'admin')).invite);
  });

  router.delete('/federations/:id/invites/:siteId', (req, res) => {
    const federation = federationOf(req);
    const siteId = parse(idSchema, req.params.siteId, 'site id');
    const { site } = unwrap(engine.revokeSite(federation.id, siteId, 'admin'));
    res.json(views.siteSummary(site));
  });

  router.post('/federations/:id/virtual-sites', async (req, res) => {
    const federation = federationOf(req);
    const body = parse(addVirtualSitesRequestSchema, req.body, 'virtual sites');
    if (!options.addVirtualSites) throw new RefusalError('INVALID_TRANSITION', 'virtual hospitals are disabled on this coordinator');
    const ids = await options.addVirtualSites(federation.id, body.count, body.samplesPerSite);
    const counts = store.countSubmissionsBySite(federation.id);
    res.status(201).json({ sites: ids.map((id) => store.getSite(id)).filter((s) => s !== null).map((s) => views.siteSummary(s, counts)) });
  });

  router.get('/federations/:id/rounds', (req, res) => {
    const federation = federationOf(req);
    res.json({ rounds: store.listRounds(federation.id).map((r) => views.roundSummary(r)) });
  });

  router.get('/federations/:id/rounds/:round', (req, res) => {
    const federation = federationOf(req);
    const round = parse(roundParam, req.params.round, 'round');
    const record = store.getRound(federation.id, round);
    if (!record) throw new RefusalError('NOT_FOUND', `no round ${round}`);
    const detail: RoundDetail = { summary: views.roundSummary(record), submissions: views.submissionSummaries(federation.id, round) };
    res.json(detail);
  });

  router.get('/federations/:id/metrics', (req, res) => {
    const federation = federationOf(req);
    const rounds = store.listRounds(federation.id);
    res.json({
      rounds: rounds.map((r) => ({ round: r.round, global: views.roundSummary(r).globalMetrics })),
      submissions: rounds.flatMap((r) => views.submissionSummaries(federation.id, r.round)),
    });
  });

  router.get('/federations/:id/models/:round', (req, res) => {
    const federation = federationOf(req);
    const round = parse(roundParam, req.params.round, 'round');
    const model = store.getGlobalModel(federation.id, round);
    if (!model) throw new RefusalError('NOT_FOUND', `no global model for round ${round}`);
    res
      .status(200)
      .set({
        'content-type': 'application/octet-stream',
        'content-disposition': `attachment; filename="${federation.id}-round-${round}.fmst"`,
        'x-facmic-checksum': model.checksum,
      })
      .end(Buffer.from(model.weights.buffer, model.weights.byteOffset, model.weights.byteLength));
  });

  router.get('/audit', (req, res) => {
    const query = parse(auditQuery, req.query, 'query');
    res.json({
      entries: store.listAudit({
        limit: query.limit,
        ...(query.federationId === undefined ? {} : { federationId: query.federationId }),
        ...(query.before === undefined ? {} : { beforeId: query.before }),
      }),
    });
  });

  router.use((req, res) => {
    sendError(res, 'NOT_FOUND', `no route ${req.method} ${req.baseUrl}${req.path}`);
  });

  router.use((error: unknown, _req: Request, res: Response, _next: NextFunction) => {
    if (error instanceof RefusalError) {
      metrics.refused(error.refusal.code);
      sendError(res, error.refusal.code, error.refusal.message);
      return;
    }
    const bodyError = error as { type?: string; status?: number; message?: string };
    if (bodyError.type === 'entity.too.large') {
      metrics.refused('PAYLOAD_TOO_LARGE');
      sendError(res, 'PAYLOAD_TOO_LARGE', `the body is larger than ${options.maxBodyBytes} bytes`);
      return;
    }
    if (bodyError.type === 'entity.parse.failed' || bodyError.status === 400) {
      metrics.refused('BAD_REQUEST');
      sendError(res, 'BAD_REQUEST', 'the body is not valid JSON');
      return;
    }
    if (bodyError.status === 415 || bodyError.type === 'encoding.unsupported' || bodyError.type === 'charset.unsupported') {
      metrics.refused('BAD_REQUEST');
      sendError(res, 'BAD_REQUEST', bodyError.message ?? 'unsupported body encoding');
      return;
    }
    logger.error('REST handler failed', { error: error instanceof Error ? (error.stack ?? error.message) : String(error) });
    sendError(res, 'INTERNAL_ERROR', 'the coordinator failed to handle this request; nothing was changed');
  });

  return router;
}
