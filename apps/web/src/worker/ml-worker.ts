/// <reference lib="webworker" />
/**
 * The hospital's ML worker: everything heavy runs here so the page never freezes. It chooses the devices (through
 * `@facmic/encoder`'s device policy) and registers the tfjs backend, loads the frozen CLIP encoder, encodes the
 * hospital's images (or a generated demo set), and runs `@facmic/site`'s round loop. Images are read here and
 * turned into features; only the attention module's weights leave, through the site client.
 */
import {
  chooseEncoderDevice,
  chooseTfjsBackend,
  createEncoder,
  detectCapabilities,
  type Encoder,
  type EncodeProgress,
  type NamedImage,
} from '@facmic/encoder';
import { FeatureAttention, predict } from '@facmic/learning';
import type { ModuleState } from '@facmic/learning/plain';
import { coordinatorInfoSchema, type CoordinatorInfo, type FederationConfig } from '@facmic/protocol';
import { createSiteClient, type SiteClient, type SiteData } from '@facmic/site';
import { SPLIT_PARTS, datasetKeyFor, featuresOfPart, indexedDbOptimizerStore, loadSavedDataset, saveDataset, type SavedDataset } from './saved-dataset.ts';
import { startTfjsBackend } from './tfjs-backend.ts';
import { demoPreview, generateDemoImages } from './demo-images.ts';
import type { ModelFile } from '../lib/model-file.ts';
import type { ClassifyModel, DatasetImage, DatasetSummary, DemoDatasetRequest, DeviceRequest, PageToWorker, SiteInvite, WorkerToPage } from './worker-messages.ts';

declare const self: DedicatedWorkerGlobalScope;

