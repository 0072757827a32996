/** How a site client is set up: where it connects, its encoder, how it loads its data. */
import type { FederationConfig, TensorDtype } from '@facmic/protocol';
import type { ConnectionOptions } from './connection.ts';
import type { OptimizerStore } from './optimizer-state.ts';
import type { SiteData } from './site-data.ts';

/** The local encoder's identity, compared with the federation's before taking part. */
export interface LocalEncoderIdentity {
  modelId: string;
  hash: string;
}

export interface LoadDataContext {
  federation: FederationConfig;
  signal: AbortSignal;
  /** Reports encoding progress (0..1) to the UI and the coordinator. */
  progress: (fraction: number | null, message?: string) => void;
}

export interface SiteClientOptions {
  /** Coordinator base URL, e.g. `http://10.0.0.5:3000` (the invite link's origin). */
  coordinatorUrl: string;
  federationId: string;
  token: string;
  /**
   * The local encoder's identity, or a function that loads the encoder once the federation is known (its
   * `federation.encoder.modelId` says which model to load).
   */
  encoder: LocalEncoderIdentity | ((federation: FederationConfig, signal: AbortSignal) => Promise<LocalEncoderIdentity>);
  /** Encodes the local images (called once, after the encoder check). */
  loadData: (context: LoadDataContext) => Promise<SiteData>;
  /** Shown to admins, e.g. `facmic-web/0.1`. */
  clientName?: string;
  /** Value type of submitted weights (default: the federation's `updateEncoding`; float16 halves the upload, int8 quarters it). */
  weightsDtype?: TensorDtype;
  /** Keeps Adam's state across reloads and restarts (see optimizer-state.ts); without it, only within this process. */
  optimizerStore?: OptimizerStore;
  /** Seed of local shuffling (default 0); the round number is added each round. */
  seed?: number;
  signal?: AbortSignal;
  connection?: ConnectionOptions;
  /** Least time between two progress reports to the coordinator (default 500 ms; phase changes go at once). */
  statusIntervalMs?: number;
  /**
   * Measurements only (`npm run simulate`): called with the delta (after DP clipping and noise) and the weight this
   * site encodes for a secure aggregation session. Never sent anywhere.
   */
  onSecureInput?: (round: number, delta: Float64Array, weight: number) => void;
}
