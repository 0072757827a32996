/**
 * A progress line for long encodes on stderr: count, images/s, ETA, cached and failed counts. Redrawn in place on a
 * terminal; on a pipe or a CI log, one plain line every few seconds.
 */
import type { EncodeProgress } from '@facmic/encoder';

function clock(ms: number): string {
  if (!Number.isFinite(ms)) return '--:--';
  const s = Math.round(ms / 1000);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${sec}` : `${m}:${sec}`;
}

export function formatProgress(p: EncodeProgress, width = 24): string {
  const fraction = p.total > 0 ? p.done / p.total : 1;
  const filled = Math.round(fraction * width);
  const bar = `${'='.repeat(Math.max(0, filled - 1))}${filled > 0 ? (fraction >= 1 ? '=' : '>') : ''}${' '.repeat(width - filled)}`;
  const rate = p.imagesPerSecond >= 100 ? p.imagesPerSecond.toFixed(0) : p.imagesPerSecond.toFixed(1);
  return `[${bar}] ${p.done}/${p.total} ${rate} img/s ETA ${clock(p.etaMs)} (cached ${p.cached}, encoded ${p.encoded}, failed ${p.failed})`;
}

export interface ProgressBar {
  update(progress: EncodeProgress): void;
  /** Ends the line (prints the last state once more when not on a terminal). */
  finish(): void;
}

export function createProgressBar(stream: NodeJS.WriteStream = process.stderr, label = 'encoding'): ProgressBar {
  const tty = stream.isTTY;
  let last: EncodeProgress | undefined;
  let lastPrinted = 0;
  return {
    update(progress) {
      last = progress;
      if (tty) {
        stream.write(`\r${label} ${formatProgress(progress)}\u001b[K`);
      } else if (progress.elapsedMs - lastPrinted >= 5000 || progress.done === progress.total) {
        lastPrinted = progress.elapsedMs;
        stream.write(`${label} ${formatProgress(progress)}\n`);
      }
    },
    finish() {
      if (tty && last) stream.write('\n');
    },
  };
}
