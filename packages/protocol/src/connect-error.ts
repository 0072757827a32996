/**
 * Handshake refusals. The coordinator calls Socket.IO's `next(err)` with `err.data` set to a
 * {@link ConnectErrorData}; clients read it from their `connect_error` event with {@link readConnectError}.
 */
import { z } from 'zod';
import { errorCodeSchema } from './ack.ts';
import type { ErrorCode } from './errors.ts';

export const connectErrorDataSchema = z.object({
  code: errorCodeSchema,
  message: z.string(),
  serverProtocolVersion: z.int(),
  minProtocolVersion: z.int(),
});
export type ConnectErrorData = z.infer<typeof connectErrorDataSchema>;

/** The typed refusal inside a `connect_error`, or null when the error is a network one (retry). */
export function readConnectError(error: unknown): ConnectErrorData | null {
  if (typeof error !== 'object' || error === null) return null;
  const parsed = connectErrorDataSchema.safeParse((error as { data?: unknown }).data);
  return parsed.success ? parsed.data : null;
}

/** Refusals after which reconnecting with the same credentials cannot succeed. */
export const PERMANENT_CONNECT_ERRORS: readonly ErrorCode[] = [
  'CLIENT_TOO_OLD',
  'SERVER_TOO_OLD',
  'BAD_HANDSHAKE',
  'UNKNOWN_FEDERATION',
  'BAD_TOKEN',
  'TOKEN_REVOKED',
  'UNAUTHORIZED',
];
