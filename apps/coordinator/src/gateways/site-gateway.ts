/** The `/site` namespace: hospital sites join with their invite token, fetch models, submit weights. */
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import {
  checkProtocolVersion,
  featuresRequestSchema,
  modelRequestSchema,
  parseMessage,
  parseSubmission,
  PROTOCOL_VERSION,
  SITE_CLIENT_EVENT_NAMES,
  SITE_NAMESPACE,
  secureAggregationAnswerSchema,
  siteHandshakeSchema,
  siteReadySchema,
  siteStatusSchema,
  type SecureAggregationRequest,
  type SiteClientEvents,
  type SiteServerEvents,
} from '@facmic/protocol';
import type { Namespace, Server, Socket } from 'socket.io';
import { tokenMatches, hashToken } from '../auth.ts';
import type { Clock } from '../clock.ts';
import type { FederationEngine } from '../engine.ts';
import type { Logger } from '../logger.ts';
import type { CoordinatorMetrics } from '../metrics.ts';
import type { FailureLimiter } from '../rate-limit.ts';
import type { CoordinatorStore, FederationRecord } from '../store/store.ts';
import { DownloadPacer } from './download-pacer.ts';
import { clientAddress, connectError, SocketGuard, toAck, type GuardOptions } from './socket-util.ts';

interface SiteSocketData {
  siteId: string;
  federationId: string;
  sessionId: string;
}

type SiteNamespace = Namespace<SiteClientEvents, SiteServerEvents, Record<string, never>, SiteSocketData>;
type SiteSocket = Socket<SiteClientEvents, SiteServerEvents, Record<string, never>, SiteSocketData>;

export interface SiteGatewayOptions {
  engine: FederationEngine;
  store: CoordinatorStore;
  clock: Clock;
  logger: Logger;
  metrics: CoordinatorMetrics;
  authFailures: FailureLimiter;
  trustProxy: boolean;
  guard: Omit<GuardOptions, 'logger' | 'metrics'>;
}

const room = (federationId: string) => `federation:${federationId}`;

/** How long a `round:update` that changes only counts may wait (the site that submitted has its ack already). */
const COUNTS_COALESCE_MS = 500;

/** What a site acts on: a change of any of these is sent at once. */
function transitionKey(federation: FederationRecord): string {
  return `${federation.status}|${federation.pausedFrom ?? ''}|${federation.round}|${federation.deadline ?? ''}|${federation.settings.rounds}|${federation.settings.quorum}`;
}

export class SiteGateway {
  readonly namespace: SiteNamespace;
  private readonly pending = new Set<string>();
  private readonly downloads = new DownloadPacer();
  private flushScheduled = false;
  /** Per federation, the transition its sites last heard of. */
  private readonly sentKeys = new Map<string, string>();
  private readonly countsChanged = new Set<string>();
  private countsTimer: NodeJS.Timeout | null = null;

  constructor(
    io: Server,
    private readonly options: SiteGatewayOptions,
  ) {
    this.namespace = io.of(SITE_NAMESPACE) as unknown as SiteNamespace;
    this.namespace.use((socket, next) => {
      try {
        next(this.authenticate(socket));
      } catch (error) {
        options.logger.error('site handshake failed', { error });
        next(connectError('INTERNAL_ERROR', 'the coordinator could not check this connection'));
      }
    });
    this.namespace.on('connection', (socket) => {
      try {
        this.onConnection(socket);
      } catch (error) {
        options.logger.error('site connection setup failed', { error });
        socket.disconnect(true);
      }
    });
  }

