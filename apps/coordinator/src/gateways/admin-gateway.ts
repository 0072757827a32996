/** The `/admin` namespace: live events for dashboards (every admin gets every event) and two snapshot requests. */
import {
  ackError,
  ADMIN_CLIENT_EVENT_NAMES,
  ADMIN_NAMESPACE,
  adminHandshakeSchema,
  checkProtocolVersion,
  federationGetRequestSchema,
  federationListRequestSchema,
  parseMessage,
  type AdminClientEvents,
  type AdminServerEvents,
  type AuditEntry,
} from '@facmic/protocol';
import type { Namespace, Server } from 'socket.io';
import { tokenMatches } from '../auth.ts';
import type { FederationEngine } from '../engine.ts';
import type { Logger } from '../logger.ts';
import type { CoordinatorMetrics } from '../metrics.ts';
import type { FailureLimiter } from '../rate-limit.ts';
import type { CoordinatorStore } from '../store/store.ts';
import { clientAddress, connectError, SocketGuard, type GuardOptions } from './socket-util.ts';

type AdminNamespace = Namespace<AdminClientEvents, AdminServerEvents>;

export interface AdminGatewayOptions {
  engine: FederationEngine;
  store: CoordinatorStore;
  logger: Logger;
  metrics: CoordinatorMetrics;
  authFailures: FailureLimiter;
  trustProxy: boolean;
  adminTokenHash: string;
  guard: Omit<GuardOptions, 'logger' | 'metrics'>;
}

export class AdminGateway {
  readonly namespace: AdminNamespace;
  private readonly pendingSites = new Set<string>();
  private readonly pendingFederations = new Set<string>();
  private readonly pendingRounds = new Map<string, { federationId: string; round: number }>();
  private flushScheduled = false;

  constructor(
    io: Server,
    private readonly options: AdminGatewayOptions,
  ) {
    this.namespace = io.of(ADMIN_NAMESPACE);
    this.namespace.use((socket, next) => {
      const address = clientAddress(socket, options.trustProxy);
      const refuse = (code: Parameters<typeof connectError>[0], message: string, failure: boolean) => {
        if (failure) options.authFailures.fail(address);
        options.metrics.refused(code);
        next(connectError(code, message));
      };
      if (options.authFailures.blocked(address)) {
        refuse('RATE_LIMITED', 'too many failed attempts; wait a minute', false);
        return;
      }
      const auth: unknown = socket.handshake.auth;
      const version = (auth as { protocolVersion?: unknown } | null)?.protocolVersion;
      if (typeof version === 'number' && Number.isInteger(version)) {
        const check = checkProtocolVersion(version);
        if (!check.ok) {
          refuse(check.code, check.message, false);
          return;
        }
      }
      const parsed = adminHandshakeSchema.safeParse(auth);
      if (!parsed.success) {
        refuse('BAD_HANDSHAKE', 'the handshake needs { protocolVersion, adminToken }', true);
        return;
      }
      if (!tokenMatches(parsed.data.adminToken, options.adminTokenHash)) {
        refuse('UNAUTHORIZED', 'wrong admin token', true);
        return;
      }
      next();
    });
    this.namespace.on('connection', (socket) => {
      options.metrics.connected('admin');
      const guard = new SocketGuard(socket, { ...options.guard, logger: options.logger, metrics: options.metrics }, ADMIN_CLIENT_EVENT_NAMES);
      const { engine, store } = options;
      const { views } = engine;
      guard.on('federation:list', (payload) => {
        const parsed = parseMessage(federationListRequestSchema, payload);
        if (!parsed.ok) return parsed;
        return { ok: true, federations: store.listFederations().map((f) => views.federationSummary(f)) };
      });
      guard.on('federation:get', (payload) => {
        const parsed = parseMessage(federationGetRequestSchema, payload);
        if (!parsed.ok) return parsed;
        const found = engine.findFederation(parsed.data.federationId);
        if (!found.ok) return ackError(found.code, found.message);
        const { federation } = found;
        const counts = store.countSubmissionsBySite(federation.id);
        return {
          ok: true,
          federation: views.federationSummary(federation),
          sites: store.listSites(federation.id).map((s) => views.siteSummary(s, counts)),
          rounds: store.listRounds(federation.id).map((r) => views.roundSummary(r)),
        };
      });
    });
  }

  private schedule(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    // Coalesce bursts (a site's progress reports, several transitions in one tick) into one event per object.
    setTimeout(() => {
      this.flushScheduled = false;
      this.flush();
    }, 50).unref();
  }

  private flush(): void {
    const { engine, store, logger } = this.options;
    try {
      if (this.namespace.sockets.size === 0) {
        this.pendingFederations.clear();
        this.pendingRounds.clear();
        this.pendingSites.clear();
        return;
      }
      for (const id of this.pendingFederations) {
        const federation = store.getFederation(id);
        if (federation) this.namespace.emit('federation:updated', engine.views.federationSummary(federation));
      }
      for (const { federationId, round } of this.pendingRounds.values()) {
        const record = store.getRound(federationId, round);
        if (record) this.namespace.emit('round:updated', engine.views.roundSummary(record));
      }
      for (const id of this.pendingSites) {
        const site = store.getSite(id);
        if (site) this.namespace.emit('site:updated', engine.views.siteSummary(site));
      }
    } catch (error) {
      logger.error('admin events failed', { error });
    } finally {
      this.pendingFederations.clear();
      this.pendingRounds.clear();
      this.pendingSites.clear();
    }
  }

  federationChanged(federationId: string): void {
    this.pendingFederations.add(federationId);
    this.schedule();
  }

  roundChanged(federationId: string, round: number): void {
    this.pendingRounds.set(`${federationId}:${round}`, { federationId, round });
    this.schedule();
  }

  siteChanged(siteId: string): void {
    this.pendingSites.add(siteId);
    this.schedule();
  }

  federationDeleted(federationId: string): void {
    this.pendingFederations.delete(federationId);
    this.namespace.emit('federation:deleted', { federationId });
  }

  audit(entry: AuditEntry): void {
    this.namespace.emit('audit:appended', entry);
  }
}
