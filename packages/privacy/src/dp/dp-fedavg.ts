/**
 * DP-FedAvg (McMahan, Ramage, Talwar & Zhang, ICLR 2018) as pure functions on the update vector of `fixed-point.ts`'s
 * layout (delta = local - global, every float entry, BatchNorm running statistics included; the integer
 * `num_batches_tracked` counter carries no data and is neither clipped nor noised).
 *
 * - Each site clips its delta to L2 norm S (the clip norm).
 * - Sites are weighted equally (weight 1): a sample-count weight would make one site's influence, hence the
 *   sensitivity, depend on the largest count. The L2 sensitivity of the sum of clipped deltas is then S when one
 *   site's update is added or removed (site-level DP: the privacy unit is a whole hospital's data).
 * - Gaussian noise of std sigma * S is added to the sum, sigma the noise multiplier chosen from the budget
 *   (`noiseMultiplierForBudget`), and the sum is divided by the number of contributors (public to the coordinator).
 *
 * Where the noise is added:
 * - `central`: the coordinator adds N(0, sigma^2 S^2) to the sum. Protects the published models from everyone but
 *   the coordinator (which, without secure aggregation, also sees each clipped update).
 * - `distributed` (with secure aggregation): each site adds N(0, sigma^2 S^2 / m) to its own clipped delta, with
 *   m = `minContributors`, the secure aggregation threshold t. Any round that completes has k >= t contributors,
 *   so the sum carries variance k / m * sigma^2 S^2 >= sigma^2 S^2: the target is met whatever sites drop, and the
 *   coordinator never sees a noise-free aggregate. The ledger records the realised multiplier sigma sqrt(k / m)
 *   (more noise, less epsilon spent); when no site drops, the noise is sqrt(n / t) times the target (about 1.4x for
 *   the default majority threshold), the price of tolerating dropouts. If fewer than t remained the round would not
 *   complete, so under-noised sums are never released. (Semi-honest sites: a site that skips its noise share lowers
 *   the total.)
 */
import type { StateEntrySpec } from '@facmic/learning/plain';
import { DifferentialPrivacyError } from '../errors.ts';
import type { InputLayout } from '../fixed-point.ts';
import { cryptoRandomSource, type RandomSource } from '../random.ts';
import { addGaussianNoise } from './gaussian.ts';

export type NoisePlacement = 'central' | 'distributed';

export interface DpFedAvgSettings {
  /** sigma: noise std / sensitivity. */
  readonly noiseMultiplier: number;
  /** S: L2 bound of one site's delta. */
  readonly clipNorm: number;
  readonly placement: NoisePlacement;
  /** m: contributors the distributed noise is split over (the secure aggregation threshold). Ignored when central. */
  readonly minContributors?: number;
}

function checkSettings(settings: DpFedAvgSettings): void {
  if (!(settings.noiseMultiplier > 0) || !Number.isFinite(settings.noiseMultiplier)) throw new DifferentialPrivacyError('invalid-parameters', `the noise multiplier must be positive, got ${settings.noiseMultiplier}`);
  if (!(settings.clipNorm > 0) || !Number.isFinite(settings.clipNorm)) throw new DifferentialPrivacyError('invalid-parameters', `the clip norm must be positive, got ${settings.clipNorm}`);
  if (settings.placement === 'distributed' && !(Number.isSafeInteger(settings.minContributors) && (settings.minContributors as number) >= 1)) {
    throw new DifferentialPrivacyError('invalid-parameters', 'distributed noise needs minContributors, a positive integer (the secure aggregation threshold)');
  }
}

function* measuredRanges(layout: InputLayout): Generator<[number, number]> {
  for (const entry of layout.entries) if (entry.kind !== 'counter') yield [entry.offset, entry.offset + entry.length];
}

/** L2 norm of the delta over its float entries. */
export function updateNorm(layout: InputLayout, delta: Float64Array): number {
  let sum = 0;
  for (const [start, end] of measuredRanges(layout)) for (let i = start; i < end; i++) sum += (delta[i] as number) ** 2;
  return Math.sqrt(sum);
}

/** delta * min(1, S / ||delta||) on the float entries (a new array); counters unchanged. */
export function clipUpdate(layout: InputLayout, delta: Float64Array, clipNorm: number): { delta: Float64Array; norm: number; clipped: boolean } {
  if (!(clipNorm > 0)) throw new DifferentialPrivacyError('invalid-parameters', `the clip norm must be positive, got ${clipNorm}`);
  const norm = updateNorm(layout, delta);
  const factor = norm > clipNorm ? clipNorm / norm : 1;
  const out = delta.slice();
  if (factor < 1) for (const [start, end] of measuredRanges(layout)) for (let i = start; i < end; i++) out[i] = (delta[i] as number) * factor;
  return { delta: out, norm, clipped: factor < 1 };
}

