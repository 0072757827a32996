/**
 * Typed errors of the learning core. Every error carries a machine-readable `code` so callers (coordinator, site,
 * CLI) can react to the kind of failure without parsing messages. This file imports nothing (no tfjs).
 */

export class LearningError<C extends string = string> extends Error {
  readonly code: C;

  constructor(code: C, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = 'LearningError';
  }
}

export type ModuleStateErrorCode =
  | 'invalid-kind'
  | 'invalid-dim'
  | 'missing-entry'
  | 'unexpected-entry'
  | 'shape-mismatch'
  | 'length-mismatch'
  | 'non-finite'
  | 'invalid-counter';

/** A module state does not match the layout of its module kind and dimension. */
export class ModuleStateError extends LearningError<ModuleStateErrorCode> {
  readonly entry: string | undefined;

  constructor(code: ModuleStateErrorCode, message: string, entry?: string) {
    super(code, message);
    this.name = 'ModuleStateError';
    this.entry = entry;
  }
}

export type AggregationErrorCode =
  | 'no-updates'
  | 'name-mismatch'
  | 'shape-mismatch'
  | 'length-mismatch'
  | 'non-finite'
  | 'invalid-sample-count'
  | 'invalid-weight';

/** Client updates cannot be aggregated. `clientIndex` points at the offending update where there is one. */
export class AggregationError extends LearningError<AggregationErrorCode> {
  readonly clientIndex: number | undefined;
  readonly entry: string | undefined;

  constructor(code: AggregationErrorCode, message: string, details: { clientIndex?: number; entry?: string } = {}) {
    super(code, message);
    this.name = 'AggregationError';
    this.clientIndex = details.clientIndex;
    this.entry = details.entry;
  }
}

export type TrainingErrorCode =
  | 'invalid-features'
  | 'invalid-labels'
  | 'invalid-text-features'
  | 'too-few-samples'
  | 'missing-reference'
  | 'reference-too-small'
  | 'dimension-mismatch'
  | 'invalid-options'
  | 'module-mismatch'
  | 'aborted';

/** Local training or inference was given inputs it cannot use, or was aborted. */
export class TrainingError extends LearningError<TrainingErrorCode> {
  constructor(code: TrainingErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.name = 'TrainingError';
  }
}

export type MetricsErrorCode = 'empty' | 'length-mismatch' | 'invalid-label';

export class MetricsError extends LearningError<MetricsErrorCode> {
  constructor(code: MetricsErrorCode, message: string) {
    super(code, message);
    this.name = 'MetricsError';
  }
}

export type MethodErrorCode = 'unknown-method';

export class MethodError extends LearningError<MethodErrorCode> {
  constructor(code: MethodErrorCode, message: string) {
    super(code, message);
    this.name = 'MethodError';
  }
}
