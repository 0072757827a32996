import type { CoordinatorInfo, FederationConfig } from '@facmic/protocol';
import { getMethod, moduleValueCount } from '@facmic/learning/plain';
import { modelMeaningForClinicians } from '../../components/model-meaning.tsx';
import { TechnicalDetails } from '../../components/technical-details.tsx';
import { countOf, formatBytes, formatCount, formatDuration } from '../../lib/format.ts';
import { roundWork } from '../../lib/round-words.ts';
import { privacySettingsWords } from '../../lib/privacy-words.ts';

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
  // The coordinator's own encoder: what it is is known only when the federation uses it.
  const source = info && info.encoder.modelId === federation.encoder.modelId ? info.encoder.source : null;
  const training = federation.training;
  return (
    <section className="card" aria-labelledby="fed-title" data-testid="federation-overview">
      <h2 id="fed-title">The federation</h2>
      <dl className="facts">
        <dt>Classes</dt>
        <dd>{federation.classNames.join(', ')}</dd>
        <dt>Image model</dt>
        <dd>{source !== null ? modelMeaningForClinicians(source) : federation.encoder.modelId}</dd>
        <dt>Method</dt>
        <dd>
          {method.label}
          <span className="field-help">{method.description}</span>
        </dd>
        <dt>Rounds</dt>
        <dd>{federation.rounds}</dd>
        <dt>Each round</dt>
        <dd>
          {roundWork(training, 'your')}, drawn from your reshuffled training images; up to{' '}
          {formatDuration(federation.roundDeadlineSeconds)} per round
          {federation.minRoundSeconds > 0 ? `, at least ${federation.minRoundSeconds} s (paced, so each round can be followed)` : ''}
        </dd>
        <dt>Needs</dt>
        <dd>at least {countOf(federation.quorum, 'hospital')} per round</dd>
        <dt>Privacy</dt>
        <dd data-testid="privacy-settings">
          {privacySettingsWords(federation.privacy).map((line) => (
            <span key={line} className="field-help">
              {line}
            </span>
          ))}
        </dd>
      </dl>
      <div className="privacy-notes">
        <div className="notice notice-ok">
          <strong className="notice-title">Leaves this browser</strong>
          <ul className="small">
            <li>
              {federation.privacy.secureAggregation.enabled ? 'A masked form of the small model’s weights after each round (only the sum of all hospitals’ can be read)' : 'The small model’s weights after each round'}:{' '}
              {formatCount(values)} numbers, about {formatBytes(values * 4)}
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
      <TechnicalDetails>
        <p>
          Image model <span className="mono">{federation.encoder.modelId}</span>, {federation.encoder.featureDim}-dimensional features, fingerprint{' '}
          <span className="mono">{federation.encoder.hash.slice(0, 12)}</span>. Federation id <span className="mono">{federation.id}</span>.
        </p>
        {source === 'tiny' && (
          <p>
            The coordinator found no real CLIP and generated a test model. Running <code>npm run models:fetch</code> on the coordinator’s machine gets the paper’s CLIP
            ViT-B/16.
          </p>
        )}
      </TechnicalDetails>
    </section>
  );
}
