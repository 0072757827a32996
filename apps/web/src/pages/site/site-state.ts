/**
 * The hospital page's view of its worker, as a pure reducer over worker messages (so it is unit-tested without a
 * browser).
 */
import type { FederationConfig, RoundUpdate, SessionWelcome } from '@facmic/protocol';
import type { RgbaImage } from '@facmic/encoder';
import type { SiteEventMessage, SiteStatusEvent } from '@facmic/site';
import type { ClassifyResult, DatasetSummary, DeviceReport, EncoderSummary, EncodingProgress, ModelLoading, WorkerToPage } from '../../worker/worker-messages.ts';

export interface SiteView {
  readonly device: DeviceReport | null;
  readonly welcome: SessionWelcome | null;
  readonly federation: FederationConfig | null;
  readonly connected: boolean;
  /** Why the connection dropped (null while connected or before the first connection). */
  readonly connectionProblem: string | null;
  /** Whether the site was connected at least once (to tell "connecting" from "reconnecting"). */
  readonly everConnected: boolean;
  readonly round: RoundUpdate | null;
  readonly status: SiteStatusEvent | null;
  readonly modelLoading: ModelLoading | null;
  /** Announced before the model download starts: bytes to download, and bytes already kept by this browser. */
  readonly modelSize: { readonly downloadBytes: number; readonly cachedBytes: number } | null;
  readonly encoder: EncoderSummary | null;
  /** The worker waits for the user's images. */
  readonly needsDataset: boolean;
  /** Whether this browser holds a saved dataset for this session (null: not known yet). */
  readonly savedDataset: boolean | null;
  /** The user's images were handed to the worker (encoding starts once the model is loaded). */
  readonly datasetSent: boolean;
  readonly encoding: EncodingProgress | null;
  readonly encodingCancelled: boolean;
  readonly dataset: DatasetSummary | null;
  readonly datasetProblem: string | null;
  readonly training: { readonly round: number; readonly step: number; readonly totalSteps: number; readonly loss: number } | null;
  readonly errors: readonly { readonly code: string; readonly message: string; readonly at: number }[];
  readonly fatal: { readonly code: string; readonly message: string } | null;
  readonly finished: { readonly reason: string; readonly rounds: readonly number[] } | null;
  readonly refused: { readonly round: number; readonly message: string } | null;
  readonly classifications: readonly ClassifyResult[];
  /** Round of the newest shared model this page holds (what the classify panel uses), null before the first. */
  readonly globalModelRound: number | null;
  readonly classifyProblem: string | null;
  readonly classifying: boolean;
  readonly demoPreview: readonly { readonly className: string; readonly image: RgbaImage }[] | null;
}

export const INITIAL_SITE_VIEW: SiteView = {
  device: null,
  welcome: null,
  federation: null,
  connected: false,
  connectionProblem: null,
  everConnected: false,
  round: null,
  status: null,
  modelLoading: null,
  modelSize: null,
  encoder: null,
  needsDataset: false,
  savedDataset: null,
  datasetSent: false,
  encoding: null,
  encodingCancelled: false,
  dataset: null,
  datasetProblem: null,
  training: null,
  errors: [],
  fatal: null,
  finished: null,
  refused: null,
  classifications: [],
  globalModelRound: null,
  classifyProblem: null,
  classifying: false,
  demoPreview: null,
};

/** Messages from the page itself, beside the worker's. */
export type PageAction = { type: 'classify-started' } | { type: 'dataset-sent' };

const MAX_ERRORS = 5;

function withError(view: SiteView, error: { code: string; message: string; fatal: boolean }, now: number): SiteView {
  return error.fatal
    ? { ...view, fatal: { code: error.code, message: error.message } }
    : { ...view, errors: [...view.errors, { code: error.code, message: error.message, at: now }].slice(-MAX_ERRORS) };
}

/** An event of the site's round loop, relayed by the worker. */
export function reduceSiteEvent(view: SiteView, event: SiteEventMessage, now = Date.now()): SiteView {
  switch (event.name) {
    case 'welcome':
      return { ...view, welcome: event.data, federation: event.data.federation };
    case 'connection':
      return {
        ...view,
        connected: event.data.connected,
        everConnected: view.everConnected || event.data.connected,
        connectionProblem: event.data.connected ? null : (event.data.reason ?? 'connection lost'),
      };
    case 'round':
      return { ...view, round: event.data };
    case 'status':
      return { ...view, status: event.data, training: event.data.phase === 'training' ? view.training : null };
    case 'step':
      return { ...view, training: { round: event.data.round, step: event.data.step, totalSteps: event.data.totalSteps, loss: event.data.loss } };
    case 'model':
      return { ...view, globalModelRound: Math.max(event.data.round, view.globalModelRound ?? 0) };
    case 'evaluated':
    case 'submitted':
    case 'optimizer':
      return view;
    case 'refused':
      return { ...view, refused: { round: event.data.round, message: event.data.message } };
    case 'secure':
      // An honest site refuses what would unmask one hospital; the page says so in plain words.
      return event.data.refused === null ? view : { ...view, refused: { round: event.data.round, message: `this hospital refused a secure aggregation request (${event.data.refused}): ${event.data.message ?? ''}` } };
    case 'error':
      return withError(view, event.data, now);
    case 'finished':
      return { ...view, finished: { reason: event.data.reason, rounds: event.data.roundsSubmitted } };
  }
}

