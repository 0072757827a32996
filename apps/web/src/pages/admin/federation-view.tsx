import { useState } from 'react';
import type { RoundSummary } from '@facmic/protocol';
import { getMethod, moduleValueCount } from '@facmic/learning/plain';
import { LineChart } from '../../charts/line-chart.tsx';
import { Badge, downloadBlob, FieldError, useLatestFirst } from '../../components/ui.tsx';
import { useNow } from '../../components/use-now.ts';
import { adminProblemSentence } from '../../lib/error-words.ts';
import { countOf, formatBytes, formatDuration, formatPercent } from '../../lib/format.ts';
import { roundWork } from '../../lib/round-words.ts';
import type { AdminApi, FederationAction } from './admin-api.ts';
import { FULL_CLIP_BYTES, globalSeries, reductionFactor, roundClosing, roundTraffic, siteSeries } from './dashboard-data.ts';
import { AuditLog } from './audit-log.tsx';
import { SitesPanel } from './sites-panel.tsx';
import type { FederationLive } from './use-admin-live.ts';
import { privacySettingsWords, privacySpentLine } from '../../lib/privacy-words.ts';

const STATUS_TONE: Readonly<Record<string, 'ok' | 'warn' | 'danger' | 'info' | undefined>> = {
  waiting: undefined,
  training: 'info',
  aggregating: 'info',
  paused: 'warn',
  stopped: 'danger',
  finished: 'ok',
};

const STATUS_TEXT: Readonly<Record<string, string>> = {
  waiting: 'waiting for hospitals',
  training: 'round open',
  aggregating: 'combining updates',
  paused: 'paused',
  stopped: 'stopped',
  finished: 'finished',
};

