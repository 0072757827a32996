import { Badge } from '../../components/ui.tsx';
import { TechnicalDetails } from '../../components/technical-details.tsx';
import { formatBytes } from '../../lib/format.ts';
import type { DeviceReport } from '../../worker/worker-messages.ts';
import type { SiteView } from './site-state.ts';

const DEVICE_LABELS: Readonly<Record<string, string>> = { webgpu: 'WebGPU', webgl: 'WebGL', wasm: 'WASM', cpu: 'CPU' };

/** The kind of WebGPU adapter the device report names: a real graphics card, a software stand-in, or none. */
function graphicsCard(report: DeviceReport): 'hardware' | 'software' | 'none' {
  if (report.webgpuAdapter.startsWith('hardware')) return 'hardware';
  if (report.webgpuAdapter.startsWith('fallback')) return 'software';
  return 'none';
}

/** Where the image model runs, for a clinician: one sentence, no device names. */
export function deviceSentence(report: DeviceReport): string {
  const onGraphics = report.encoder.device === 'webgpu';
  if (onGraphics && graphicsCard(report) === 'software') {
    return 'The address asks for the graphics card (device=webgpu), but this computer only has a software stand-in for one: the model runs, much slower than on the processor.';
  }
  if (onGraphics) return 'This computer’s graphics card runs the model (fast).';
  if (report.encoder.forced) return 'The model runs on the processor, as the address asks (device=wasm).';
  return 'This computer has no usable graphics card; the model runs on the processor (slower).';
}

/** Which device runs the image model and the training in this browser: a sentence, and the technical why behind it. */
export function DevicePanel({ view }: { view: SiteView }) {
  const device = view.device;
  const loading = view.modelLoading;
  return (
    <section className="card" aria-labelledby="device-title" data-testid="device-panel">
      <h2 id="device-title">This computer</h2>
      {!device ? (
        <p className="muted">Checking what this browser can run…</p>
      ) : (
        <p data-testid="device-sentence">{deviceSentence(device)}</p>
      )}
      {view.modelSize && !view.encoder && (
        <p className="small" data-testid="model-size">
          {view.modelSize.downloadBytes > 0
            ? `The image model is a ${formatBytes(view.modelSize.downloadBytes)} download${view.modelSize.cachedBytes > 0 ? ` (${formatBytes(view.modelSize.cachedBytes)} already in this browser)` : ''}, once: this browser keeps it for other tabs and federations, and an interrupted download continues where it stopped.`
            : `The image model (${formatBytes(view.modelSize.cachedBytes)}) is already in this browser: nothing to download.`}
        </p>
      )}
      {loading && (
        <p className="small muted" role="status">
          Loading the image model: {loading.file} {loading.totalBytes > 0 ? `${formatBytes(loading.loadedBytes)} of ${formatBytes(loading.totalBytes)}` : formatBytes(loading.loadedBytes)}
        </p>
      )}
      {view.encoder && <p className="small muted">The image model is ready.</p>}
      <p className="small muted">All computing happens in a background thread of this tab, so the page stays responsive.</p>
      {device && (
        <TechnicalDetails testId="device-details">
          <dl className="facts">
            <dt>Image model runs on</dt>
            <dd data-testid="encoder-device">
              {DEVICE_LABELS[device.encoder.device] ?? device.encoder.device} {device.encoder.forced && <Badge tone="info">chosen by link</Badge>}
              <span className="field-help">{device.encoder.reason}</span>
            </dd>
            <dt>Training runs on</dt>
            <dd data-testid="tfjs-backend">
              {DEVICE_LABELS[device.tfjs.backend] ?? device.tfjs.backend}
              <span className="field-help">{device.tfjs.reason}</span>
            </dd>
            <dt>WebGPU</dt>
            <dd>{device.webgpuAdapter}</dd>
            {view.encoder && (
              <>
                <dt>Image model</dt>
                <dd>
                  {view.encoder.modelId}, fingerprint <span className="mono">{view.encoder.hash.slice(0, 12)}</span>
                </dd>
              </>
            )}
          </dl>
        </TechnicalDetails>
      )}
    </section>
  );
}