/** Std of the noise each site adds to its own clipped delta: sigma S / sqrt(m) (distributed), 0 (central). */
export function siteNoiseStd(settings: DpFedAvgSettings): number {
  checkSettings(settings);
  return settings.placement === 'distributed' ? (settings.noiseMultiplier * settings.clipNorm) / Math.sqrt(settings.minContributors as number) : 0;
}

/** Std of the noise the coordinator adds to the sum: sigma S (central), 0 (distributed). */
export function centralNoiseStd(settings: DpFedAvgSettings): number {
  checkSettings(settings);
  return settings.placement === 'central' ? settings.noiseMultiplier * settings.clipNorm : 0;
}

/** The noise multiplier a completed round actually had, for the ledger: sigma (central), sigma sqrt(k / m) (distributed). */
export function realisedNoiseMultiplier(settings: DpFedAvgSettings, contributors: number): number {
  checkSettings(settings);
  if (settings.placement === 'central') return settings.noiseMultiplier;
  const m = settings.minContributors as number;
  if (!Number.isSafeInteger(contributors) || contributors < m) throw new DifferentialPrivacyError('invalid-parameters', `a round with distributed noise needs at least ${m} contributors, got ${contributors}`);
  return settings.noiseMultiplier * Math.sqrt(contributors / m);
}

/** A site's DP step: clip, then (distributed) add its noise share. Returns the delta to encode with weight 1. */
export function privatizeSiteUpdate(layout: InputLayout, delta: Float64Array, settings: DpFedAvgSettings, source: RandomSource = cryptoRandomSource()): { delta: Float64Array; norm: number; clipped: boolean } {
  const result = clipUpdate(layout, delta, settings.clipNorm);
  const std = siteNoiseStd(settings);
  if (std > 0) for (const [start, end] of measuredRanges(layout)) addGaussianNoise(result.delta, std, source, start, end);
  return result;
}

/** The coordinator's central noise on a decoded mean of k contributors: N(0, (sigma S / k)^2) per float value, in place. */
export function addCentralNoiseToMean(layout: InputLayout, meanDelta: Float64Array, contributors: number, settings: DpFedAvgSettings, source: RandomSource = cryptoRandomSource()): void {
  const std = centralNoiseStd(settings);
  if (!Number.isSafeInteger(contributors) || contributors < 1) throw new DifferentialPrivacyError('invalid-parameters', `contributors must be a positive integer, got ${contributors}`);
  if (std > 0) for (const [start, end] of measuredRanges(layout)) addGaussianNoise(meanDelta, std / contributors, source, start, end);
}

/**
 * DP-FedAvg without secure aggregation (central noise): clip every site's delta again (the coordinator enforces S),
 * average with equal weights, add N(0, (sigma S / k)^2). Counters are averaged and rounded by `applyMeanDelta`.
 */
export function dpMeanDelta(layout: InputLayout, deltas: readonly Float64Array[], settings: DpFedAvgSettings, source: RandomSource = cryptoRandomSource()): Float64Array {
  if (deltas.length === 0) throw new DifferentialPrivacyError('invalid-parameters', 'no updates to average');
  const mean = new Float64Array(layout.valueCount);
  for (const delta of deltas) {
    const { delta: clipped } = clipUpdate(layout, delta, settings.clipNorm);
    for (let i = 0; i < mean.length; i++) mean[i] = (mean[i] as number) + (clipped[i] as number) / deltas.length;
  }
  addCentralNoiseToMean(layout, mean, deltas.length, settings, source);
  return mean;
}

/**
 * Secure aggregation bounds under DP: a clipped delta has every value within S, and a site's noise share adds at
 * most 8 of its standard deviations except with probability 1.2e-15 per value (that far tail is clipped and
 * counted); counters grow by at most `stepsPerRound`.
 */
export function dpDeltaBounds(spec: readonly StateEntrySpec[], settings: DpFedAvgSettings, stepsPerRound: number): Record<string, number> {
  const bound = settings.clipNorm + 8 * siteNoiseStd(settings);
  const bounds: Record<string, number> = {};
  for (const entry of spec) bounds[entry.name] = entry.kind === 'counter' ? stepsPerRound : bound;
  return bounds;
}