export function FederationView({ api, federation, onChanged }: { api: AdminApi; federation: FederationLive; onChanged: () => void }) {
  const { summary, config, rounds, sites, submissions } = federation;
  const now = useNow(1000);
  const [problem, setProblem] = useState<string | null>(null);
  const [downloadProblem, setDownloadProblem] = useState<string | null>(null);
  const [busy, setBusy] = useState<FederationAction | null>(null);
  const [siteModel, setSiteModel] = useState<'local' | 'global'>('local');
  const current = rounds.find((r) => r.round === summary.round) ?? null;
  const terminal = summary.status === 'stopped' || summary.status === 'finished';

  const act = (action: FederationAction) => {
    if (action === 'stop' && !window.confirm(`Stop “${summary.name}” for good? Hospitals stop training; published models stay available.`)) return;
    setBusy(action);
    setProblem(null);
    api.act(summary.id, action).then(
      () => {
        setBusy(null);
        onChanged();
      },
      (error: unknown) => {
        setBusy(null);
        setProblem(adminProblemSentence(error));
      },
    );
  };

  const values = config ? moduleValueCount(config.module.kind, config.module.featureDim) : 0;
  const traffic = roundTraffic(rounds);
  const totalMoved = traffic.reduce((n, t) => n + t.uploaded + t.downloaded, 0);
  const totalFull = traffic.reduce((n, t) => n + t.fullClip, 0);
  const xDomain: [number, number] = [1, Math.max(summary.totalRounds, 2)];
  const latestTraffic = useLatestFirst(traffic, 5, 'rounds');
  const closing = roundClosing(summary, current, config?.minRoundSeconds ?? 0, now);

  return (
    <div className="stack" data-testid="federation-view">
      <section className="card" aria-labelledby="fed-name">
        <div className="card-header">
          <h2 id="fed-name">{summary.name}</h2>
          <Badge tone={STATUS_TONE[summary.status]}>{STATUS_TEXT[summary.status] ?? summary.status}</Badge>
          {summary.isDemo && <Badge tone="info">demo</Badge>}
          <span className="spacer" />
          <div className="row">
            {summary.status === 'paused' ? (
              <button type="button" onClick={() => { act('resume'); }} disabled={busy !== null}>
                Resume
              </button>
            ) : (
              <button type="button" className="secondary" onClick={() => { act('pause'); }} disabled={busy !== null || terminal}>
                Pause
              </button>
            )}
            <button type="button" className="danger" onClick={() => { act('stop'); }} disabled={busy !== null || terminal}>
              Stop
            </button>
          </div>
        </div>
        {problem !== null && <FieldError>{problem}</FieldError>}
        <div className="kpis">
          <div className="kpi">
            <strong data-testid="fed-round">
              {summary.round} / {summary.totalRounds}
            </strong>
            <span>round</span>
          </div>
          <div className="kpi">
            <strong>
              {summary.sitesOnline} / {summary.sitesTotal}
            </strong>
            <span>hospitals online</span>
          </div>
          <div className="kpi">
            <strong>
              {summary.submissions} / {summary.participants}
            </strong>
            <span>updates this round (need {summary.quorum})</span>
          </div>
          <div className="kpi">
            <strong data-testid="round-closes">{closing.value}</strong>
            <span>{closing.label}</span>
          </div>
          <div className="kpi">
            <strong data-testid="global-accuracy">{formatPercent(summary.latestGlobalMetrics?.accuracy)}</strong>
            <span>global test accuracy</span>
          </div>
        </div>
        {config && (
          <p className="small muted" style={{ marginTop: '0.75rem' }}>
            {getMethod(config.method).label} · classes: {config.classNames.join(', ')} · model {config.encoder.modelId} · rounds of {roundWork(config.training)},
            learning rate {config.training.optimizer.learningRate} · deadline {formatDuration(config.roundDeadlineSeconds)}
            {config.minRoundSeconds > 0 ? ` · rounds last at least ${config.minRoundSeconds} s` : ''} · {config.features.referenceCount} reference images
            {' · '}
            {privacySettingsWords(config.privacy).join(' · ')}
          </p>
        )}
        {summary.privacy && (
          <p className="small" data-testid="privacy-spent">
            {privacySpentLine(summary.privacy)}
          </p>
        )}
        <RoundTimeline rounds={rounds} total={summary.totalRounds} current={summary.round} status={summary.status} />
      </section>

      <SitesPanel api={api} federation={federation} current={current} now={now} onChanged={onChanged} />

      <section className="card" aria-labelledby="curves-title">
        <div className="card-header">
          <h2 id="curves-title">Is the model getting better?</h2>
        </div>
        <div className="grid grid-2">
          <LineChart
            title="Global model on the global test set"
            series={globalSeries(rounds)}
            xLabel="Round"
            xDomain={xDomain}
            emptyText={config?.hasGlobalTest === false ? 'No global test set: create the federation with one to see this curve.' : 'Appears once the first round is published.'}
          />
          <div>
            <LineChart
              title={siteModel === 'local' ? 'Each hospital: its trained model on its test images' : 'Each hospital: the shared model on its test images'}
              series={siteSeries(submissions, siteModel, 'accuracy')}
              xLabel="Round"
              xDomain={xDomain}
              emptyText="Appears once hospitals send their first update."
            />
            <fieldset className="row small" style={{ border: 'none', padding: 0, margin: '0.25rem 0 0' }}>
              <legend className="visually-hidden">Which model to show per hospital</legend>
              <label className="check">
                <input type="radio" name="site-model" checked={siteModel === 'local'} onChange={() => { setSiteModel('local'); }} /> after local training
              </label>
              <label className="check">
                <input type="radio" name="site-model" checked={siteModel === 'global'} onChange={() => { setSiteModel('global'); }} /> shared model at round start
              </label>
            </fieldset>
          </div>
          <LineChart
            title="Each hospital: balanced accuracy"
            series={siteSeries(submissions, siteModel, 'balancedAccuracy')}
            xLabel="Round"
            xDomain={xDomain}
            emptyText="Balanced accuracy gives every class the same weight."
          />
        </div>
      </section>

      <section className="card" aria-labelledby="traffic-title" data-testid="traffic-section">
        <h2 id="traffic-title">What goes over the network</h2>
        <p className="small">
          Each hospital sends {values.toLocaleString('en-US')} numbers ({formatBytes(values * 4)}) per round.{' '}
          {traffic.length === 0 ? (
            <>Once rounds have run, this compares what they moved with sending CLIP ViT-B/16 itself (about 150 million parameters, {formatBytes(FULL_CLIP_BYTES)}) each way.</>
          ) : (
            <>
              Sending CLIP ViT-B/16 itself (about 150 million parameters, {formatBytes(FULL_CLIP_BYTES)}) each way would move {formatBytes(totalFull)} for the{' '}
              {countOf(traffic.length, 'round')} so far instead of {formatBytes(totalMoved)}: <strong>{reductionFactor(totalMoved, totalFull)} less</strong>.
            </>
          )}
        </p>
        {traffic.length > 0 && (
          <div className="table-scroll">
            <table data-testid="traffic-table">
              <caption className="visually-hidden">Traffic per round, newest first</caption>
              <thead>
                <tr>
                  <th scope="col">Round</th>
                  <th scope="col" className="num">
                    Updates
                  </th>
                  <th scope="col" className="num">
                    Uploaded
                  </th>
                  <th scope="col" className="num">
                    Downloaded
                  </th>
                  <th scope="col" className="num">
                    Full CLIP would be
                  </th>
                  <th scope="col" className="num">
                    Aggregation
                  </th>
                  <th scope="col">Global model</th>
                </tr>
              </thead>
              <tbody>
                {latestTraffic.shown.map((t) => {
                  const round = rounds.find((r) => r.round === t.round);
                  return (
                    <tr key={t.round}>
                      <th scope="row">{t.round}</th>
                      <td className="num">{t.sites}</td>
                      <td className="num">{formatBytes(t.uploaded)}</td>
                      <td className="num">{formatBytes(t.downloaded)}</td>
                      <td className="num">{formatBytes(t.fullClip)}</td>
                      <td className="num">{round?.aggregationMs == null ? '–' : `${Math.round(round.aggregationMs)} ms`}</td>
                      <td>
                        {round?.status === 'published' ? (
                          <ModelDownload api={api} federationId={summary.id} round={t.round} onProblem={setDownloadProblem} />
                        ) : (
                          <span className="muted small">{round?.status ?? ''}</span>
                        )}
                      </td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </div>
        )}
        {latestTraffic.toggle}
        <div className="row small" style={{ marginTop: '0.5rem' }}>
          <ModelDownload api={api} federationId={summary.id} round={0} onProblem={setDownloadProblem} label="Download the initial model" />
        </div>
        {downloadProblem !== null && <FieldError>{downloadProblem}</FieldError>}
        <p className="small muted" data-testid="model-file-note">
          A downloaded model is a <span className="mono">.fmst</span> file: the shared attention module’s weights after that round (an FMST tensor file, described in the
          README). To classify images with it, a hospital opens its page of this federation and loads the file under “Classify an image”; it runs in the browser, without the
          coordinator. Node programs read it with <span className="mono">decodeTensors</span> from <span className="mono">@facmic/protocol</span>.
        </p>
      </section>

      <AuditLog entries={federation.audit} sites={sites} />
    </div>
  );
}

function ModelDownload({ api, federationId, round, onProblem, label }: { api: AdminApi; federationId: string; round: number; onProblem: (problem: string) => void; label?: string }) {
  return (
    <button
      type="button"
      className="secondary small"
      onClick={() => {
        api.downloadModel(federationId, round).then(
          (blob) => {
            downloadBlob(`facmic-${federationId}-round-${round}.fmst`, blob);
          },
          (error: unknown) => {
            onProblem(adminProblemSentence(error));
          },
        );
      }}
    >
      {label ?? `Download round ${round}`}
    </button>
  );
}

function RoundTimeline({ rounds, total, current, status }: { rounds: readonly RoundSummary[]; total: number; current: number; status: string }) {
  const shown = Math.min(total, 60);
  const start = Math.max(1, Math.min(current - 30, total - shown + 1));
  const items = Array.from({ length: shown }, (_, i) => start + i);
  return (
    <div style={{ marginTop: '1rem' }}>
      <h3 className="small">Rounds</h3>
      <ol className="timeline" aria-label="Round timeline" data-testid="round-timeline">
        {items.map((n) => {
          const round = rounds.find((r) => r.round === n);
          const isCurrent = n === current && (status === 'training' || status === 'aggregating' || status === 'paused');
          const done = round?.status === 'published';
          const title = round
            ? `Round ${n}: ${round.status}, ${countOf(round.submissions, 'update')}${round.globalMetrics ? `, global accuracy ${formatPercent(round.globalMetrics.accuracy)}` : ''}${round.extensions > 0 ? `, deadline extended ${round.extensions}×` : ''}`
            : `Round ${n}: not started`;
          return (
            <li key={n} className={isCurrent ? 'current' : done ? 'done' : undefined} title={title} aria-label={title}>
              {n}
            </li>
          );
        })}
      </ol>
    </div>
  );
}
