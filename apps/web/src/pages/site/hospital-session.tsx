import { useEffect, useState } from 'react';
import { coordinatorInfoSchema, type CoordinatorInfo } from '@facmic/protocol';
import { Badge, Notice } from '../../components/ui.tsx';
import type { SiteSession } from '../../lib/site-session.ts';
import { ClassifyPanel } from './classify-panel.tsx';
import { DemoPreview } from './demo-preview.tsx';
import { DevicePanel } from './device-panel.tsx';
import { EncodingPanel } from './encoding-panel.tsx';
import { FederationOverview } from './federation-overview.tsx';
import { ImageChooser } from './image-chooser.tsx';
import { RoundsPanel } from './rounds-panel.tsx';
import { describeActivity, siteStage, type SiteStage } from './site-state.ts';
import { useSiteWorker } from './use-site-worker.ts';

const STEPS: readonly { stage: SiteStage[]; label: string }[] = [
  { stage: ['connecting', 'preparing'], label: 'Connect' },
  { stage: ['choose-images'], label: 'Choose images' },
  { stage: ['encoding'], label: 'Prepare images' },
  { stage: ['taking-part'], label: 'Take part in rounds' },
  { stage: ['done'], label: 'Done' },
];

function useCoordinatorInfo(coordinatorUrl: string): CoordinatorInfo | null {
  const [info, setInfo] = useState<CoordinatorInfo | null>(null);
  useEffect(() => {
    const abort = new AbortController();
    fetch(`${coordinatorUrl}/api/info`, { signal: abort.signal })
      .then(async (r) => (r.ok ? coordinatorInfoSchema.parse(await r.json()) : null))
      .then(setInfo, () => {
        // The round loop reports connection problems itself.
      });
    return () => {
      abort.abort();
    };
  }, [coordinatorUrl]);
  return info;
}

export function HospitalSession({ initial, onLeave }: { initial: SiteSession; onLeave: () => void }) {
  const site = useSiteWorker(initial);
  const { view, session } = site;
  const info = useCoordinatorInfo(initial.coordinatorUrl);
  const stage = siteStage(view);
  const stepIndex = STEPS.findIndex((s) => s.stage.includes(stage));
  const federation = view.federation;
  const title = federation ? `${view.welcome?.site.name ?? session.siteName ?? 'Hospital'} · ${federation.name}` : (session.federationName ?? 'Joining a federation');

  useEffect(() => {
    document.title = `${title} — facmic`;
  }, [title]);
  // Before joining, the federation's details come first; once taking part, the rounds do.
  const joined = view.dataset !== null;
  const overview = (
    <div className="grid grid-2">
      <FederationOverview federation={federation} info={info} />
      <DevicePanel view={view} />
    </div>
  );

  return (
    <div className="stack">
      <div className="card-header">
        <h1>{title}</h1>
        <ConnectionBadge connected={view.connected} everConnected={view.everConnected} ended={view.finished?.reason ?? (view.fatal ? 'failed' : null)} />
      </div>
      {stage !== 'failed' && (
        <ol className="steps" aria-label="Progress">
          {STEPS.map((step, index) => (
            <li key={step.label} aria-current={index === stepIndex ? 'step' : undefined} className={index < stepIndex ? 'done' : undefined}>
              {step.label}
            </li>
          ))}
        </ol>
      )}
      <p className="status-line" role="status" aria-live="polite" data-testid="site-activity">
        {describeActivity(view)}
      </p>
      {view.fatal && <FatalNotice code={view.fatal.code} message={view.fatal.message} onLeave={onLeave} />}
      {!view.connected && view.everConnected && !view.fatal && !view.finished && (
        <Notice tone="warn" title="Connection lost">
          <p>
            The page keeps trying to reach the coordinator{view.connectionProblem !== null ? ` (${view.connectionProblem})` : ''}. You can keep this tab open;
            nothing is lost, and an update that was not sent is sent again once the connection is back.
          </p>
        </Notice>
      )}
      {view.errors.length > 0 && !view.fatal && (
        <Notice tone="warn" title="Recent problems (the page retries by itself)">
          <ul>
            {view.errors.map((e) => (
              <li key={`${e.at}-${e.code}`}>{e.message}</li>
            ))}
          </ul>
        </Notice>
      )}
      {!joined && overview}
      {stage === 'choose-images' && federation && !view.datasetSent && (
        <ImageChooser
          federation={federation}
          demoSite={session.demoSite}
          seed={session.seed}
          problem={view.datasetProblem}
          cancelled={view.encodingCancelled}
          waiting={!view.needsDataset}
          onImages={site.sendDataset}
          onDemo={site.sendDemoDataset}
          demoPreview={view.demoPreview}
          onDemoPreview={site.requestDemoPreview}
        />
      )}
      {view.datasetSent && !view.encoding && !view.dataset && (
        <p className="card muted" role="status">
          Your images are chosen. Preparation starts as soon as the image model has loaded…
        </p>
      )}
      {view.encoding && <EncodingPanel progress={view.encoding} onCancel={site.cancelEncoding} />}
      {view.dataset && federation && <RoundsPanel view={view} session={session} federation={federation} />}
      {view.dataset && federation && <ClassifyPanel view={view} federation={federation} onClassify={site.classify} />}
      {session.demoSite !== null && federation && stage !== 'choose-images' && (
        <section className="card" aria-labelledby="demo-images-title">
          <h2 id="demo-images-title">This demo hospital’s images</h2>
          <p className="small muted">Generated in this tab: one pattern per class, drawn with this hospital’s own brightness, contrast, tint and noise. Compare with the other demo tabs.</p>
          <DemoPreview classNames={federation.classNames} siteIndex={session.demoSite} images={view.demoPreview} onRequest={site.requestDemoPreview} />
        </section>
      )}
      {joined && overview}
      <details className="card">
        <summary>Leave this federation</summary>
        <p className="small muted">
          Forgets this hospital’s saved features and results in this browser and disconnects. The invite stays valid: opening it again starts over.
        </p>
        <button
          type="button"
          className="danger"
          onClick={() => {
            void site.leave().then(onLeave);
          }}
        >
          Leave and forget
        </button>
      </details>
    </div>
  );
}