function post(message: WorkerToPage): void {
  self.postMessage(message);
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

type DatasetRequest = { kind: 'images'; images: readonly DatasetImage[] } | { kind: 'demo'; demo: DemoDatasetRequest };

interface WorkerState {
  invite: SiteInvite;
  device: DeviceRequest;
  info: CoordinatorInfo | null;
  encoder: Encoder | null;
  encoderLoading: Promise<Encoder> | null;
  site: SiteClient | null;
  datasetKey: string;
  /** Resolves the round loop's `loadData` wait with the user's chosen dataset. */
  datasetWaiters: ((request: DatasetRequest) => void)[];
  pendingDataset: DatasetRequest | null;
  encodingAbort: AbortController | null;
  encodedThisSession: number;
  textFeatures: { federationHash: string; features: Float32Array } | null;
  clientName: string;
  /** The newest global model the round loop downloaded (the final one once the federation has ended). */
  globalModel: { round: number; state: ModuleState; final: boolean } | null;
}

let state: WorkerState | null = null;

self.addEventListener('message', (event: MessageEvent<PageToWorker>) => {
  const message = event.data;
  switch (message.type) {
    case 'start':
      void start(message.invite, message.device, message.clientName, message.seed);
      return;
    case 'dataset':
      offerDataset({ kind: 'images', images: message.images });
      return;
    case 'demo-dataset':
      offerDataset({ kind: 'demo', demo: message.demo });
      return;
    case 'cancel-encoding':
      state?.encodingAbort?.abort(new Error('cancelled by the user'));
      return;
    case 'classify':
      void classify(message.requestId, message.image, message.name, message.modelFile);
      return;
    case 'stop':
      state?.site?.stop();
      return;
    case 'demo-preview':
      post({ type: 'demo-preview', siteIndex: message.siteIndex, images: demoPreview(message.classNames, message.siteIndex) });
      return;
  }
});

function offerDataset(request: DatasetRequest): void {
  if (!state) return;
  const waiter = state.datasetWaiters.shift();
  if (waiter) waiter(request);
  else state.pendingDataset = request;
}

function nextDataset(signal: AbortSignal): Promise<DatasetRequest> {
  const current = state;
  if (!current) return Promise.reject(new Error('worker not started'));
  if (current.pendingDataset) {
    const request = current.pendingDataset;
    current.pendingDataset = null;
    return Promise.resolve(request);
  }
  return new Promise((resolve, reject) => {
    current.datasetWaiters.push(resolve);
    signal.addEventListener('abort', () => {
      reject(signal.reason instanceof Error ? signal.reason : new Error('stopped'));
    }, { once: true });
  });
}

async function fetchInfo(coordinatorUrl: string): Promise<CoordinatorInfo> {
  const response = await fetch(`${coordinatorUrl}/api/info`);
  if (!response.ok) throw new Error(`the coordinator answered ${response.status} to /api/info`);
  return coordinatorInfoSchema.parse(await response.json());
}

async function start(invite: SiteInvite, device: DeviceRequest, clientName: string, seed: number): Promise<void> {
  if (state) return;
  state = {
    invite,
    device,
    info: null,
    encoder: null,
    encoderLoading: null,
    site: null,
    datasetKey: await datasetKeyFor(invite),
    datasetWaiters: [],
    pendingDataset: null,
    encodingAbort: null,
    encodedThisSession: 0,
    textFeatures: null,
    clientName,
    globalModel: null,
  };
  const current = state;
  const saved = await loadSavedDataset(current.datasetKey).catch(() => null);
  post({ type: 'saved-dataset', exists: saved !== null });
  try {
    // Devices first: the encoder device must be decided before the first model load.
    const caps = await detectCapabilities();
    const encoderDevice = chooseEncoderDevice(caps, device);
    const tfjsChoice = chooseTfjsBackend(caps, device === 'auto' ? 'auto' : device);
    const tfjs = await startTfjsBackend(tfjsChoice.choice);
    post({
      type: 'device',
      device: {
        encoder: { device: encoderDevice.choice, reason: encoderDevice.reason, forced: encoderDevice.forced },
        tfjs: { backend: tfjs.backend, reason: tfjs.backend === tfjsChoice.choice ? tfjsChoice.reason : `${tfjs.backend}: ${tfjs.notes.join('; ')}`, notes: tfjs.notes },
        webgpuAdapter: caps.webgpu.adapter === 'none' ? caps.webgpu.description : `${caps.webgpu.adapter} adapter (${caps.webgpu.description})`,
        threads: caps.wasm.threads,
      },
    });
    current.info = await fetchInfo(invite.coordinatorUrl);
    const info = current.info;

    const site = createSiteClient({
      coordinatorUrl: invite.coordinatorUrl,
      federationId: invite.federationId,
      token: invite.token,
      clientName,
      seed,
      optimizerStore: indexedDbOptimizerStore(current.datasetKey),
      encoder: async (federation) => {
        try {
          const encoder = await loadEncoder(current, info, federation, encoderDevice.choice);
          return { modelId: encoder.info.modelId, hash: encoder.info.modelHash };
        } catch (error) {
          // After a failed model load, ONNX Runtime cannot load again in this page: only a reload helps.
          post({ type: 'error', code: 'ENCODER_LOAD_FAILED', message: `${federation.encoder.modelId} on ${encoderDevice.choice}: ${errorMessage(error)}`, fatal: true });
          current.site?.stop();
          throw error;
        }
      },
      loadData: (context) => loadData(current, context.federation, context.signal, context.progress),
    });
    current.site = site;
    site.onAny((event) => {
      post({ type: 'site', event });
    });
    site.on('model', (m) => {
      if (current.globalModel === null || m.round >= current.globalModel.round) current.globalModel = { round: m.round, state: m.state, final: m.final };
    });
    await site.run().catch(() => {
      // Fatal errors were already posted through the 'error' event.
    });
  } catch (error) {
    post({ type: 'error', code: 'STARTUP_FAILED', message: errorMessage(error), fatal: true });
  }
}

function loadEncoder(current: WorkerState, info: CoordinatorInfo, federation: FederationConfig, device: 'webgpu' | 'wasm' | 'cpu'): Promise<Encoder> {
  current.encoderLoading ??= (async () => {
    const base = current.invite.coordinatorUrl;
    const encoder = await createEncoder({
      model: { kind: 'mirror', baseUrl: `${base}${info.paths.models}`, id: federation.encoder.modelId },
      device,
      // A hospital encodes images only: the text tower (prompts) is the coordinator's, never downloaded here.
      towers: ['vision'],
      dtype: federation.encoder.dtype ?? 'fp32',
      wasmPaths: `${base}${info.paths.ort}`,
      onLoadProgress: (p) => {
        post({ type: 'model-loading', loading: { file: p.file, loadedBytes: p.loadedBytes, totalBytes: p.totalBytes, phase: p.phase } });
      },
    });
    current.encoder = encoder;
    post({ type: 'encoder-ready', encoder: { modelId: encoder.info.modelId, source: encoder.info.source, hash: encoder.info.modelHash, device: encoder.info.device } });
    return encoder;
  })().catch((error: unknown) => {
    current.encoderLoading = null;
    throw error;
  });
  return current.encoderLoading;
}

/** The site's data: the saved dataset when this browser has one for this session, else what the user chooses. */
async function loadData(current: WorkerState, federation: FederationConfig, signal: AbortSignal, progress: (fraction: number | null, message?: string) => void): Promise<SiteData> {
  const saved = await loadSavedDataset(current.datasetKey).catch(() => null);
  if (saved && saved.modelHash === federation.encoder.hash && saved.dim === federation.encoder.featureDim && sameClasses(saved.classNames, federation.classNames)) {
    post({ type: 'dataset-ready', summary: summarize(saved, 'saved', current.encodedThisSession, saved.names.length, federation, null) });
    return toSiteData(saved);
  }
  for (;;) {
    post({ type: 'needs-dataset', federation });
    const request = await nextDataset(signal);
    const abort = new AbortController();
    current.encodingAbort = abort;
    try {
      const { dataset, cached, seconds } = await encodeDataset(current, federation, request, AbortSignal.any([signal, abort.signal]), progress);
      if (countPart(dataset, 'train') === 0) {
        post({ type: 'dataset-refused', message: 'None of the chosen images could be used for training. Check the list of unreadable files and choose a folder with readable images.' });
        continue;
      }
      await saveDataset(dataset).catch((error: unknown) => {
        post({ type: 'error', code: 'STORAGE', message: `The features could not be saved in this browser (${errorMessage(error)}); a reload will encode again.`, fatal: false });
      });
      post({ type: 'dataset-ready', summary: summarize(dataset, 'encoded', current.encodedThisSession, cached, federation, seconds) });
      return toSiteData(dataset);
    } catch (error) {
      if (signal.aborted) throw error;
      if (abort.signal.aborted) {
        post({ type: 'encoding-cancelled' });
        continue;
      }
      post({ type: 'dataset-refused', message: `Encoding failed: ${errorMessage(error)}` });
    } finally {
      current.encodingAbort = null;
    }
  }
}

function sameClasses(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((name, i) => name === b[i]);
}

function countPart(dataset: SavedDataset, part: (typeof SPLIT_PARTS)[number]): number {
  const code = SPLIT_PARTS.indexOf(part);
  return dataset.parts.reduce((n, p) => n + (p === code ? 1 : 0), 0);
}

function summarize(dataset: SavedDataset, source: DatasetSummary['source'], encoded: number, fromCache: number, federation: FederationConfig, seconds: number | null): DatasetSummary {
  const countsPerClass = federation.classNames.map(() => 0);
  for (const label of dataset.labels) countsPerClass[label] = (countsPerClass[label] ?? 0) + 1;
  return {
    source,
    counts: { train: countPart(dataset, 'train'), validation: countPart(dataset, 'validation'), test: countPart(dataset, 'test') },
    countsPerClass,
    encodedThisSession: encoded,
    fromCache,
    encodeSeconds: seconds,
    failures: dataset.failures,
    savedAt: dataset.savedAt,
  };
}

function toSiteData(dataset: SavedDataset): SiteData {
  const test = featuresOfPart(dataset, 'test');
  return { train: featuresOfPart(dataset, 'train'), test: test.labels.length > 0 ? test : null };
}

async function encodeDataset(
  current: WorkerState,
  federation: FederationConfig,
  request: DatasetRequest,
  signal: AbortSignal,
  progress: (fraction: number | null, message?: string) => void,
): Promise<{ dataset: SavedDataset; cached: number; seconds: number }> {
  const started = performance.now();
  const encoder = current.encoder;
  if (!encoder) throw new Error('the encoder is not loaded');
  const images: { name: string; source: Blob | NamedImage['source']; label: number; part: number }[] =
    request.kind === 'images'
      ? request.images.map((image) => ({ name: image.name, source: image.file, label: image.label, part: SPLIT_PARTS.indexOf(image.part) }))
      : generateDemoImages(federation.classNames, request.demo).map((image) => ({ name: image.name, source: image.pixels, label: image.label, part: SPLIT_PARTS.indexOf(image.part) }));
  const before = encoder.cacheCounters();
  const onProgress = (p: EncodeProgress): void => {
    post({
      type: 'encoding',
      progress: {
        done: p.done,
        total: p.total,
        cached: p.cached,
        encoded: p.encoded,
        failed: p.failed,
        imagesPerSecond: p.imagesPerSecond,
        secondsLeft: Number.isFinite(p.etaMs) ? p.etaMs / 1000 : null,
        elapsedSeconds: p.elapsedMs / 1000,
      },
    });
    progress(p.total > 0 ? p.done / p.total : null, `${p.done} of ${p.total} images`);
  };
  const result = await encoder.encodeImages(
    images.map((image) => ({ name: image.name, source: image.source })),
    { onProgress, signal },
  );
  const after = encoder.cacheCounters();
  current.encodedThisSession += after.encoded - before.encoded;
  const rows = result.indices.length;
  const labels = new Int32Array(rows);
  const parts = new Uint8Array(rows);
  const names: string[] = [];
  result.indices.forEach((index, row) => {
    const image = images[index];
    labels[row] = image?.label ?? 0;
    parts[row] = image?.part ?? 0;
    names.push(image?.name ?? `#${index}`);
  });
  const dataset: SavedDataset = {
    key: current.datasetKey,
    modelHash: encoder.info.modelHash,
    dim: result.dim,
    classNames: [...federation.classNames],
    features: result.features,
    labels,
    parts,
    names,
    failures: result.errors.map((e) => ({ name: e.name, message: e.message })),
    savedAt: Date.now(),
  };
  return { dataset, cached: result.cached, seconds: (performance.now() - started) / 1000 };
}

async function classify(requestId: number, image: Blob, name: string, modelFile: ModelFile | null): Promise<void> {
  try {
    const current = state;
    const federation = current?.site?.federation;
    const encoder = current?.encoder;
    if (!current || !federation || !encoder) throw new Error('the model is not loaded yet; wait until the page says it is ready');
    const encoded = await encoder.encodeImages([{ name, source: image }]);
    const failure = encoded.errors[0];
    if (failure) throw new Error(`this file could not be read as an image (${failure.message})`);
    if (current.textFeatures?.federationHash !== federation.features.checksum) {
      // The prompts' features as the coordinator encoded them (features:get): this page loads no text tower.
      const text = current.site?.textFeatures ?? null;
      if (!text) throw new Error('the class descriptions have not arrived from the coordinator yet; try again in a moment');
      current.textFeatures = { federationHash: federation.features.checksum, features: text };
    }
    // A model file the user loaded (checked against this federation's module by the page), else the newest shared model.
    const global = current.globalModel;
    const chosen: { state: ModuleState; model: ClassifyModel } | null = modelFile
      ? { state: modelFile.state, model: { kind: 'file', file: modelFile.name } }
      : global && { state: global.state, model: { kind: 'shared', round: global.round, final: global.final } };
    if (!chosen) throw new Error('no shared model yet: it arrives when this hospital takes part in its first round (or load a model file)');
    const module = FeatureAttention.fromState(federation.module.kind, federation.module.featureDim, chosen.state);
    try {
      const result = await predict(module, { dim: encoded.dim, features: encoded.features }, { dim: encoded.dim, features: current.textFeatures.features });
      post({ type: 'classified', result: { requestId, name, probabilities: Array.from(result.probabilities), model: chosen.model } });
    } finally {
      module.dispose();
    }
  } catch (error) {
    post({ type: 'classify-failed', requestId, message: errorMessage(error) });
  }
}
