/**
 * Splitting one labelled data set into federated sites, seeded: `iid` (shuffled, equal sizes) or `dirichlet:<alpha>`
 * (per class, site proportions drawn from Dirichlet(alpha): small alpha, skewed label mixes; the usual non-IID
 * benchmark split). Draws are repeated until every site has at least `minPerSite` samples.
 */
import { SeededRandom } from '@facmic/learning/plain';

export type PartitionSpec = { readonly kind: 'iid' } | { readonly kind: 'dirichlet'; readonly alpha: number };

export function parsePartition(text: string): PartitionSpec {
  if (text === 'iid') return { kind: 'iid' };
  const match = /^dirichlet:([0-9]*\.?[0-9]+(?:e-?\d+)?)$/.exec(text);
  const alpha = match ? Number(match[1]) : Number.NaN;
  if (!(alpha > 0 && Number.isFinite(alpha))) throw new Error(`--partition must be iid or dirichlet:<alpha > 0>, got "${text}"`);
  return { kind: 'dirichlet', alpha };
}

export function describePartition(spec: PartitionSpec): string {
  return spec.kind === 'iid' ? 'iid' : `dirichlet(alpha=${spec.alpha})`;
}

/** Gamma(shape, 1) by Marsaglia and Tsang (boosted for shape < 1). */
function gamma(random: SeededRandom, shape: number): number {
  if (shape < 1) return gamma(random, shape + 1) * Math.pow(random.next() || Number.MIN_VALUE, 1 / shape);
  const d = shape - 1 / 3;
  const c = 1 / Math.sqrt(9 * d);
  for (;;) {
    let x: number;
    let v: number;
    do {
      x = random.normal();
      v = 1 + c * x;
    } while (v <= 0);
    v = v * v * v;
    const u = random.next();
    if (u < 1 - 0.0331 * x ** 4 || Math.log(u) < 0.5 * x * x + d * (1 - v + Math.log(v))) return d * v;
  }
}

function dirichlet(random: SeededRandom, k: number, alpha: number): number[] {
  const draws = Array.from({ length: k }, () => gamma(random, alpha));
  const total = draws.reduce((a, b) => a + b, 0);
  return draws.map((g) => (total > 0 ? g / total : 1 / k));
}

/** Site index lists (each sorted) covering every sample exactly once. */
export function partitionIndices(labels: ArrayLike<number>, sites: number, spec: PartitionSpec, seed: number, minPerSite = 2): number[][] {
  const n = labels.length;
  if (!Number.isInteger(sites) || sites < 1) throw new Error(`sites must be a positive integer, got ${sites}`);
  if (n < sites * minPerSite) throw new Error(`${n} samples cannot give ${sites} sites at least ${minPerSite} each`);
  const random = new SeededRandom(seed);
  if (spec.kind === 'iid') {
    const order = Array.from(random.permutation(n));
    const out = Array.from({ length: sites }, () => [] as number[]);
    order.forEach((sample, i) => out[i % sites]?.push(sample));
    return out.map((s) => s.sort((a, b) => a - b));
  }
  const byClass = new Map<number, number[]>();
  for (let i = 0; i < n; i++) {
    const label = labels[i] ?? 0;
    const list = byClass.get(label) ?? [];
    list.push(i);
    byClass.set(label, list);
  }
  const classes = [...byClass.keys()].sort((a, b) => a - b);
  for (let attempt = 0; attempt < 1000; attempt++) {
    const out = Array.from({ length: sites }, () => [] as number[]);
    for (const label of classes) {
      const members = byClass.get(label) ?? [];
      const order = Array.from(random.permutation(members.length), (i) => members[i] ?? 0);
      const proportions = dirichlet(random, sites, spec.alpha);
      let start = 0;
      let cumulative = 0;
      proportions.forEach((p, site) => {
        cumulative += p;
        const end = site === sites - 1 ? order.length : Math.round(cumulative * order.length);
        out[site]?.push(...order.slice(start, end));
        start = Math.max(start, end);
      });
    }
    if (out.every((s) => s.length >= minPerSite)) return out.map((s) => s.sort((a, b) => a - b));
  }
  throw new Error(`dirichlet(alpha=${spec.alpha}) left a site with fewer than ${minPerSite} samples in 1000 draws; use a larger alpha or fewer sites`);
}
