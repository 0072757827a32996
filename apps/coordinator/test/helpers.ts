/** Test fixtures: a real coordinator on port 0 with a temporary SQLite file, a synthetic encoder and Node sites. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ADMIN_NAMESPACE,
  federationDetailSchema,
  inviteCreatedSchema,
  PROTOCOL_VERSION,
  SITE_NAMESPACE,
  type CreateFederationRequest,
  type FederationDetail,
  type InviteCreated,
  type TensorDtype,
} from '@facmic/protocol';
import type { SiteClient } from '@facmic/site';
import { io, type Socket } from 'socket.io-client';
import type { z } from 'zod';
import { generateToken, hashToken } from '../src/auth.ts';
import { systemClock, type Clock } from '../src/clock.ts';
import { createCoordinator, type Coordinator, type CoordinatorConfig } from '../src/create-coordinator.ts';
import type { FeatureEncoder } from '../src/features/feature-encoder.ts';
import { createSyntheticEncoder } from '../src/features/synthetic-encoder.ts';
import { createMemoryLogger } from '../src/logger.ts';
import { createNodeSite, type NodeSiteData } from '../src/node-site/node-site.ts';
import { openSqliteStore } from '../src/store/sqlite-store.ts';
import type { CoordinatorStore } from '../src/store/store.ts';

export const TEST_DIM = 16;

export function tempDir(prefix = 'facmic-test-'): { path: string; remove: () => void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, remove: () => { rmSync(path, { recursive: true, force: true }); } };
}

export interface TestCoordinator {
  coordinator: Coordinator;
  store: CoordinatorStore;
  url: string;
  adminToken: string;
  encoder: FeatureEncoder;
  logger: ReturnType<typeof createMemoryLogger>;
  dbPath: string;
  close: () => Promise<void>;
}

export async function startTestCoordinator(
  options: { dbPath?: string; clock?: Clock; config?: Partial<CoordinatorConfig>; dim?: number; port?: number; adminToken?: string; encoder?: FeatureEncoder } = {},
): Promise<TestCoordinator> {
  const dir = options.dbPath === undefined ? tempDir() : null;
  const dbPath = options.dbPath ?? join((dir as { path: string }).path, 'coordinator.sqlite');
  const store = openSqliteStore(dbPath);
  const adminToken = options.adminToken ?? generateToken();
  const encoder = options.encoder ?? createSyntheticEncoder({ dim: options.dim ?? TEST_DIM });
  const logger = createMemoryLogger();
  const coordinator = createCoordinator({
    store,
    clock: options.clock ?? systemClock,
    logger,
    encoder,
    config: { adminTokenHash: hashToken(adminToken), ...options.config },
  });
  const { url } = await coordinator.listen(options.port ?? 0, '127.0.0.1');
  return {
    coordinator,
    store,
    url,
    adminToken,
    encoder,
    logger,
    dbPath,
    close: async () => {
      await coordinator.close();
      store.close();
      dir?.remove();
    },
  };
}

export interface ApiInit {
  method?: string;
  body?: unknown;
  token?: string | null;
  rawBody?: string;
  contentType?: string;
}

/** A REST call; the body is parsed JSON (or text). */
export async function api(base: string, path: string, init: ApiInit = {}): Promise<{ status: number; body: unknown; headers: Headers }> {
  const headers: Record<string, string> = {};
  if (init.token !== null && init.token !== undefined) headers.authorization = `Bearer ${init.token}`;
  let body: string | undefined;
  if (init.rawBody !== undefined) {
    body = init.rawBody;
    headers['content-type'] = init.contentType ?? 'application/json';
  } else if (init.body !== undefined) {
    body = JSON.stringify(init.body);
    headers['content-type'] = 'application/json';
  }
  const response = await fetch(`${base}${path}`, { method: init.method ?? 'GET', headers, ...(body === undefined ? {} : { body }) });
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = text.length > 0 ? JSON.parse(text) : null;
  } catch {
    // not JSON
  }
  return { status: response.status, body: parsed, headers: response.headers };
}

