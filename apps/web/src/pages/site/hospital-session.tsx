import { useEffect, useState } from 'react';
import { coordinatorInfoSchema, type CoordinatorInfo } from '@facmic/protocol';
import { TechnicalDetails } from '../../components/technical-details.tsx';
import { Badge, Notice } from '../../components/ui.tsx';
import { siteProblemSentence } from '../../lib/error-words.ts';
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
  const joined = view.dataset !== null;
  // The federation's details, unless the coordinator refused this invite before sending them.
  const overview = federation || !view.fatal ? <FederationOverview federation={federation} info={info} /> : null;
  const testModel = info !== null && federation !== null && info.encoder.source === 'tiny' && info.encoder.modelId === federation.encoder.modelId;
  const classify = federation && (view.dataset || view.encoder) ? <ClassifyPanel view={view} federation={federation} testModel={testModel} onClassify={site.classify} /> : null;
  // Before taking part, the next action comes first, with the federation's details beside it.
  const action =
    stage === 'choose-images' && federation && !view.datasetSent ? (
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
    ) : view.encoding ? (
      <EncodingPanel progress={view.encoding} onCancel={site.cancelEncoding} />
    ) : view.datasetSent && !view.dataset ? (
      <p className="card muted" role="status">
        Your images are chosen. Preparation starts as soon as the image model has loaded…
      </p>
    ) : null;

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
            The page keeps trying to reach the coordinator. You can keep this tab open; nothing is lost, and an update that was not sent is sent again once the connection is
            back.
          </p>
          {view.connectionProblem !== null && <TechnicalDetails>{view.connectionProblem}</TechnicalDetails>}
        </Notice>
      )}
      {view.errors.length > 0 && !view.fatal && (
        <Notice tone="warn" title="Recent problems (the page retries by itself)">
          <ul>
            {view.errors.map((e) => (
              <li key={`${e.at}-${e.code}`}>{siteProblemSentence(e.code)}</li>
            ))}
          </ul>
          <TechnicalDetails>
            <ul className="mono">
              {view.errors.map((e) => (
                <li key={`${e.at}-${e.code}`}>
                  {e.code}: {e.message}
                </li>
              ))}
            </ul>
          </TechnicalDetails>
        </Notice>
      )}
      {joined ? (
        <>
          {federation && <RoundsPanel view={view} session={session} federation={federation} />}
          {classify}
          {session.demoSite !== null && federation && (
            <section className="card" aria-labelledby="demo-images-title">
              <h2 id="demo-images-title">This demo hospital’s images</h2>
              <p className="small muted">Generated in this tab: one pattern per class, drawn with this hospital’s own brightness, contrast, tint and noise. Compare with the other demo tabs.</p>
              <DemoPreview classNames={federation.classNames} siteIndex={session.demoSite} images={view.demoPreview} onRequest={site.requestDemoPreview} />
            </section>
          )}
          <div className="grid grid-2">
            {overview}
            <DevicePanel view={view} />
          </div>
        </>
      ) : action ? (
        <div className="action-layout">
          <div className="stack action-main">
            {action}
            <DevicePanel view={view} />
            {classify}
          </div>
          <div className="stack action-aside">{overview}</div>
        </div>
      ) : (
        <>
          <div className="grid grid-2">
            {overview}
            {!view.fatal && <DevicePanel view={view} />}
          </div>
          {classify}
        </>
      )}
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

function FatalNotice({ code, message, onLeave }: { code: string; message: string; onLeave: () => void }) {
  return (
    <Notice tone="error" title="This hospital cannot take part right now">
      <p>{siteProblemSentence(code)}</p>
      <TechnicalDetails>
        <p className="mono">
          {code}: {message}
        </p>
      </TechnicalDetails>
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
