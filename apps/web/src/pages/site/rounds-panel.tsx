import type { FederationConfig } from '@facmic/protocol';
import { LineChart } from '../../charts/line-chart.tsx';
import { Badge, downloadText, ProgressBar } from '../../components/ui.tsx';
import { countOf, formatBytes, formatCount, formatDuration, formatPercent, formatRate, formatRelative } from '../../lib/format.ts';
import { privacySpentLine } from '../../lib/privacy-words.ts';
import { siteReportCsv } from '../../lib/site-report.ts';
import type { SiteSession } from '../../lib/site-session.ts';
import { useNow } from '../../components/use-now.ts';
import type { SiteView } from './site-state.ts';

/** Round r of N, local training progress, waiting for others, the per-round charts and the CSV report. */
export function RoundsPanel({ view, session, federation }: { view: SiteView; session: SiteSession; federation: FederationConfig }) {
  const now = useNow(1000);
  const round = view.round;
  const dataset = view.dataset;
  const training = view.status?.phase === 'training' ? view.training : null;
  const rounds = session.rounds;
  const series = (key: 'accuracy' | 'balancedAccuracy') => [
    { name: 'Shared model (start of round)', points: rounds.flatMap((r) => (r.globalModel ? [{ x: r.round, y: r.globalModel[key] }] : [])) },
    { name: 'After training here', points: rounds.flatMap((r) => (r.localModel ? [{ x: r.round, y: r.localModel[key] }] : [])) },
  ];
  const siteName = view.welcome?.site.name ?? session.siteName ?? 'site';
  return (
    <section className="card" aria-labelledby="rounds-title" data-testid="rounds-panel">
      <div className="card-header">
        <h2 id="rounds-title">Rounds</h2>
        {round && (
          <span data-testid="round-counter">
            Round {round.round} of {round.totalRounds}
          </span>
        )}
        {round && <RoundStatusBadge status={round.status} />}
      </div>
      {round?.privacy && (
        <p className="small" data-testid="privacy-spent">
          {privacySpentLine(round.privacy)}
        </p>
      )}
      {dataset && (
        <p className="small" data-testid="dataset-summary">
          {formatCount(dataset.counts.train)} training and {formatCount(dataset.counts.test)} test images ({formatCount(dataset.counts.validation)} kept aside).{' '}
          {dataset.source === 'saved' ? 'Features loaded from this browser’s storage: ' : 'Images prepared now: '}
          <span data-testid="encoded-this-session">{dataset.encodedThisSession}</span> encoded in this tab,{' '}
          <span data-testid="from-cache">{dataset.fromCache}</span> from this browser’s storage
          {dataset.encodeSeconds !== null && dataset.encodedThisSession > 0 && (
            <span data-testid="encode-rate" data-seconds={dataset.encodeSeconds} data-images={dataset.encodedThisSession}>
              {' '}
              in {formatDuration(dataset.encodeSeconds)} ({formatRate(dataset.encodedThisSession / dataset.encodeSeconds, 'images')})
            </span>
          )}
          .
          {dataset.failures.length > 0 && ` ${countOf(dataset.failures.length, 'file')} could not be read.`}
        </p>
      )}
      {dataset && dataset.failures.length > 0 && (
        <details>
          <summary>Unreadable files</summary>
          <ul className="small">
            {dataset.failures.slice(0, 100).map((f) => (
              <li key={f.name}>
                <span className="mono">{f.name}</span>: {f.message}
              </li>
            ))}
          </ul>
        </details>
      )}
      {training && (
        <div style={{ margin: '0.5rem 0 1rem' }}>
          <ProgressBar value={training.step} max={training.totalSteps} label={`Training, round ${training.round}`} />
          <div className="progress-meta">
            <span>
              Training step {training.step} of {training.totalSteps}
            </span>
            <span>loss {training.loss.toFixed(3)}</span>
          </div>
        </div>
      )}
      {round && round.status === 'training' && round.deadline !== null && (
        <p className="small muted">
          {round.submissions} of {countOf(round.participants, 'hospital')} {round.submissions === 1 ? 'has' : 'have'} sent this round’s update;{' '}
          {round.submissions >= round.participants && federation.minRoundSeconds > 0
            ? `the round closes once it has run ${federation.minRoundSeconds} s (this federation’s pace).`
            : `the round closes ${formatRelative(round.deadline, now)} at the latest.`}
        </p>
      )}
      {view.refused && <p className="small">Round {view.refused.round} did not count for this hospital: {view.refused.message}</p>}
      <div className="grid grid-2">
        <LineChart title="Accuracy on your test images" series={series('accuracy')} xLabel="Round" xDomain={[1, Math.max(federation.rounds, 2)]} emptyText="The first results appear after round 1." />
        <LineChart
          title="Balanced accuracy on your test images"
          series={series('balancedAccuracy')}
          xLabel="Round"
          xDomain={[1, Math.max(federation.rounds, 2)]}
          emptyText="Balanced accuracy gives each class the same weight."
        />
      </div>
      {rounds.length > 0 && (
        <details open={rounds.length <= 5} style={{ marginTop: '1rem' }}>
          <summary>Results per round</summary>
        <div className="table-scroll">
          <table data-testid="site-rounds-table">
            <caption className="visually-hidden">Results per round</caption>
            <thead>
              <tr>
                <th scope="col">Round</th>
                <th scope="col" className="num">
                  Shared model
                </th>
                <th scope="col" className="num">
                  After training
                </th>
                <th scope="col" className="num">
                  Training time
                </th>
                <th scope="col" className="num">
                  Sent
                </th>
              </tr>
            </thead>
            <tbody>
              {rounds.map((r) => (
                <tr key={r.round}>
                  <th scope="row">{r.round}</th>
                  <td className="num">{formatPercent(r.globalModel?.accuracy)}</td>
                  <td className="num">{formatPercent(r.localModel?.accuracy)}</td>
                  <td className="num">{r.trainSeconds === null ? '–' : formatDuration(r.trainSeconds)}</td>
                  <td className="num">{r.bytesSent > 0 ? formatBytes(r.bytesSent) : '–'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
        </details>
      )}
      <div className="row" style={{ marginTop: '1rem' }}>
        <button
          type="button"
          className="secondary"
          disabled={rounds.length === 0}
          onClick={() => {
            downloadText(`facmic-${federation.id}-${siteName.replace(/[^A-Za-z0-9-]+/g, '-')}-report.csv`, siteReportCsv(federation.name, siteName, rounds));
          }}
        >
          Download report (CSV)
        </button>
      </div>
    </section>
  );
}

function RoundStatusBadge({ status }: { status: string }) {
  switch (status) {
    case 'training':
      return <Badge tone="info">round open</Badge>;
    case 'aggregating':
      return <Badge tone="info">combining updates</Badge>;
    case 'waiting':
      return <Badge>waiting for hospitals</Badge>;
    case 'paused':
      return <Badge tone="warn">paused</Badge>;
    case 'finished':
      return <Badge tone="ok">complete</Badge>;
    case 'stopped':
      return <Badge tone="danger">stopped</Badge>;
    default:
      return <Badge>{status}</Badge>;
  }
}
