/** Typed outcomes of secure aggregation: a site's refusal, and the coordinator's own errors and failures. */
import type { SecureAggregationPhase, SecureAggregationRefusal, SecureAggregationRefusalReason } from '@facmic/protocol';
import { SECURE_AGGREGATION_REFUSAL_REASONS } from '@facmic/protocol';
import { PrivacyError } from '../errors.ts';

/**
 * An honest site refuses a request: it answers `secagg:refusal` ({@link refusalMessage}) and takes no further part in
 * the session. Its state is unchanged, so nothing was revealed.
 */
export class SecureAggregationRefusalError extends PrivacyError<SecureAggregationRefusalReason> {
  constructor(
    readonly session: string,
    readonly phase: SecureAggregationPhase,
    reason: SecureAggregationRefusalReason,
    detail: string,
  ) {
    super(reason, `${SECURE_AGGREGATION_REFUSAL_REASONS[reason]} ${detail}`.trim());
    this.name = 'SecureAggregationRefusalError';
  }
}

/** The `secagg:refusal` payload of a refusal. */
export function refusalMessage(error: SecureAggregationRefusalError): SecureAggregationRefusal {
  return { session: error.session, phase: error.phase, reason: error.code, message: error.message.slice(0, 500) };
}

/**
 * The coordinator refuses a site's message. Step 2 maps these to protocol codes: `wrong-session` and `malformed` ->
 * MALFORMED_MESSAGE, `phase-closed` -> ROUND_CLOSED, `not-a-participant` -> NOT_A_PARTICIPANT, `conflicting-message`
 * -> DUPLICATE_SUBMISSION. The server state is unchanged.
 */
export type SecureAggregationServerErrorCode = 'wrong-session' | 'phase-closed' | 'not-a-participant' | 'conflicting-message' | 'malformed' | 'invalid-settings';

export class SecureAggregationServerError extends PrivacyError<SecureAggregationServerErrorCode> {
  constructor(code: SecureAggregationServerErrorCode, message: string) {
    super(code, message);
    this.name = 'SecureAggregationServerError';
  }
}

/** Why a session failed; the round is then restarted with a new session or abandoned. Nothing was unmasked. */
export type SecureAggregationFailureReason =
  | 'too-few-advertised'
  | 'too-few-shared'
  | 'too-few-inputs'
  | 'too-few-responses'
  | 'unmasking-failed'
  | 'abandoned';
