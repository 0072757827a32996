/**
 * The coordinator's one error channel: every operation of the engine (and of the services around it) returns an
 * {@link Outcome}, either its result or a typed {@link Refusal} with a protocol error code. Nothing throws for a
 * refused request; a thrown error is a bug and becomes INTERNAL_ERROR. The gateways turn outcomes into Socket.IO
 * acks, the REST API into HTTP answers.
 */
import type { ErrorCode } from '@facmic/protocol';

export interface Refusal<C extends ErrorCode = ErrorCode> {
  readonly ok: false;
  readonly code: C;
  readonly message: string;
}

export type Outcome<T extends object = object, C extends ErrorCode = ErrorCode> = ({ readonly ok: true } & T) | Refusal<C>;

export function refuse<C extends ErrorCode>(code: C, message: string): Refusal<C> {
  return { ok: false, code, message };
}

export function accept<T extends object>(value: T): { readonly ok: true } & T {
  return { ok: true, ...value };
}

/**
 * A refusal thrown from deep inside multi-step asynchronous work (encoding a new federation's data), caught at that
 * work's boundary and returned as its outcome. Never thrown out of the engine.
 */
export class RefusalError extends Error {
  override readonly name = 'RefusalError';
  readonly refusal: Refusal;

  constructor(code: ErrorCode, message: string) {
    super(message);
    this.refusal = refuse(code, message);
  }
}