  /** Checks the handshake; returns the refusal, or undefined to accept. */
  private authenticate(socket: SiteSocket): Error | undefined {
    const { authFailures, store, metrics } = this.options;
    const address = clientAddress(socket, this.options.trustProxy);
    const refuse = (code: Parameters<typeof connectError>[0], message: string, countsAsFailure = true) => {
      if (countsAsFailure) authFailures.fail(address);
      metrics.refused(code);
      return connectError(code, message);
    };
    if (authFailures.blocked(address)) return refuse('RATE_LIMITED', 'too many failed connection attempts; wait a minute', false);
    const auth: unknown = socket.handshake.auth;
    const version = (auth as { protocolVersion?: unknown } | null)?.protocolVersion;
    if (typeof version === 'number' && Number.isInteger(version)) {
      const check = checkProtocolVersion(version);
      if (!check.ok) return refuse(check.code, check.message, false);
    }
    const parsed = siteHandshakeSchema.safeParse(auth);
    if (!parsed.success) return refuse('BAD_HANDSHAKE', 'the handshake needs { protocolVersion, federationId, siteToken }');
    const { federationId, siteToken, client } = parsed.data;
    const federation = store.getFederation(federationId);
    if (!federation) return refuse('UNKNOWN_FEDERATION', `no federation ${federationId}`);
    const site = store.findSiteByTokenHash(hashToken(siteToken));
    if (site?.federationId !== federationId || !tokenMatches(siteToken, site.tokenHash)) return refuse('BAD_TOKEN', 'this token is not an invite of this federation');
    if (site.revokedAt !== null) return refuse('TOKEN_REVOKED', 'this invite was revoked by an admin');
    socket.data = { siteId: site.id, federationId, sessionId: randomUUID() };
    (socket.data as SiteSocketData & { client?: string }).client = client;
    return undefined;
  }

  private onConnection(socket: SiteSocket): void {
    const { engine, store, metrics, logger } = this.options;
    const { siteId, federationId, sessionId } = socket.data;
    const client = (socket.data as SiteSocketData & { client?: string }).client ?? null;
    const site = store.getSite(siteId);
    const federation = store.getFederation(federationId);
    if (!site || !federation) {
      socket.disconnect(true);
      return;
    }
    metrics.connected('site');
    const replaced = engine.siteConnected(site, sessionId, client);
    if (replaced) this.closeSession(siteId, replaced, 'SESSION_REPLACED', 'another connection with the same invite took over');
    void socket.join(room(federationId));
    logger.info('site connected', { federation: federationId, site: siteId, name: site.name });

    const round = engine.views.roundUpdate(federation, siteId, engine.views.roundContext(federation));
    socket.emit('session:welcome', {
      protocolVersion: PROTOCOL_VERSION,
      serverTime: this.options.clock.now(),
      site: { id: site.id, name: site.name },
      federation: engine.views.federationConfig(federation),
      round,
    });

    const guard = new SocketGuard(socket, { ...this.options.guard, logger, metrics }, SITE_CLIENT_EVENT_NAMES);
    const current = () => engine.isCurrentSession(siteId, sessionId);
    const replacedAck = { ok: false as const, code: 'SESSION_REPLACED' as const, message: 'this connection was replaced by a newer one' };

    guard.on('site:ready', (payload) => {
      const parsed = parseMessage(siteReadySchema, payload);
      if (!parsed.ok) return parsed;
      return toAck(engine.siteReady(siteId, sessionId, parsed.data), (r) => ({ round: r.round }));
    });
    guard.on(
      'site:status',
      (payload) => {
        const parsed = parseMessage(siteStatusSchema, payload);
        if (!parsed.ok) return parsed;
        engine.siteStatus(siteId, sessionId, parsed.data);
        return { ok: true };
      },
      { ackRequired: false },
    );
    // Downloads wait for their turn (a few per turn of the event loop: a round's start asks for N models at once).
    guard.on('features:get', (payload) => {
      const parsed = parseMessage(featuresRequestSchema, payload);
      if (!parsed.ok) return parsed;
      return this.downloads.next(() => {
        if (!current()) return replacedAck;
        const answer = toAck(engine.featuresForSite(federationId), (r) => ({ checksum: r.checksum, data: r.data }));
        if (answer.ok) metrics.bytesSent(answer.data.byteLength);
        return answer;
      });
    });
    guard.on('model:get', (payload) => {
      const parsed = parseMessage(modelRequestSchema, payload);
      if (!parsed.ok) return parsed;
      return this.downloads.next(() => {
        if (!current()) return replacedAck;
        const answer = toAck(engine.globalModelForSite(siteId, sessionId, federationId, parsed.data.round), (r) => ({ round: r.round, checksum: r.checksum, data: r.data }));
        if (answer.ok) metrics.bytesSent(answer.data.byteLength);
        return answer;
      });
    });
    guard.on('secagg:answer', async (payload) => {
      const parsed = parseMessage(secureAggregationAnswerSchema, payload);
      if (!parsed.ok) return parsed;
      if (!current()) return replacedAck;
      return toAck(await engine.secureAnswer(siteId, sessionId, parsed.data), () => ({}));
    });
    guard.on('round:submit', (payload) => {
      const received = performance.now();
      const parsed = parseSubmission(payload);
      if (!parsed.ok) return parsed;
      if (!current()) return replacedAck;
      if (store.getFederation(federationId)?.settings.privacy.secureAggregation.enabled) {
        // The coordinator never takes an individual update in the clear when the federation uses secure aggregation.
        return { ok: false, code: 'NOT_A_PARTICIPANT', message: 'this federation uses secure aggregation: updates are answered through secagg:answer, never sent in the clear' };
      }
      return engine.submitGrouped(siteId, federationId, parsed.data).then((outcome) => {
        const answer = toAck(outcome, (r) => ({ round: r.round, checksum: r.checksum, duplicate: r.duplicate }));
        metrics.submission(!answer.ok ? 'refused' : answer.duplicate ? 'duplicate' : 'accepted', parsed.data.weights.byteLength, performance.now() - received);
        return answer;
      });
    });

    socket.on('disconnect', (reason) => {
      engine.siteDisconnected(siteId, sessionId);
      logger.info('site disconnected', { federation: federationId, site: siteId, reason });
    });
  }

