/**
 * Whether a `round:submit` can be accepted, pure: from the federation, its open round and what the site already
 * stored, the submission is a duplicate to acknowledge again, an update to accept (decoded and checked here, once:
 * the decoded state is what the running sum adds), or refused with a typed reason. Nothing here writes anything. With
 * `decode: false` the weights' own checks are left to `decodeSubmission` (the submission worker runs it), except for an
 * 8-bit update, decoded here against the round's global model.
 */
import { isCounterEntry, ModuleStateError, moduleTensorSpec, validateCounters, type ModuleState } from '@facmic/learning/plain';
import { declaresTensorBase, decodeTensors, encodedTensorsByteLength, openRound, TensorEncodingError, type ParsedSubmission, type TensorBase, type TensorDtype, type TensorSpec } from '@facmic/protocol';
import { accept, refuse, type Outcome } from './outcome.ts';
import type { FederationRecord, SubmissionRecord } from './store/store.ts';

/** Margin over the float32 size of a module for a submission (header differences). */
const WEIGHTS_MARGIN_BYTES = 64 * 1024;

export type SubmissionRefusalCode =
  | 'FOREIGN_SUBMISSION'
  | 'UNKNOWN_FEDERATION'
  | 'DUPLICATE_SUBMISSION'
  | 'FEDERATION_STOPPED'
  | 'FEDERATION_FINISHED'
  | 'FEDERATION_PAUSED'
  | 'STALE_ROUND'
  | 'WRONG_ROUND'
  | 'ROUND_CLOSED'
  | 'NOT_A_PARTICIPANT'
  | 'PAYLOAD_TOO_LARGE'
  | 'BAD_WEIGHTS'
  | 'WEIGHTS_SHAPE_MISMATCH'
  | 'NON_FINITE_WEIGHTS';

export type WeightsDtype = SubmissionRecord['dtype'];

export interface SubmissionContext {
  readonly siteId: string;
  /** The federation of the site's session. */
  readonly sessionFederationId: string;
  /** That federation, or null if it was deleted. */
  readonly federation: FederationRecord | null;
  /** Participants of the federation's current round (null when it has no round record). */
  readonly participants: readonly string[] | null;
  /** What this site already stored for the submitted round. */
  readonly existing: SubmissionRecord | null;
  /** The global model 8-bit updates of the submitted round are deltas from (`update-base.ts`); absent: they are refused. */
  readonly base?: () => TensorBase;
}

export type CheckedSubmission =
  | { readonly kind: 'duplicate'; readonly checksum: string }
  | { readonly kind: 'update'; readonly state: ModuleState; readonly checksum: string; readonly dtype: WeightsDtype }
  /** Everything but the weights' own checks passed; `decodeSubmission` does those (in the submission worker). */
  | { readonly kind: 'to-decode'; readonly spec: TensorSpec; readonly maxBytes: number };

/** Names and shapes of the federation's module state. */
export function moduleSpecOf(federation: FederationRecord): TensorSpec {
  return moduleTensorSpec(federation.settings.method, federation.encoder.featureDim);
}

/** Largest tensor file accepted as a submission for this federation. */
export function maxWeightsBytes(federation: FederationRecord): number {
  return encodedTensorsByteLength(moduleSpecOf(federation), 'float32') + WEIGHTS_MARGIN_BYTES;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.byteLength === b.byteLength && Buffer.compare(Buffer.from(a.buffer, a.byteOffset, a.byteLength), Buffer.from(b.buffer, b.byteOffset, b.byteLength)) === 0;
}

