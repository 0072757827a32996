/**
 * A Prometheus histogram read from exposition text, and a quantile over the window between two scrapes of it: the
 * difference of the cumulative bucket counts, linearly interpolated inside the bucket, as PromQL's
 * `histogram_quantile` does. `npm run bench:load` uses it for the event-loop delay over its rounds.
 */

/** Cumulative counts by bucket upper bound (seconds), ascending, `+Inf` last. */
export type HistogramBuckets = readonly { readonly le: number; readonly count: number }[];

/** The `<name>_bucket{le="..."}` series of one unlabelled histogram; empty when the text has none. */
export function parseHistogram(text: string, name: string): HistogramBuckets {
  const out: { le: number; count: number }[] = [];
  const pattern = new RegExp(`^${name}_bucket\\{le="([^"]+)"\\} (\\S+)$`, 'gm');
  for (const match of text.matchAll(pattern)) {
    const le = match[1] === '+Inf' ? Number.POSITIVE_INFINITY : Number(match[1]);
    out.push({ le, count: Number(match[2]) });
  }
  return out.sort((a, b) => a.le - b.le);
}

/**
 * The q-quantile of what was observed between `before` and `after` (two scrapes of the same process's histogram;
 * `before` null: since the process started). NaN when nothing was observed. A quantile that falls in the `+Inf`
 * bucket is given as the largest finite bound (a lower bound of the truth).
 */
export function windowQuantile(q: number, after: HistogramBuckets, before: HistogramBuckets | null): number {
  const counts = after.map((b, i) => ({ le: b.le, count: b.count - (before?.[i]?.count ?? 0) }));
  const total = counts.at(-1)?.count ?? 0;
  if (!(total > 0)) return Number.NaN;
  const rank = q * total;
  let lower = 0;
  let below = 0;
  for (const bucket of counts) {
    if (bucket.count >= rank) {
      if (!Number.isFinite(bucket.le)) return lower;
      const inBucket = bucket.count - below;
      return inBucket > 0 ? lower + ((bucket.le - lower) * (rank - below)) / inBucket : bucket.le;
    }
    lower = bucket.le;
    below = bucket.count;
  }
  return lower;
}
