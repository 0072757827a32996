/**
 * Acknowledgement envelope of every Socket.IO request (socket.io's basic-crud example style):
 * `{ ok: true, ...result }` or `{ ok: false, code, message }`. REST error bodies use the failure shape too.
 */
import { z } from 'zod';
import { ERROR_CODE_LIST, type ErrorCode } from './errors.ts';

export interface AckFailure {
  ok: false;
  code: ErrorCode;
  message: string;
}
export type AckSuccess<T extends object = object> = { ok: true } & T;
export type Ack<T extends object = object> = AckSuccess<T> | AckFailure;
export type AckCallback<T extends object = object> = (response: Ack<T>) => void;

export const errorCodeSchema = z.enum(ERROR_CODE_LIST as [ErrorCode, ...ErrorCode[]]);
export const ackFailureSchema = z.object({ ok: z.literal(false), code: errorCodeSchema, message: z.string() });

/** Schema of an ack whose success carries `shape`; clients validate what the coordinator answers. */
export function ackSchema<S extends z.ZodRawShape>(shape: S) {
  return z.discriminatedUnion('ok', [z.object({ ok: z.literal(true), ...shape }), ackFailureSchema]);
}

export function ackOk<T extends object>(result: T): AckSuccess<T> {
  return { ok: true, ...result };
}

export function ackError(code: ErrorCode, message: string): AckFailure {
  return { ok: false, code, message };
}
