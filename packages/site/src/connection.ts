/**
 * A site's connection to the coordinator: the handshake (protocol version, federation, invite token), reconnection
 * (Socket.IO's own, plus a retry after a server-side disconnect or a middleware refusal, which Socket.IO does not
 * retry), the coordinator's pushes checked against their schemas (and a welcome against the federation and site
 * asked for), and acked requests validated against their ack schema. It decides nothing about rounds.
 */
import {
  PERMANENT_CONNECT_ERRORS,
  PROTOCOL_VERSION,
  readConnectError,
  roundUpdateSchema,
  secureAggregationRequestSchema,
  sessionClosedSchema,
  sessionWelcomeSchema,
  SITE_NAMESPACE,
  type RoundUpdate,
  type SecureAggregationRequest,
  type SessionWelcome,
  type SiteClientEvents,
  type SiteServerEvents,
  type SiteStatus,
} from '@facmic/protocol';
import { io, type Socket } from 'socket.io-client';
import type { z } from 'zod';
import { SiteError } from './events.ts';

export interface ConnectionOptions {
  /** Socket.IO path (default `/socket.io`). */
  path?: string;
  transports?: ('websocket' | 'polling' | 'webtransport')[];
  reconnectionDelayMs?: number;
  reconnectionDelayMaxMs?: number;
  /** Timeout of small requests (default 30 s). */
  requestTimeoutMs?: number;
  /** Timeout of a weight upload (default 120 s). */
  uploadTimeoutMs?: number;
}

export interface ConnectionTarget {
  /** Coordinator base URL, e.g. `http://10.0.0.5:3000` (the invite link's origin). */
  coordinatorUrl: string;
  federationId: string;
  token: string;
  /** Shown to admins, e.g. `facmic-web/0.1`. */
  clientName?: string;
  connection?: ConnectionOptions;
}

export interface ConnectionHandlers {
  connected(): void;
  /** The transport dropped; Socket.IO (or this connection) reconnects by itself. */
  disconnected(reason: string): void;
  /**
   * The session cannot go on: a connection refused for good (bad token, revoked invite, protocol too old, ...), the
   * coordinator closing the session, or a welcome to another federation or site.
   */
  ended(error: SiteError): void;
  /** A connection attempt failed and will be retried. */
  retrying(reason: string): void;
  welcome(welcome: SessionWelcome): void;
  roundUpdate(update: RoundUpdate): void;
  /** Secure aggregation: the coordinator asks this site for the current phase of its round's session. */
  secureRequest?(request: SecureAggregationRequest): void;
  /** The coordinator sent something that does not match the protocol (and that the site can ignore). */
  malformed(message: string): void;
}

