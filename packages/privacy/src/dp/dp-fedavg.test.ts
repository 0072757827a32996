import { describe, expect, it } from 'vitest';
import { SeededRandom, moduleSpec } from '@facmic/learning/plain';
import { DifferentialPrivacyError } from '../errors.ts';
import { inputLayout } from '../fixed-point.ts';
import { cryptoRandomSource } from '../random.ts';
import { addCentralNoiseToMean, centralNoiseStd, clipUpdate, dpDeltaBounds, dpMeanDelta, privatizeSiteUpdate, realisedNoiseMultiplier, siteNoiseStd, updateNorm } from './dp-fedavg.ts';
import { gaussianSamples } from './gaussian.ts';

const SPEC = moduleSpec('facmic', 16);
const LAYOUT = inputLayout(SPEC);
const COUNTER = LAYOUT.entries.find((entry) => entry.kind === 'counter')!.offset;

function moments(values: Float64Array): { mean: number; variance: number; kurtosis: number } {
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  let m2 = 0;
  let m4 = 0;
  for (const value of values) {
    m2 += (value - mean) ** 2;
    m4 += (value - mean) ** 4;
  }
  m2 /= values.length;
  m4 /= values.length;
  return { mean, variance: m2, kurtosis: m4 / (m2 * m2) };
}

describe('Gaussian sampler', () => {
  it('draws N(0, std^2): mean, variance and kurtosis within 5 standard errors (seeded, so not flaky)', () => {
    const samples = gaussianSamples(200_001, 2.5, new SeededRandom(5));
    const { mean, variance, kurtosis } = moments(samples);
    const n = samples.length;
    expect(Math.abs(mean)).toBeLessThan((5 * 2.5) / Math.sqrt(n));
    expect(Math.abs(variance / 6.25 - 1)).toBeLessThan(5 * Math.sqrt(2 / n));
    expect(Math.abs(kurtosis - 3)).toBeLessThan(5 * Math.sqrt(24 / n));
    // Tail mass beyond 3 sigma: 0.0027.
    const tail = samples.filter((value) => Math.abs(value) > 7.5).length / n;
    expect(Math.abs(tail - 0.0026998)).toBeLessThan(5 * Math.sqrt(0.0027 / n));
  });

  it('uses the platform CSPRNG by default, and refuses bad parameters', () => {
    const a = gaussianSamples(4, 1);
    const b = gaussianSamples(4, 1, cryptoRandomSource());
    expect(Array.from(a)).not.toEqual(Array.from(b));
    expect(() => gaussianSamples(3, -1)).toThrow(DifferentialPrivacyError);
    expect(() => gaussianSamples(-1, 1)).toThrow(DifferentialPrivacyError);
  });
});

describe('DP-FedAvg pieces', () => {
  const random = new SeededRandom(9);
  const delta = Float64Array.from({ length: LAYOUT.valueCount }, () => random.normal());
  delta[COUNTER] = 199;

  it('clips the float entries of the update to L2 norm S and leaves the counter alone', () => {
    const norm = updateNorm(LAYOUT, delta);
    const { delta: clipped, norm: before, clipped: wasClipped } = clipUpdate(LAYOUT, delta, 1);
    expect(before).toBe(norm);
    expect(wasClipped).toBe(true);
    expect(updateNorm(LAYOUT, clipped)).toBeCloseTo(1, 12);
    expect(clipped[COUNTER]).toBe(199);
    expect(clipped[0]! / delta[0]!).toBeCloseTo(1 / norm, 12);
    const small = clipUpdate(LAYOUT, clipped, 5);
    expect(small.clipped).toBe(false);
    expect(Array.from(small.delta)).toEqual(Array.from(clipped));
  });

  it('splits the noise variance over the threshold t: every completed round carries at least the target', () => {
    const settings = { noiseMultiplier: 1.2, clipNorm: 0.5, placement: 'distributed' as const, minContributors: 3 };
    expect(siteNoiseStd(settings)).toBeCloseTo((1.2 * 0.5) / Math.sqrt(3), 15);
    expect(centralNoiseStd(settings)).toBe(0);
    expect(realisedNoiseMultiplier(settings, 3)).toBeCloseTo(1.2, 15);
    expect(realisedNoiseMultiplier(settings, 5)).toBeCloseTo(1.2 * Math.sqrt(5 / 3), 15);
    expect(() => realisedNoiseMultiplier(settings, 2)).toThrow(DifferentialPrivacyError);
    // Five sites each add their share to a zero update: the sum's variance is 5/3 sigma^2 S^2.
    const source = new SeededRandom(21);
    const zero = new Float64Array(LAYOUT.valueCount);
    const sums = new Float64Array(LAYOUT.valueCount * 200);
    for (let repeat = 0; repeat < 200; repeat++) {
      for (let site = 0; site < 5; site++) {
        const noisy = privatizeSiteUpdate(LAYOUT, zero, settings, source).delta;
        for (let i = 0; i < LAYOUT.valueCount; i++) if (i !== COUNTER) sums[repeat * LAYOUT.valueCount + i]! += noisy[i]!;
      }
    }
    const values = sums.filter((_, i) => i % LAYOUT.valueCount !== COUNTER);
    const { variance } = moments(values);
    expect(Math.abs(variance / ((5 / 3) * 0.36) - 1)).toBeLessThan(5 * Math.sqrt(2 / values.length));
  });

  it('adds central noise N(0, (sigma S / k)^2) to the mean; averages clipped updates with equal weights', () => {
    const settings = { noiseMultiplier: 2, clipNorm: 0.1, placement: 'central' as const };
    expect(centralNoiseStd(settings)).toBeCloseTo(0.2, 15);
    expect(siteNoiseStd(settings)).toBe(0);
    expect(realisedNoiseMultiplier(settings, 1)).toBe(2);
    const mean = new Float64Array(LAYOUT.valueCount);
    const collected: number[] = [];
    for (let repeat = 0; repeat < 300; repeat++) {
      mean.fill(0);
      addCentralNoiseToMean(LAYOUT, mean, 4, settings, new SeededRandom(1000 + repeat));
      expect(mean[COUNTER]).toBe(0);
      for (let i = 0; i < mean.length; i++) if (i !== COUNTER) collected.push(mean[i]!);
    }
    const { variance } = moments(Float64Array.from(collected));
    expect(Math.abs(variance / 0.05 ** 2 - 1)).toBeLessThan(5 * Math.sqrt(2 / collected.length));
    const exact = dpMeanDelta(LAYOUT, [delta, delta.map((v) => -v)], { ...settings, noiseMultiplier: 1e-12 }, new SeededRandom(3));
    expect(Math.abs(exact[0]!)).toBeLessThan(1e-12);
    expect(exact[COUNTER]).toBe(0);
  });

  it('declares secure aggregation bounds that hold a clipped, noised value except in a 8-sigma tail', () => {
    const settings = { noiseMultiplier: 1, clipNorm: 0.2, placement: 'distributed' as const, minContributors: 4 };
    const bounds = dpDeltaBounds(SPEC, settings, 199);
    expect(bounds['0.weight']).toBeCloseTo(0.2 + 8 * 0.1, 15);
    expect(bounds['1.num_batches_tracked']).toBe(199);
    expect(() => siteNoiseStd({ ...settings, minContributors: 0 })).toThrow(DifferentialPrivacyError);
  });
});
