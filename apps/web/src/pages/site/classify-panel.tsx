import { useId } from 'react';
import type { FederationConfig } from '@facmic/protocol';
import { Notice } from '../../components/ui.tsx';
import { formatPercent } from '../../lib/format.ts';
import type { SiteView } from './site-state.ts';

/** Try the current shared model on one image: class probabilities, not just a label. */
export function ClassifyPanel({ view, federation, onClassify }: { view: SiteView; federation: FederationConfig; onClassify: (image: Blob, name: string) => void }) {
  const id = useId();
  const latest = view.classifications[0];
  const total = latest ? latest.probabilities.reduce((a, b) => a + b, 0) : 0;
  const top = latest ? latest.probabilities.indexOf(Math.max(...latest.probabilities)) : -1;
  const ready = view.globalModelRound !== null;
  const modelName = view.globalModelRound === 0 ? 'the initial shared model' : `the shared model after round ${view.globalModelRound}`;
  return (
    <section className="card" aria-labelledby={`${id}-title`} data-testid="classify-panel">
      <h2 id={`${id}-title`}>Classify an image</h2>
      <p className="small muted">
        {ready
          ? `Uses ${view.finished ? 'the final shared model' : modelName}. The image is read in this browser only.`
          : 'Available once this hospital has received the shared model (at its first round). The image is read in this browser only.'}
      </p>
      <input
        id={id}
        type="file"
        accept="image/png,image/jpeg,image/webp,image/gif,image/bmp"
        className="visually-hidden"
        data-testid="classify-input"
        disabled={view.classifying || !ready}
        onChange={(e) => {
          const file = e.currentTarget.files?.[0];
          if (file) onClassify(file, file.name);
          e.currentTarget.value = '';
        }}
      />
      <label htmlFor={id} className="button secondary" aria-disabled={!ready}>
        Choose an image…
      </label>
      {view.classifying && (
        <p role="status" className="small">
          Classifying…
        </p>
      )}
      {view.classifyProblem !== null && (
        <Notice tone="error" title="Could not classify this image">
          <p>{view.classifyProblem}</p>
        </Notice>
      )}
      {latest && (
        <div style={{ marginTop: '0.75rem' }} data-testid="classify-result">
          <p>
            <strong>{latest.name}</strong>: most likely <strong data-testid="classify-top">{federation.classNames[top] ?? '?'}</strong>{' '}
            <span className="small muted">
              ({latest.modelRound === 0 ? 'initial model' : `model after round ${latest.modelRound}`})
            </span>
          </p>
          <ul className="prob-list" aria-label="Probability of each class">
            {latest.probabilities.map((p, i) => (
              <li key={federation.classNames[i] ?? i} className={i === top ? 'top' : undefined} data-testid="classify-probability" data-probability={p}>
                <span>{federation.classNames[i]}</span>
                <div className="prob-bar" aria-hidden="true">
                  <div style={{ width: `${(p * 100).toFixed(1)}%` }} />
                </div>
                <span className="num">{formatPercent(p)}</span>
              </li>
            ))}
          </ul>
          <p className="small muted">Probabilities add up to {formatPercent(total)}.</p>
        </div>
      )}
    </section>
  );
}
