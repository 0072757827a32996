import type { CoordinatorInfo, FederationConfig } from '@facmic/protocol';
import { getMethod, moduleValueCount } from '@facmic/learning/plain';
import { formatBytes, formatCount, formatDuration } from '../../lib/format.ts';

/** What the hospital sees before and while taking part: the federation's settings and what leaves the browser. */
export function FederationOverview({ federation, info }: { federation: FederationConfig | null; info: CoordinatorInfo | null }) {
  if (!federation) {
    return (
      <section className="card" aria-labelledby="fed-title">
        <h2 id="fed-title">The federation</h2>
        <p className="muted">Asking the coordinator for the federation’s details…</p>
      </section>
    );
  }
  const method = getMethod(federation.method);
  const values = moduleValueCount(federation.module.kind, federation.module.featureDim);
  const encoderNote = info && info.encoder.modelId === federation.encoder.modelId ? info.encoder.note : null;
  return (
    <section className="card" aria-labelledby="fed-title" data-testid="federation-overview">
      <h2 id="fed-title">The federation</h2>
      <dl className="facts">
        <dt>Classes</dt>
        <dd>{federation.classNames.join(', ')}</dd>
        <dt>Image model</dt>
        <dd>
          {federation.encoder.modelId}
          {encoderNote !== null && <span className="field-help">{encoderNote}</span>}
        </dd>
        <dt>Method</dt>
        <dd>
          {method.label}
          <span className="field-help">{method.description}</span>
        </dd>
        <dt>Rounds</dt>
        <dd>{federation.rounds}</dd>
        <dt>Each round</dt>
        <dd>
          {federation.training.localEpochs} pass{federation.training.localEpochs === 1 ? '' : 'es'} over your training images
          {federation.training.maxStepsPerRound !== null ? ` (at most ${federation.training.maxStepsPerRound} steps)` : ''}, batches of {federation.training.batchSize}; up to {formatDuration(federation.roundDeadlineSeconds)} per round
          {federation.minRoundSeconds > 0 ? `, at least ${federation.minRoundSeconds} s (paced, so each round can be followed)` : ''}
        </dd>
        <dt>Needs</dt>
        <dd>at least {federation.quorum} hospitals per round</dd>
      </dl>
      <div className="grid grid-2" style={{ marginTop: '1rem' }}>
        <div className="notice notice-ok">
          <strong className="notice-title">Leaves this browser</strong>
          <ul className="small">
            <li>
              The small model’s weights after each round: {formatCount(values)} numbers, about {formatBytes(values * 4)}
            </li>
            <li>How many training images you have (to weight the average)</li>
            <li>Accuracy on your test images, and progress (e.g. “training, 40 %”)</li>
          </ul>
        </div>
        <div className="notice notice-info">
          <strong className="notice-title">Never leaves this browser</strong>
          <ul className="small">
            <li>Your images and their file names</li>
            <li>The features computed from them</li>
            <li>Which image is in which class</li>
          </ul>
        </div>
      </div>
    </section>
  );
}
