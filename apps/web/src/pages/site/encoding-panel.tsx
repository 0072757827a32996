import { ProgressBar } from '../../components/ui.tsx';
import { formatCount, formatDuration, formatRate } from '../../lib/format.ts';
import type { EncodingProgress } from '../../worker/worker-messages.ts';

export function EncodingPanel({ progress, onCancel }: { progress: EncodingProgress; onCancel: () => void }) {
  return (
    <section className="card" aria-labelledby="encoding-title" data-testid="encoding-panel">
      <h2 id="encoding-title">Preparing your images</h2>
      <p>The image model turns each image into 512 numbers (its features). They are kept in this browser, so a reload does not start over.</p>
      <p data-testid="encoding-estimate">
        {progress.secondsLeft === null || progress.encoded === 0
          ? `Timing this computer on the first images of ${formatCount(progress.total)}…`
          : `About ${formatDuration(progress.secondsLeft + progress.elapsedSeconds)} for ${formatCount(progress.total)} images on this computer (timed on the first ${formatCount(progress.encoded)}); you can close the tab and come back: prepared images are kept.`}
      </p>
      <ProgressBar value={progress.done} max={progress.total} label="Images prepared" />
      <div className="progress-meta">
        <span data-testid="encoding-count">
          {progress.done} of {progress.total} images
        </span>
        <span>{formatRate(progress.imagesPerSecond, 'images')}</span>
        <span>{progress.secondsLeft === null ? 'estimating time left…' : `about ${formatDuration(progress.secondsLeft)} left`}</span>
        {progress.cached > 0 && <span>{progress.cached} already prepared earlier</span>}
        {progress.failed > 0 && <span>{progress.failed} unreadable</span>}
      </div>
      <div className="row" style={{ marginTop: '0.75rem' }}>
        <button type="button" className="secondary" onClick={onCancel}>
          Cancel
        </button>
        <span className="small muted">Images prepared so far are kept; starting again continues from them.</span>
      </div>
    </section>
  );
}