  /** Closes one session of a site (replaced by a newer one, revoked, federation deleted). */
  closeSession(siteId: string, sessionId: string | null, code: 'SESSION_REPLACED' | 'TOKEN_REVOKED' | 'UNKNOWN_FEDERATION', message: string): void {
    for (const socket of this.namespace.sockets.values()) {
      if (socket.data.siteId !== siteId) continue;
      if (sessionId !== null && socket.data.sessionId !== sessionId) continue;
      socket.emit('session:closed', { code, message });
      socket.disconnect(true);
    }
  }

  /** Sends one site (every connection of it) the request of its secure aggregation session. */
  secureRequest(siteId: string, request: SecureAggregationRequest): void {
    for (const socket of this.namespace.sockets.values()) if (socket.data.siteId === siteId) socket.emit('secagg:request', request);
  }

  /**
   * Sends a fresh `round:update` to every connected site of a federation. A transition (status, round, deadline) goes
   * out within the tick; a change of counts only (a site joined, got ready, submitted) is coalesced for
   * {@link COUNTS_COALESCE_MS}: with N sites each of N submissions would otherwise send N updates (N^2 a round).
   */
  federationChanged(federationId: string): void {
    const federation = this.options.store.getFederation(federationId);
    const key = federation ? transitionKey(federation) : null;
    if (key !== null && this.sentKeys.get(federationId) === key) {
      this.countsChanged.add(federationId);
      if (this.countsTimer === null) {
        this.countsTimer = setTimeout(() => {
          this.countsTimer = null;
          const ids = [...this.countsChanged];
          this.countsChanged.clear();
          for (const id of ids) this.sendRoundUpdates(id);
        }, COUNTS_COALESCE_MS);
        this.countsTimer.unref();
      }
      return;
    }
    this.pending.add(federationId);
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    queueMicrotask(() => {
      this.flushScheduled = false;
      const ids = [...this.pending];
      this.pending.clear();
      for (const id of ids) this.sendRoundUpdates(id);
    });
  }

  /** Drops coalesced updates (the coordinator is closing). */
  close(): void {
    if (this.countsTimer !== null) clearTimeout(this.countsTimer);
    this.countsTimer = null;
    this.countsChanged.clear();
  }

  private sendRoundUpdates(federationId: string): void {
    const { engine, store, logger } = this.options;
    this.countsChanged.delete(federationId);
    try {
      const federation = store.getFederation(federationId);
      if (!federation) {
        this.sentKeys.delete(federationId);
        return;
      }
      this.sentKeys.set(federationId, transitionKey(federation));
      const context = engine.views.roundContext(federation);
      for (const socket of this.namespace.sockets.values()) {
        if (socket.data.federationId !== federationId) continue;
        socket.emit('round:update', engine.views.roundUpdate(federation, socket.data.siteId, context));
      }
    } catch (error) {
      logger.error('round updates failed', { federation: federationId, error });
    }
  }
}
