/** Shared plumbing of the Socket.IO namespaces: handshake refusals, guarded handlers, unknown events, floods. */
import {
  ackError,
  ackOk,
  MIN_PROTOCOL_VERSION,
  PROTOCOL_VERSION,
  type Ack,
  type ConnectErrorData,
  type ErrorCode,
} from '@facmic/protocol';
import type { Socket } from 'socket.io';
import type { Logger } from '../logger.ts';
import type { CoordinatorMetrics } from '../metrics.ts';
import type { Outcome } from '../outcome.ts';
import { TokenBucket } from '../rate-limit.ts';

/** The error handed to Socket.IO's `next()`; the client receives `data` in its `connect_error`. */
export function connectError(code: ErrorCode, message: string): Error & { data: ConnectErrorData } {
  const error = new Error(message) as Error & { data: ConnectErrorData };
  error.data = { code, message, serverProtocolVersion: PROTOCOL_VERSION, minProtocolVersion: MIN_PROTOCOL_VERSION };
  return error;
}

/**
 * The client's address for rate limiting: the first `X-Forwarded-For` hop behind a trusted reverse proxy, else the
 * socket's peer address.
 */
export function clientAddress(socket: Socket, trustProxy: boolean): string {
  if (trustProxy) {
    const forwarded = socket.handshake.headers['x-forwarded-for'];
    const first = (Array.isArray(forwarded) ? forwarded[0] : forwarded)?.split(',')[0]?.trim();
    if (first) return first;
  }
  return socket.handshake.address;
}

type AnyAck = (response: Ack) => void;

/** The wire ack of a domain outcome: the refusal as it is, the result through `payload` (what the client may see). */
export function toAck<T extends object, A extends object>(outcome: Outcome<T>, payload: (result: T) => A): Ack<A> {
  return outcome.ok ? ackOk(payload(outcome)) : ackError(outcome.code, outcome.message);
}

export interface GuardOptions {
  logger: Logger;
  metrics: CoordinatorMetrics;
  /** Messages per second a socket may send (sustained) and burst. */
  ratePerSecond: number;
  burst: number;
  /** Disconnect a socket after this many refused-for-flooding messages in a row. */
  maxFloodRefusals: number;
}

/**
 * Registers `handler` for `event` on `socket`: takes the ack (when the client asked for one) off the arguments,
 * refuses extra arguments and floods, turns thrown errors (bugs: refusals are returned, not thrown) into
 * INTERNAL_ERROR acks, and never lets an exception escape into Socket.IO.
 */
export class SocketGuard {
  private readonly bucket: TokenBucket;
  private floodRefusals = 0;

  constructor(
    private readonly socket: Socket,
    private readonly options: GuardOptions,
    private readonly known: readonly string[],
  ) {
    this.bucket = new TokenBucket(options.ratePerSecond, options.burst);
    socket.onAny((event: unknown, ...args: unknown[]) => {
      if (typeof event === 'string' && this.known.includes(event)) return;
      const ack = typeof args.at(-1) === 'function' ? (args.at(-1) as AnyAck) : undefined;
      this.refuse(ack, 'UNKNOWN_EVENT', `unknown event ${JSON.stringify(String(event)).slice(0, 80)}`);
      this.countFlood();
    });
  }

  refuse(ack: AnyAck | undefined, code: ErrorCode, message: string): void {
    this.options.metrics.refused(code);
    this.options.logger.debug('refused', { socket: this.socket.id, code, message });
    if (ack) {
      try {
        ack(ackError(code, message));
      } catch {
        // a broken ack callback cannot be answered
      }
    }
  }

  private countFlood(): boolean {
    if (this.bucket.take()) {
      this.floodRefusals = 0;
      return true;
    }
    this.floodRefusals += 1;
    if (this.floodRefusals >= this.options.maxFloodRefusals) {
      this.options.logger.warn('socket disconnected for flooding', { socket: this.socket.id, address: this.socket.handshake.address });
      this.socket.disconnect(true);
    }
    return false;
  }

  on(event: string, handler: (payload: unknown) => Ack | Promise<Ack> | undefined, options: { ackRequired: boolean } = { ackRequired: true }): void {
    this.socket.on(event, (...args: unknown[]) => {
      const ack = typeof args.at(-1) === 'function' ? (args.pop() as AnyAck) : undefined;
      if (!this.countFlood()) {
        this.refuse(ack, 'RATE_LIMITED', 'too many messages; slow down');
        return;
      }
      if (args.length !== 1) {
        this.refuse(ack, 'MALFORMED_MESSAGE', `${event} takes exactly one payload argument, got ${args.length}`);
        return;
      }
      if (options.ackRequired && !ack) {
        this.refuse(undefined, 'MALFORMED_MESSAGE', `${event} needs an acknowledgement callback`);
        return;
      }
      const respond = (response: Ack | undefined) => {
        if (response && !response.ok) this.options.metrics.refused(response.code);
        if (ack && response) {
          try {
            ack(response);
          } catch (error) {
            this.options.logger.warn('ack failed', { event, error });
          }
        }
      };
      const fail = (error: unknown) => {
        this.options.logger.error('handler failed', { event, error: error instanceof Error ? (error.stack ?? error.message) : String(error) });
        respond(ackError('INTERNAL_ERROR', 'the coordinator failed to handle this message; nothing was changed'));
      };
      try {
        const result = handler(args[0]);
        if (result instanceof Promise) result.then(respond, fail);
        else respond(result);
      } catch (error) {
        fail(error);
      }
    });
  }
}
