/**
 * Messages between the hospital page and its ML worker (inside one browser tab; nothing here goes over the network:
 * the wire messages to the coordinator are `@facmic/protocol`'s and are sent by `@facmic/site` inside the worker).
 */
import type { FederationConfig } from '@facmic/protocol';
import type { RgbaImage } from '@facmic/encoder';
import type { SiteEventMessage } from '@facmic/site';
import type { SplitPart } from '@facmic/learning/plain';
import type { ModelFile } from '../lib/model-file.ts';

export type DeviceRequest = 'auto' | 'webgpu' | 'wasm';

export interface SiteInvite {
  readonly coordinatorUrl: string;
  readonly federationId: string;
  readonly token: string;
}

/** One image chosen by the user, labelled and assigned to a split part by the page. */
export interface DatasetImage {
  readonly name: string;
  readonly file: Blob;
  readonly label: number;
  readonly part: SplitPart;
}

/** A generated demo dataset: the worker draws the images itself (class-specific, with this site's appearance). */
export interface DemoDatasetRequest {
  readonly siteIndex: number;
  readonly imagesPerClass: number;
  readonly seed: string;
}

export type PageToWorker =
  | { type: 'start'; invite: SiteInvite; device: DeviceRequest; clientName: string; seed: number }
  | { type: 'dataset'; images: readonly DatasetImage[]; seed: string }
  | { type: 'demo-dataset'; demo: DemoDatasetRequest }
  | { type: 'cancel-encoding' }
  /** Classifies one image with the newest shared model, or with a model file the user loaded (`modelFile`). */
  | { type: 'classify'; requestId: number; image: Blob; name: string; modelFile: ModelFile | null }
  | { type: 'demo-preview'; classNames: readonly string[]; siteIndex: number }
  | { type: 'stop' };

export interface DeviceReport {
  readonly encoder: { readonly device: string; readonly reason: string; readonly forced: boolean };
  readonly tfjs: { readonly backend: string; readonly reason: string; readonly notes: readonly string[] };
  readonly webgpuAdapter: string;
  readonly threads: boolean;
}

export interface EncodingProgress {
  readonly done: number;
  readonly total: number;
  readonly cached: number;
  readonly encoded: number;
  readonly failed: number;
  readonly imagesPerSecond: number;
  /** Seconds, or null while unknown. */
  readonly secondsLeft: number | null;
  /** Seconds since encoding started. */
  readonly elapsedSeconds: number;
}

export interface DatasetSummary {
  /** Where the features came from this time: encoded now (some maybe from the feature cache) or the saved dataset. */
  readonly source: 'encoded' | 'saved';
  readonly counts: { readonly train: number; readonly validation: number; readonly test: number };
  readonly countsPerClass: readonly number[];
  /** Images run through the CLIP encoder in this page's life (0 after a reload that resumed). */
  readonly encodedThisSession: number;
  /** Images whose features came from the browser's feature cache or the saved dataset. */
  readonly fromCache: number;
  /** Wall time of this page's encoding of the images (null when the saved dataset was used). */
  readonly encodeSeconds: number | null;
  readonly failures: readonly { readonly name: string; readonly message: string }[];
  readonly savedAt: number;
}

export interface ModelLoading {
  readonly file: string;
  readonly loadedBytes: number;
  readonly totalBytes: number;
  readonly phase: string;
}

export interface EncoderSummary {
  readonly modelId: string;
  readonly source: string;
  readonly hash: string;
  readonly device: string;
}

/** The model a classification used: a shared model the page received, or a model file the user loaded. */
export type ClassifyModel =
  /** `round`: the round it was published after (0: the initial model); `final`: the model the federation ended with. */
  | { readonly kind: 'shared'; readonly round: number; readonly final: boolean }
  | { readonly kind: 'file'; readonly file: string };

export interface ClassifyResult {
  readonly requestId: number;
  readonly name: string;
  /** Probability of each class, in the federation's class order (softmax(100 cos)); sums to 1. */
  readonly probabilities: readonly number[];
  readonly model: ClassifyModel;
}

/**
 * What the worker tells its page. `site` relays every event of `@facmic/site`'s round loop as it is (one generic
 * message built from the site's event map, so a site event is declared once); the others are the worker's own.
 */
export type WorkerToPage =
  | { type: 'device'; device: DeviceReport }
  | { type: 'site'; event: SiteEventMessage }
  | { type: 'model-loading'; loading: ModelLoading }
  | { type: 'encoder-ready'; encoder: EncoderSummary }
  | { type: 'saved-dataset'; exists: boolean }
  | { type: 'needs-dataset'; federation: FederationConfig }
  | { type: 'encoding'; progress: EncodingProgress }
  | { type: 'encoding-cancelled' }
  | { type: 'dataset-ready'; summary: DatasetSummary }
  | { type: 'dataset-refused'; message: string }
  /** A failure of the worker itself (encoder load, storage, start-up); the round loop's errors come as `site` events. */
  | { type: 'error'; code: string; message: string; fatal: boolean }
  | { type: 'classified'; result: ClassifyResult }
  | { type: 'demo-preview'; siteIndex: number; images: readonly { readonly className: string; readonly image: RgbaImage }[] }
  | { type: 'classify-failed'; requestId: number; message: string };