/** The check, in the order a site would want to hear about problems. */
export function checkSubmission(
  context: SubmissionContext,
  submission: ParsedSubmission,
  options: { decode?: boolean } = {},
): Outcome<{ checked: CheckedSubmission }, SubmissionRefusalCode> {
  const { federation, existing } = context;
  if (submission.federationId !== context.sessionFederationId) {
    return refuse('FOREIGN_SUBMISSION', `this site belongs to federation ${context.sessionFederationId}, not ${submission.federationId}`);
  }
  if (!federation) return refuse('UNKNOWN_FEDERATION', 'the federation no longer exists');
  const { round } = submission;
  if (existing) {
    const same = existing.weights ? sameBytes(existing.weights, submission.weights) : existing.bytes === submission.weights.byteLength;
    if (same && existing.sampleCount === submission.sampleCount) return accept({ checked: { kind: 'duplicate', checksum: existing.checksum } as const });
    return refuse('DUPLICATE_SUBMISSION', `this site already submitted other weights for round ${round}`);
  }
  if (federation.status === 'stopped') return refuse('FEDERATION_STOPPED', 'the federation was stopped');
  if (federation.status === 'finished') return refuse('FEDERATION_FINISHED', 'the federation finished all its rounds');
  if (round < federation.round) return refuse('STALE_ROUND', `round ${round} is over; the current round is ${federation.round}`);
  if (round > federation.round && federation.status === 'paused') {
    return refuse('FEDERATION_PAUSED', `the federation is paused before round ${round}; it starts when an admin resumes it`);
  }
  if (round > federation.round) return refuse('WRONG_ROUND', `round ${round} has not started (current round: ${federation.round})`);
  if (openRound(federation) !== round) return refuse('ROUND_CLOSED', `round ${round} no longer accepts submissions (${federation.status})`);
  if (!context.participants?.includes(context.siteId)) {
    return refuse('NOT_A_PARTICIPANT', `this site is not a participant of round ${round}; it trains from the next round`);
  }
  const maxBytes = maxWeightsBytes(federation);
  if (submission.weights.byteLength > maxBytes) {
    return refuse('PAYLOAD_TOO_LARGE', `${submission.weights.byteLength} bytes of weights; this federation's module is at most ${maxBytes}`);
  }
  // An 8-bit update is decoded here: it needs the round's global model, which the submission worker does not hold.
  if (options.decode === false && !declaresTensorBase(submission.weights)) return accept({ checked: { kind: 'to-decode', spec: moduleSpecOf(federation), maxBytes } as const });
  const decoded = decodeSubmission(submission.weights, moduleSpecOf(federation), maxBytes, context.base);
  return decoded.ok ? accept({ checked: decoded.checked }) : decoded;
}

/**
 * The weights' own checks, pure and on plain data (it also runs in the submission worker): names, shapes and finite
 * values against the module's spec, and the counter; an 8-bit update against `base`, the round's global model (without
 * it, such a file is refused). The state is only read (added to the running sum) while the submission's bytes live: no
 * copy.
 */
export function decodeSubmission(weights: Uint8Array, spec: TensorSpec, maxBytes: number, base?: () => TensorBase): Outcome<{ checked: Extract<CheckedSubmission, { kind: 'update' }> }, SubmissionRefusalCode> {
  try {
    const decoded = decodeTensors(weights, { expected: spec, maxBytes, copy: false, ...(base ? { base } : {}) });
    validateCounters(decoded.tensors);
    const dtypes = new Set(Object.entries(decoded.dtypes).filter(([name]) => !isCounterEntry(name)).map(([, dtype]) => dtype));
    // An 8-bit update keeps its running statistics in float32: it is an 8-bit update all the same.
    const dtype: WeightsDtype = dtypes.has('int8') ? 'int8' : dtypes.size === 1 ? ([...dtypes][0] as TensorDtype) : 'mixed';
    return accept({ checked: { kind: 'update', state: decoded.tensors, checksum: decoded.checksum, dtype } as const });
  } catch (error) {
    if (error instanceof TensorEncodingError) return refuse(error.code, error.message);
    if (error instanceof ModuleStateError) return refuse(error.code === 'non-finite' ? 'NON_FINITE_WEIGHTS' : 'BAD_WEIGHTS', error.message);
    throw error;
  }
}