export function reduceSiteView(view: SiteView, message: WorkerToPage | PageAction, now = Date.now()): SiteView {
  switch (message.type) {
    case 'device':
      return { ...view, device: message.device };
    case 'site':
      return reduceSiteEvent(view, message.event, now);
    case 'model-loading':
      if (message.loading.phase === 'size') return { ...view, modelSize: { downloadBytes: message.loading.totalBytes, cachedBytes: message.loading.loadedBytes } };
      return { ...view, modelLoading: message.loading };
    case 'encoder-ready':
      return { ...view, encoder: message.encoder, modelLoading: null };
    case 'needs-dataset':
      return { ...view, needsDataset: true, federation: message.federation, encoding: null };
    case 'saved-dataset':
      return { ...view, savedDataset: message.exists };
    case 'dataset-sent':
      return { ...view, datasetSent: true, encodingCancelled: false, datasetProblem: null };
    case 'encoding':
      return { ...view, encoding: message.progress, needsDataset: false };
    case 'encoding-cancelled':
      return { ...view, encoding: null, encodingCancelled: true, datasetSent: false };
    case 'dataset-ready':
      return { ...view, dataset: message.summary, encoding: null, needsDataset: false, datasetProblem: null };
    case 'dataset-refused':
      return { ...view, encoding: null, datasetProblem: message.message, datasetSent: false };
    case 'error':
      return withError(view, message, now);
    case 'classify-started':
      return { ...view, classifying: true, classifyProblem: null };
    case 'classified':
      return { ...view, classifying: false, classifications: [message.result, ...view.classifications].slice(0, 5) };
    case 'demo-preview':
      return { ...view, demoPreview: message.images };
    case 'classify-failed':
      return { ...view, classifying: false, classifyProblem: message.message };
  }
}

export type SiteStage = 'connecting' | 'preparing' | 'choose-images' | 'encoding' | 'taking-part' | 'done' | 'failed';

/** Where the hospital stands, for the step indicator and which panels show. */
export function siteStage(view: SiteView): SiteStage {
  if (view.fatal) return 'failed';
  if (view.finished) return 'done';
  if (view.dataset) return 'taking-part';
  if (view.encoding) return 'encoding';
  if (view.needsDataset || (view.welcome && view.savedDataset === false)) return 'choose-images';
  if (view.welcome) return 'preparing';
  return 'connecting';
}

/** One plain sentence on what the site does now, for clinicians. */
export function describeActivity(view: SiteView): string {
  const status = view.status;
  const round = view.round;
  if (view.fatal) return 'Stopped because of a problem (see below).';
  if (view.finished) {
    return view.finished.reason === 'finished'
      ? 'The federation is complete. The final model is ready to try below.'
      : view.finished.reason === 'stopped'
        ? 'The coordinator stopped the federation.'
        : 'You left the federation in this tab.';
  }
  if (!view.connected && view.everConnected) return 'Connection lost. Reconnecting by itself; your work is kept.';
  if (!view.connected) return 'Connecting to the coordinator…';
  if (!status) return 'Connected.';
  const r = status.round ?? round?.round ?? 0;
  switch (status.phase) {
    case 'connecting':
      return 'Connecting to the coordinator…';
    case 'loading':
      return 'Loading the image model in this browser…';
    case 'encoding':
      return view.needsDataset ? 'Waiting for you to choose the images.' : 'Turning your images into features…';
    case 'ready':
    case 'waiting':
      if (round?.status === 'waiting') return `Ready. Waiting for enough hospitals to join (${round.readySites} of ${round.quorum} needed).`;
      if (round?.status === 'training' && !round.participating) return `Round ${round.round} started before you were ready; you join from the next round.`;
      if (round?.status === 'aggregating') return 'The coordinator is combining the hospitals’ updates…';
      return 'Ready. Waiting for the next round.';
    case 'downloading':
      return `Round ${r}: downloading the shared model…`;
    case 'evaluating':
      return `Round ${r}: testing the model on your test images…`;
    case 'training':
      return `Round ${r}: training on your images…`;
    case 'submitting':
      return `Round ${r}: sending the updated weights…`;
    case 'submitted':
      if (round?.status !== 'training') return `Round ${r}: your update is in.`;
      if (round.submissions >= round.participants && (view.federation?.minRoundSeconds ?? 0) > 0) {
        return `Round ${r}: every update is in. The round closes once it has run ${view.federation?.minRoundSeconds ?? 0} s, this federation’s pace.`;
      }
      return `Round ${r}: your update is in. Waiting for the other hospitals (${round.submissions} of ${round.participants} sent).`;
    case 'paused':
      return 'The coordinator paused the federation. It continues by itself when resumed.';
    case 'finished':
      return 'The federation is complete.';
    case 'stopped':
      return 'The coordinator stopped the federation.';
    case 'error':
      return status.message ?? 'A problem occurred; the page retries by itself.';
  }
}
