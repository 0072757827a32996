/**
 * Announcements from the engine to the gateways, and the rule that makes them true: state is persisted first, then
 * announced. {@link Announcer.commit} runs a store transaction that may append audit entries and announces those
 * entries only once the transaction has committed (a rolled-back entry is never shown to a dashboard).
 */
import type { AuditEntry, SecureAggregationRequest } from '@facmic/protocol';
import type { Clock } from './clock.ts';
import type { Logger } from './logger.ts';
import type { CoordinatorStore } from './store/store.ts';

/** Timings of one publication, for `/metrics`. */
export interface PublicationTimings {
  /** From the round's close to the stored global model (division, encoding, persistence). */
  readonly aggregationMs: number;
  /** From the last accepted submission to the stored global model, when this coordinator saw it (null after a restart). */
  readonly publicationMs: number | null;
}

/** Called after the store has the new state. */
export interface EngineListener {
  /** Federation state or round changed: sites need a fresh `round:update`, admins `federation:updated`. */
  federationChanged(federationId: string): void;
  roundChanged(federationId: string, round: number): void;
  siteChanged(siteId: string): void;
  /** Disconnect a site for good (revoked, federation deleted). */
  closeSite(siteId: string, code: 'TOKEN_REVOKED' | 'UNKNOWN_FEDERATION', message: string): void;
  federationDeleted(federationId: string): void;
  audit(entry: AuditEntry): void;
  /** A global model was published (once per publication). */
  roundPublished?(federationId: string, round: number, timings: PublicationTimings): void;
  /** Secure aggregation: send a site the request of its session's phase (`secagg:request`). */
  secureRequest?(siteId: string, request: SecureAggregationRequest): void;
}

/** Appends an audit entry inside {@link Announcer.commit}. */
export type AuditWriter = (actor: string, action: string, federationId: string | null, details?: Readonly<Record<string, unknown>>) => void;

export class Announcer {
  private readonly listeners: EngineListener[] = [];

  constructor(
    private readonly store: CoordinatorStore,
    private readonly clock: Clock,
    private readonly logger: Logger,
  ) {}

  add(listener: EngineListener): void {
    this.listeners.push(listener);
  }

  /** Tells every listener; a failing listener is logged and does not stop the others. */
  announce(fn: (listener: EngineListener) => void): void {
    for (const listener of this.listeners) {
      try {
        fn(listener);
      } catch (error) {
        this.logger.error('announcement failed', { error });
      }
    }
  }

  federationChanged(federationId: string): void {
    this.announce((l) => { l.federationChanged(federationId); });
  }

  roundChanged(federationId: string, round: number): void {
    this.announce((l) => { l.roundChanged(federationId, round); });
  }

  siteChanged(siteId: string): void {
    this.announce((l) => { l.siteChanged(siteId); });
  }

  /** Runs `fn` in one transaction; the audit entries it wrote are announced after the commit. */
  commit<T>(fn: (audit: AuditWriter) => T): T {
    const entries: AuditEntry[] = [];
    const at = this.clock.now();
    const result = this.store.transaction(() =>
      fn((actor, action, federationId, details = {}) => {
        entries.push(this.store.appendAudit({ at, actor, action, federationId, details: { ...details } }));
      }),
    );
    for (const entry of entries) this.announce((l) => { l.audit(entry); });
    return result;
  }
}