function ConnectionBadge({ connected, everConnected, ended }: { connected: boolean; everConnected: boolean; ended: string | null }) {
  if (ended === 'finished') return <Badge tone="ok">Complete</Badge>;
  if (ended === 'stopped') return <Badge tone="danger">Stopped</Badge>;
  if (ended !== null) return <Badge>Disconnected</Badge>;
  if (connected) return <Badge tone="ok">Connected</Badge>;
  if (everConnected) return <Badge tone="warn">Reconnecting…</Badge>;
  return <Badge>Connecting…</Badge>;
}

const FATAL_ADVICE: Readonly<Record<string, string>> = {
  BAD_TOKEN: 'The invite is not valid for this federation. Ask the coordinator’s admin for a new invite link.',
  TOKEN_REVOKED: 'The admin revoked this hospital’s invite. Ask for a new one if this is a mistake.',
  UNKNOWN_FEDERATION: 'This federation no longer exists on the coordinator. Ask the admin for a current invite.',
  SESSION_REPLACED: 'This hospital was opened in another tab or browser, which took over. Close this tab, or reload it to take over again.',
  CLIENT_TOO_OLD: 'This page is older than the coordinator. Reload the page.',
  SERVER_TOO_OLD: 'The coordinator is older than this page. Ask its admin to update it.',
  ENCODER_MISMATCH: 'This browser loaded a different image model than the federation uses, so its results would not be comparable. Reload the page; if it persists, tell the admin.',
  WORKER_FAILED: 'Reload the page. If it fails again, try an up-to-date Chrome, Edge or Firefox.',
  ENCODER_LOAD_FAILED:
    'The image model could not start in this browser. Reload the page. If the address asks for a device (device=webgpu), remove that part to let the page choose.',
  STARTUP_FAILED: 'Check that the coordinator address is right and reachable, then reload the page.',
};

function FatalNotice({ code, message, onLeave }: { code: string; message: string; onLeave: () => void }) {
  return (
    <Notice tone="error" title="This hospital cannot take part right now">
      <p>{FATAL_ADVICE[code] ?? 'Reload the page to try again. If it keeps failing, send the message below to the coordinator’s admin.'}</p>
      <p className="small mono">
        {code}: {message}
      </p>
      <div className="row">
        <button type="button" onClick={() => { window.location.reload(); }}>
          Reload
        </button>
        <button type="button" className="secondary" onClick={onLeave}>
          Use another invite
        </button>
      </div>
    </Notice>
  );
}