/** A REST call whose success body must match `schema` (the protocol's REST types). */
export async function apiParsed<S extends z.ZodType>(schema: S, base: string, path: string, init: ApiInit = {}, expectedStatus = 200): Promise<z.output<S>> {
  const { status, body } = await api(base, path, init);
  if (status !== expectedStatus) throw new Error(`${init.method ?? 'GET'} ${path}: ${status} ${JSON.stringify(body)}`);
  return schema.parse(body);
}

export const FAST_TRAINING = { localEpochs: 1, stepsPerRound: 3, batchSize: 8 } as const;

export async function createTestFederation(t: Pick<TestCoordinator, 'url' | 'adminToken'>, overrides: Partial<CreateFederationRequest> = {}): Promise<FederationDetail> {
  const request: CreateFederationRequest = {
    name: 'Test federation',
    classNames: ['glioma', 'meningioma', 'no tumor', 'pituitary'],
    rounds: 3,
    quorum: 3,
    roundDeadlineSeconds: 120,
    training: { ...FAST_TRAINING, optimizer: { learningRate: 1e-3 } },
    reference: { kind: 'generated', count: 24 },
    globalTest: { kind: 'generated', perClass: 5 },
    ...overrides,
  };
  return apiParsed(federationDetailSchema, t.url, '/api/federations', { method: 'POST', body: request, token: t.adminToken }, 201);
}

export async function createInvite(t: Pick<TestCoordinator, 'url' | 'adminToken'>, federationId: string, name: string): Promise<InviteCreated> {
  return apiParsed(inviteCreatedSchema, t.url, `/api/federations/${federationId}/invites`, { method: 'POST', body: { name }, token: t.adminToken }, 201);
}

export function startSite(
  url: string,
  federationId: string,
  token: string,
  options: { name: string; encoder: FeatureEncoder; trainPerClass: number | number[]; testPerClass?: number; seed?: number; weightsDtype?: TensorDtype },
): SiteClient {
  const data: NodeSiteData = { kind: 'generated', trainPerClass: options.trainPerClass, testPerClass: options.testPerClass ?? 3, seed: options.seed ?? 1 };
  return createNodeSite({
    coordinatorUrl: url,
    federationId,
    token,
    name: options.name,
    encoder: options.encoder,
    data,
    ...(options.weightsDtype ? { weightsDtype: options.weightsDtype } : {}),
    seed: options.seed ?? 1,
    connection: { reconnectionDelayMs: 100, reconnectionDelayMaxMs: 500, transports: ['websocket'], requestTimeoutMs: 10_000 },
  });
}

/** A raw site socket (for malformed input tests), connected or refused. */
export function rawSiteSocket(url: string, auth: unknown): Socket {
  return io(`${url}${SITE_NAMESPACE}`, { auth: auth as Record<string, unknown>, transports: ['websocket'], reconnection: false, forceNew: true });
}

export function rawAdminSocket(url: string, token: string): Socket {
  return io(`${url}${ADMIN_NAMESPACE}`, { auth: { protocolVersion: PROTOCOL_VERSION, adminToken: token }, transports: ['websocket'], reconnection: false, forceNew: true });
}

export function waitFor<T>(check: () => T | null | undefined | false, timeoutMs = 30_000, intervalMs = 20): Promise<T> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const tick = () => {
      let value: T | null | undefined | false;
      try {
        value = check();
      } catch (error) {
        reject(error instanceof Error ? error : new Error(String(error)));
        return;
      }
      if (value !== null && value !== undefined && value !== false) {
        resolve(value);
        return;
      }
      if (Date.now() - started > timeoutMs) {
        reject(new Error(`condition not met within ${timeoutMs} ms`));
        return;
      }
      setTimeout(tick, intervalMs);
    };
    tick();
  });
}
