/**
 * Socket.IO event maps, `domain:verb` names (socket.io's basic-crud example style). The coordinator is
 * `Server<SiteClientEvents, SiteServerEvents>` on {@link SITE_NAMESPACE} and `Server<AdminClientEvents, AdminServerEvents>`
 * on {@link ADMIN_NAMESPACE}; clients are `Socket<SiteServerEvents, SiteClientEvents>` and so on. Every payload has
 * one schema (see `site-messages.ts`, `admin-messages.ts`); receivers parse before acting, acks are {@link Ack}.
 */
import type { z } from 'zod';
import type { Ack } from './ack.ts';
import type {
  federationGetRequestSchema,
  federationListRequestSchema,
  FederationSummary,
  RoundSummary,
  SiteSummary,
  AuditEntry,
} from './admin-messages.ts';
import type { SecureAggregationAnswer, SecureAggregationRequest } from './secure-aggregation-messages.ts';
import type {
  ModelRequest,
  RoundUpdate,
  SessionClosed,
  SessionWelcome,
  SiteReady,
  SiteStatus,
  Submission,
} from './site-messages.ts';

export const SITE_NAMESPACE = '/site';
export const ADMIN_NAMESPACE = '/admin';

/** Coordinator -> site. */
export interface SiteServerEvents {
  /** First message after the handshake: who the site is, the federation, the round. */
  'session:welcome': (welcome: SessionWelcome) => void;
  /** The round changed (start, submission count, deadline, pause, publication, end). */
  'round:update': (update: RoundUpdate) => void;
  /** The coordinator closes this session for good (replaced, revoked, federation deleted). */
  'session:closed': (closed: SessionClosed) => void;
  /** Secure aggregation: what the round's session asks of this site now (`secure-aggregation-messages.ts`). */
  'secagg:request': (request: SecureAggregationRequest) => void;
}

/** Site -> coordinator. */
export interface SiteClientEvents {
  'site:ready': (ready: SiteReady, ack: (response: Ack<{ round: RoundUpdate }>) => void) => void;
  'site:status': (status: SiteStatus, ack?: (response: Ack) => void) => void;
  'features:get': (request: Record<string, never>, ack: (response: Ack<{ checksum: string; data: Uint8Array | ArrayBuffer }>) => void) => void;
  'model:get': (request: ModelRequest, ack: (response: Ack<{ round: number; checksum: string; data: Uint8Array | ArrayBuffer }>) => void) => void;
  'round:submit': (submission: Submission, ack: (response: Ack<{ round: number; checksum: string; duplicate: boolean }>) => void) => void;
  /** Secure aggregation: the site's answer to a `secagg:request` (instead of `round:submit` in such a federation). */
  'secagg:answer': (answer: SecureAggregationAnswer, ack: (response: Ack) => void) => void;
}

/** Coordinator -> admin dashboards (every connected admin gets every event). */
export interface AdminServerEvents {
  'federation:updated': (federation: FederationSummary) => void;
  'federation:deleted': (deleted: { federationId: string }) => void;
  'site:updated': (site: SiteSummary) => void;
  'round:updated': (round: RoundSummary) => void;
  'audit:appended': (entry: AuditEntry) => void;
}

/** Admin dashboard -> coordinator (everything else is REST). */
export interface AdminClientEvents {
  'federation:list': (
    request: z.input<typeof federationListRequestSchema>,
    ack: (response: Ack<{ federations: FederationSummary[] }>) => void,
  ) => void;
  'federation:get': (
    request: z.input<typeof federationGetRequestSchema>,
    ack: (response: Ack<{ federation: FederationSummary; sites: SiteSummary[]; rounds: RoundSummary[] }>) => void,
  ) => void;
}

export const SITE_CLIENT_EVENT_NAMES = ['site:ready', 'site:status', 'features:get', 'model:get', 'round:submit', 'secagg:answer'] as const satisfies readonly (keyof SiteClientEvents)[];
export const ADMIN_CLIENT_EVENT_NAMES = ['federation:list', 'federation:get'] as const satisfies readonly (keyof AdminClientEvents)[];
