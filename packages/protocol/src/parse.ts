/** Turning untrusted payloads into typed messages, with the protocol's error codes. */
import type { z } from 'zod';
import type { AckFailure } from './ack.ts';
import { submissionSchema, type ParsedSubmission } from './site-messages.ts';

export type ParseResult<T> = { ok: true; data: T } | AckFailure;

/** A short, readable list of what is wrong (first few issues, with their paths). */
export function describeIssues(error: z.ZodError, max = 3): string {
  const parts = error.issues.slice(0, max).map((issue) => {
    const path = issue.path.length > 0 ? issue.path.map(String).join('.') : '(message)';
    return `${path}: ${issue.message}`;
  });
  if (error.issues.length > max) parts.push(`and ${error.issues.length - max} more`);
  return parts.join('; ');
}

/** Parses a message; a mismatch is a `MALFORMED_MESSAGE` naming the fields. */
export function parseMessage<S extends z.ZodType>(schema: S, data: unknown): ParseResult<z.output<S>> {
  const result = schema.safeParse(data);
  if (result.success) return { ok: true, data: result.data };
  return { ok: false, code: 'MALFORMED_MESSAGE', message: describeIssues(result.error) };
}

/** Parses a `round:submit` payload; a bad sample count gets its own code (`BAD_SAMPLE_COUNT`). */
export function parseSubmission(data: unknown): ParseResult<ParsedSubmission> {
  const result = submissionSchema.safeParse(data);
  if (result.success) return { ok: true, data: result.data };
  // One field may fail several checks at once (1e308 is neither a safe integer nor <= MAX_SAMPLE_COUNT): when every
  // issue is the sample count's, the answer is the field's own code.
  const issues = result.error.issues;
  if (issues.length > 0 && issues.every((i) => i.path[0] === 'sampleCount')) {
    return { ok: false, code: 'BAD_SAMPLE_COUNT', message: `sampleCount: ${issues.map((i) => i.message).join('; ')}` };
  }
  return { ok: false, code: 'MALFORMED_MESSAGE', message: describeIssues(result.error) };
}