type SiteSocket = Socket<SiteServerEvents, SiteClientEvents>;

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export class SiteConnection {
  private readonly socket: SiteSocket;
  private reconnectTimer: ReturnType<typeof setTimeout> | null = null;
  private siteId: string | null = null;
  private closed = false;

  constructor(
    private readonly target: ConnectionTarget,
    handlers: ConnectionHandlers,
  ) {
    const connection = target.connection ?? {};
    const url = target.coordinatorUrl.replace(/\/+$/, '') + SITE_NAMESPACE;
    const socket: SiteSocket = io(url, {
      path: connection.path ?? '/socket.io',
      auth: {
        protocolVersion: PROTOCOL_VERSION,
        federationId: target.federationId,
        siteToken: target.token,
        ...(target.clientName === undefined ? {} : { client: target.clientName }),
      },
      reconnection: true,
      reconnectionDelay: connection.reconnectionDelayMs ?? 1000,
      reconnectionDelayMax: connection.reconnectionDelayMaxMs ?? 10_000,
      ...(connection.transports ? { transports: connection.transports } : {}),
      autoConnect: false,
    });
    this.socket = socket;
    socket.on('connect', () => { handlers.connected(); });
    socket.on('disconnect', (reason) => {
      handlers.disconnected(reason);
      if (this.closed) return;
      // A server-side disconnect (e.g. a coordinator shutting down) does not reconnect by itself.
      if (reason === 'io server disconnect') this.scheduleReconnect();
    });
    socket.on('connect_error', (error) => {
      if (this.closed) return;
      const refusal = readConnectError(error);
      if (refusal && PERMANENT_CONNECT_ERRORS.includes(refusal.code)) {
        handlers.ended(new SiteError(refusal.code, refusal.message));
        return;
      }
      handlers.retrying(refusal?.message ?? error.message);
      // Refusals from the coordinator's middleware (e.g. RATE_LIMITED) stop Socket.IO's own retries.
      if (!socket.active) this.scheduleReconnect();
    });
    socket.on('session:welcome', (payload) => {
      const welcome = this.readWelcome(payload);
      if (welcome instanceof SiteError) handlers.ended(welcome);
      else handlers.welcome(welcome);
    });
    socket.on('round:update', (payload) => {
      const parsed = roundUpdateSchema.safeParse(payload);
      if (parsed.success) handlers.roundUpdate(parsed.data);
      else handlers.malformed('malformed round:update from the coordinator');
    });
    socket.on('secagg:request', (payload) => {
      const parsed = secureAggregationRequestSchema.safeParse(payload);
      if (parsed.success) handlers.secureRequest?.(parsed.data);
      else handlers.malformed('malformed secagg:request from the coordinator');
    });
    socket.on('session:closed', (payload) => {
      const parsed = sessionClosedSchema.safeParse(payload);
      handlers.ended(new SiteError(parsed.success ? parsed.data.code : 'SESSION_REPLACED', parsed.success ? parsed.data.message : 'the coordinator closed this session'));
    });
  }

  /** The welcome, checked: this federation, and the same site as on earlier connections. */
  private readWelcome(payload: unknown): SessionWelcome | SiteError {
    const parsed = sessionWelcomeSchema.safeParse(payload);
    if (!parsed.success) return new SiteError('PROTOCOL_VIOLATION', 'malformed session:welcome from the coordinator');
    const welcome = parsed.data;
    const asked = this.target.federationId;
    if (welcome.federation.id !== asked) return new SiteError('PROTOCOL_VIOLATION', `welcomed to federation ${welcome.federation.id}, asked for ${asked}`);
    if (this.siteId !== null && this.siteId !== welcome.site.id) return new SiteError('PROTOCOL_VIOLATION', 'the coordinator changed this site identity');
    this.siteId = welcome.site.id;
    return welcome;
  }

  open(): void {
    this.socket.connect();
  }

  get connected(): boolean {
    return this.socket.connected && !this.closed;
  }

  private scheduleReconnect(): void {
    if (this.reconnectTimer !== null || this.closed) return;
    const delay = this.target.connection?.reconnectionDelayMs ?? 1000;
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      if (!this.closed && !this.socket.connected) this.socket.connect();
    }, delay);
  }

  /**
   * An acked request, validated against its ack schema. Throws a {@link SiteError}: `CONNECTION_LOST` on timeout or
   * disconnection (at once, not at the timeout: the next welcome retries), `PROTOCOL_VIOLATION` on a malformed answer.
   */
  async request<S extends z.ZodType>(schema: S, event: keyof SiteClientEvents, payload: unknown, kind: 'small' | 'upload' = 'small'): Promise<z.output<S>> {
    const socket = this.socket;
    if (!this.connected) throw new SiteError('CONNECTION_LOST', `not connected (${event})`);
    const options = this.target.connection ?? {};
    const timeout = kind === 'upload' ? (options.uploadTimeoutMs ?? 120_000) : (options.requestTimeoutMs ?? 30_000);
    const untyped = socket as unknown as Socket;
    const raw: unknown = await new Promise((resolve, reject) => {
      const onDisconnect = (reason: string) => {
        reject(new SiteError('CONNECTION_LOST', `connection lost during ${event} (${reason})`));
      };
      untyped.once('disconnect', onDisconnect);
      untyped
        .timeout(timeout)
        .emitWithAck(event, payload)
        .then(resolve, (error: unknown) => {
          // Socket.IO rejects with a plain Error when the ack times out.
          reject(new SiteError('CONNECTION_LOST', `no answer to ${event} (${errorMessage(error)})`));
        })
        .finally(() => untyped.off('disconnect', onDisconnect));
    });
    const parsed = schema.safeParse(raw);
    if (!parsed.success) throw new SiteError('PROTOCOL_VIOLATION', `malformed answer to ${event}`);
    return parsed.data;
  }

  /** Reports the site's phase to the dashboard (no ack). */
  sendStatus(status: SiteStatus): void {
    if (this.connected) this.socket.emit('site:status', { ...status, message: status.message?.slice(0, 300) ?? null });
  }

  /** Disconnects for good (after a last status, when given). */
  close(lastStatus?: SiteStatus): void {
    if (this.closed) return;
    if (lastStatus) this.sendStatus(lastStatus);
    this.closed = true;
    if (this.reconnectTimer !== null) clearTimeout(this.reconnectTimer);
    this.socket.disconnect();
  }
}
