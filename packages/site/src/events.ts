/** The site client's small typed event API. */
import type { ModuleState } from '@facmic/learning/plain';
import { TensorEncodingError, type ErrorCode, type EvalMetrics, type RoundUpdate, type SessionWelcome, type SitePhase, type SiteRoundMetrics } from '@facmic/protocol';

/** Failures that come from the site itself rather than from the coordinator. */
export type LocalErrorCode =
  /** The local data does not fit the federation (dimension, labels, too few samples). */
  | 'LOCAL_DATA_INVALID'
  /** Local training or evaluation failed. */
  | 'TRAINING_FAILED'
  /** The coordinator answered something that does not match the protocol. */
  | 'PROTOCOL_VIOLATION'
  /** A request failed because the connection dropped or timed out; it is retried after the reconnection. */
  | 'CONNECTION_LOST';
export type SiteErrorCode = ErrorCode | LocalErrorCode;

export class SiteError extends Error {
  override readonly name = 'SiteError';
  constructor(
    readonly code: SiteErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Refusals mid-session after which the site cannot go on. */
export const FATAL_SESSION_CODES: readonly SiteErrorCode[] = ['SESSION_REPLACED', 'TOKEN_REVOKED', 'UNKNOWN_FEDERATION'];

/**
 * How the round loop treats an error: a fatal one ends the session (encoder mismatch, unusable local data, a closed
 * session); any other is reported and the loop goes on (`problem`: also shown as the site's phase).
 */
export function classifyError(error: unknown, context: string): { fatal: SiteError } | { report: { code: SiteErrorCode; message: string }; problem: boolean } {
  if (error instanceof SiteError) {
    if (error.code === 'ENCODER_MISMATCH' || error.code === 'LOCAL_DATA_INVALID' || FATAL_SESSION_CODES.includes(error.code)) return { fatal: error };
    return { report: { code: error.code, message: `${context}: ${error.message}` }, problem: false };
  }
  const message = `${context}: ${error instanceof Error ? error.message : String(error)}`;
  // A tensor file that does not decode came from the coordinator (the site only decodes what it downloads).
  if (error instanceof TensorEncodingError) return { report: { code: 'PROTOCOL_VIOLATION', message }, problem: false };
  return { report: { code: 'TRAINING_FAILED', message }, problem: true };
}

export interface SiteStatusEvent {
  phase: SitePhase;
  /** 0..1 within the phase, null when unknown. */
  progress: number | null;
  round: number | null;
  message: string | null;
}

export interface SiteEventMap {
  /** What the site is doing now (also reported to the coordinator). */
  status: SiteStatusEvent;
  /** A session started (first connection or reconnection). */
  welcome: SessionWelcome;
  /** The transport connected or dropped; the client reconnects by itself. */
  connection: { connected: boolean; reason: string | null };
  /** The round as this site sees it. */
  round: RoundUpdate;
  /**
   * A global model was downloaded: the one a round trains from, and the final one when the federation ends.
   * `state` is the decoded module (validated against the federation's module); use it to classify with the newest
   * shared model at any time.
   */
  model: {
    round: number;
    checksum: string;
    bytes: number;
    state: ModuleState;
    /** The federation's final model (fetched when it ended), not the start of a round. */
    final: boolean;
  };
  /** A model was evaluated on the local test split (`global`: the model received, `local`: after training). */
  evaluated: { round: number; model: 'global' | 'local'; metrics: EvalMetrics };
  /** Where this site's Adam state came from when it first trained in this process (restored, or a fresh Adam), or a
   * problem storing it. */
  optimizer: { round: number; restoredFromRound: number | null; message: string };
  /** One local training step. */
  step: { round: number; step: number; totalSteps: number; loss: number };
  /** The coordinator accepted this round's weights. */
  submitted: { round: number; sampleCount: number; bytes: number; checksum: string; duplicate: boolean; metrics: SiteRoundMetrics };
  /** The coordinator refused this round's weights (late, stale, ...); the site waits for the next round. */
  refused: { round: number; code: SiteErrorCode; message: string };
  /** Secure aggregation: the site answered (or refused, with the reason) a phase of its round's session. */
  secure: { round: number; session: string; phase: 'advertise-keys' | 'share-keys' | 'masked-input' | 'unmasking'; refused: string | null; message: string | null };
  /** An error; `fatal` ones end `run()`. */
  error: { code: SiteErrorCode; message: string; fatal: boolean };
  /** The client stopped. */
  finished: SiteRunResult;
}

export type SiteEventName = keyof SiteEventMap;
export type SiteEventListener<K extends SiteEventName> = (event: SiteEventMap[K]) => void;

/**
 * Any one site event as one message, `{ name, data }`, derived from {@link SiteEventMap}: a relay (the web worker to
 * its page) posts events in this shape, and the receiver narrows on `name`. No event type is declared twice.
 */
export type SiteEventMessage = { [K in SiteEventName]: { readonly name: K; readonly data: SiteEventMap[K] } }[SiteEventName];
export type SiteEventMessageListener = (message: SiteEventMessage) => void;

export interface SiteRunResult {
  /** `finished`: all rounds done; `stopped`: an admin stopped the federation; `aborted`: stopped locally. */
  reason: 'finished' | 'stopped' | 'aborted';
  /** Rounds whose weights the coordinator accepted from this client. */
  roundsSubmitted: number[];
}

/** A minimal typed emitter (no DOM EventTarget, no Node EventEmitter: runs in workers and Node alike). */
export class SiteEvents {
  private readonly listeners = new Map<SiteEventName, Set<(event: never) => void>>();
  private readonly anyListeners = new Set<SiteEventMessageListener>();

  /** Every event, as a {@link SiteEventMessage} (for relays). */
  onAny(listener: SiteEventMessageListener): () => void {
    this.anyListeners.add(listener);
    return () => this.anyListeners.delete(listener);
  }

  on<K extends SiteEventName>(type: K, listener: SiteEventListener<K>): () => void {
    let set = this.listeners.get(type);
    if (!set) {
      set = new Set();
      this.listeners.set(type, set);
    }
    set.add(listener);
    return () => set.delete(listener);
  }

  emit<K extends SiteEventName>(type: K, event: SiteEventMap[K]): void {
    for (const listener of this.listeners.get(type) ?? []) {
      try {
        (listener as SiteEventListener<K>)(event);
      } catch {
        // A failing listener must not break the round loop.
      }
    }
    if (this.anyListeners.size === 0) return;
    const message = { name: type, data: event } as SiteEventMessage;
    for (const listener of this.anyListeners) {
      try {
        listener(message);
      } catch {
        // As above.
      }
    }
  }
}
