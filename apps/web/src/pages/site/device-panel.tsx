import { Badge } from '../../components/ui.tsx';
import { formatBytes } from '../../lib/format.ts';
import type { SiteView } from './site-state.ts';

const DEVICE_LABELS: Readonly<Record<string, string>> = { webgpu: 'WebGPU', webgl: 'WebGL', wasm: 'WASM', cpu: 'CPU' };

/** Which device runs the image model and the training in this browser, and why. */
export function DevicePanel({ view }: { view: SiteView }) {
  const device = view.device;
  const loading = view.modelLoading;
  return (
    <section className="card" aria-labelledby="device-title" data-testid="device-panel">
      <h2 id="device-title">This computer</h2>
      {!device ? (
        <p className="muted">Checking what this browser can run…</p>
      ) : (
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
        </dl>
      )}
      {loading && (
        <p className="small muted" role="status">
          Loading the image model: {loading.file} {loading.totalBytes > 0 ? `${formatBytes(loading.loadedBytes)} of ${formatBytes(loading.totalBytes)}` : formatBytes(loading.loadedBytes)}
        </p>
      )}
      {view.encoder && (
        <p className="small muted">
          Image model ready: {view.encoder.modelId} (fingerprint {view.encoder.hash.slice(0, 12)}).
        </p>
      )}
      {device && <p className="small muted">WebGPU: {device.webgpuAdapter}.</p>}
      <p className="small muted">All computing happens in a background thread of this tab, so the page stays responsive.</p>
    </section>
  );
}
