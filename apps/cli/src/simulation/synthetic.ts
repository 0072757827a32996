/**
 * Synthetic CLIP-like features for the simulation, seeded. The dimensions are split into three random groups:
 * informative (I, a quarter), style (S, a quarter) and nuisance (the rest).
 *
 * image = shared (on S, large, common to all images, as CLIP features share one)
 *       + SIGNAL * prototype[class] (on I)
 *       + shift[site] (on S and nuisance: scanner / protocol, so every site is its own domain, the held-out global
 *         site included)
 *       + Gaussian noise (all dimensions, fixed per-dimension spread so the task is as hard for any D)
 * prompt[class] = prototype[class] + bias[class] * shared direction + small S noise + nuisance noise
 *
 * The prompts agree with the images on I, but each carries its own bias along the shared image direction, so raw
 * cosine similarity favours some classes: zero-shot is above chance but clearly improvable, and an attention module
 * that learns to down-weight the style dimensions gains. Site sizes (0.6x..1.4x) and class mixes are imbalanced.
 */
import { SeededRandom } from '@facmic/learning/plain';
import type { SimulationData } from './types.ts';

export interface SyntheticOptions {
  readonly sites: number;
  readonly classes: number;
  readonly dim: number;
  /** Mean samples per site; actual sizes vary from 0.6x to 1.4x. */
  readonly samplesPerSite: number;
  readonly seed: number;
}

const SHARED_NORM = 3;
const SIGNAL = 0.5;
const SITE_SHIFT_NORM = 1;
const NOISE_PER_DIMENSION = 0.18;
const PROMPT_BIAS = 0.15;
const PROMPT_STYLE_NOISE_NORM = 0.3;
const PROMPT_NUISANCE_NORM = 1;

/** A random direction on the given dimensions, scaled to `norm`. */
function randomVector(random: SeededRandom, dim: number, indices: ArrayLike<number>, norm: number): Float64Array {
  const vector = new Float64Array(dim);
  let squares = 0;
  for (let i = 0; i < indices.length; i++) {
    const value = random.normal();
    vector[indices[i] as number] = value;
    squares += value * value;
  }
  const scale = squares > 0 ? norm / Math.sqrt(squares) : 0;
  return vector.map((value) => value * scale);
}

export function generateSyntheticData(options: SyntheticOptions): SimulationData {
  const { sites, classes, dim, samplesPerSite, seed } = options;
  if (!Number.isInteger(sites) || sites < 2) throw new RangeError('synthetic data needs at least 2 sites');
  if (!Number.isInteger(classes) || classes < 2) throw new RangeError('synthetic data needs at least 2 classes');
  if (!Number.isInteger(dim) || dim < 4) throw new RangeError('synthetic data needs a dimension of at least 4');
  if (!Number.isInteger(samplesPerSite) || samplesPerSite < 10) throw new RangeError('synthetic data needs at least 10 samples per site');
  const random = new SeededRandom(seed);
  const order = random.permutation(dim);
  const quarter = Math.max(1, Math.floor(dim / 4));
  const informative = order.subarray(0, quarter);
  const style = order.subarray(quarter, 2 * quarter);
  const nuisance = order.subarray(2 * quarter);
  const styleAndNuisance = order.subarray(quarter);
  const shared = randomVector(random, dim, style, SHARED_NORM);
  const prototypes = Array.from({ length: classes }, () => randomVector(random, dim, informative, 1));
  const text = new Float32Array(classes * dim);
  prototypes.forEach((prototype, c) => {
    const bias = random.uniform(-PROMPT_BIAS, PROMPT_BIAS) / SHARED_NORM;
    const styleNoise = randomVector(random, dim, style, PROMPT_STYLE_NOISE_NORM);
    const nuisanceNoise = randomVector(random, dim, nuisance, PROMPT_NUISANCE_NORM);
    for (let j = 0; j < dim; j++) {
      text[c * dim + j] = (prototype[j] as number) + bias * (shared[j] as number) + (styleNoise[j] as number) + (nuisanceNoise[j] as number);
    }
  });
  // Site sizes from 0.6x to 1.4x the mean, in a shuffled order.
  const sizeOrder = random.permutation(sites);
  const siteData = Array.from({ length: sites }, (_, k) => {
    const factor = sites === 1 ? 1 : 0.6 + (0.8 * (sizeOrder[k] as number)) / (sites - 1);
    const count = Math.max(10, Math.round(samplesPerSite * factor));
    const shift = randomVector(random, dim, styleAndNuisance, SITE_SHIFT_NORM);
    // Class mix: weights 0.5..1.5, so some classes are rarer at some sites.
    const mix = Array.from({ length: classes }, () => 0.5 + random.next());
    const mixTotal = mix.reduce((a, b) => a + b, 0);
    const features = new Float32Array(count * dim);
    const labels = new Int32Array(count);
    for (let i = 0; i < count; i++) {
      let pick = random.next() * mixTotal;
      let label = 0;
      while (label < classes - 1 && pick >= (mix[label] as number)) {
        pick -= mix[label] as number;
        label += 1;
      }
      labels[i] = label;
      const prototype = prototypes[label] as Float64Array;
      for (let j = 0; j < dim; j++) {
        features[i * dim + j] = (shared[j] as number) + SIGNAL * (prototype[j] as number) + (shift[j] as number) + NOISE_PER_DIMENSION * random.normal();
      }
    }
    return { name: `site-${k + 1}`, data: { dim, features, labels } };
  });
  return {
    description: `synthetic (seed ${seed}, ${sites} sites, ${classes} classes, D=${dim})`,
    dim,
    classNames: Array.from({ length: classes }, (_, c) => `class-${c}`),
    textFeatures: { dim, features: text },
    sites: siteData,
  };
}
