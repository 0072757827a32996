import { describe, expect, it } from 'vitest';
import { SeededRandom, initialModuleState, moduleSpec, moduleValueCount } from '@facmic/learning/plain';
import { EncodingError } from './errors.ts';
import { adamStepBound, applyMeanDelta, decodeFixedPointSum, deltaBounds, encodeFixedPoint, fixedPointErrorBound, fixedPointScale, inputLayout, maxRelativeError, stateDelta, type FixedPointParameters } from './fixed-point.ts';

const SPEC = moduleSpec('facmic', 8);
const LAYOUT = inputLayout(SPEC);

function sumInputs(inputs: readonly Uint32Array[]): Uint32Array {
  const sum = new Uint32Array(inputs[0]!.length);
  for (const input of inputs) for (let i = 0; i < sum.length; i++) sum[i] = sum[i]! + input[i]!;
  return sum;
}

describe('input layout', () => {
  it('places every state entry of the module in spec order, then the weight word', () => {
    const layout = inputLayout(moduleSpec('facmic', 512));
    expect(layout.valueCount).toBe(moduleValueCount('facmic', 512));
    expect(layout.valueCount).toBe(527_361);
    expect(layout.length).toBe(527_362);
    expect(layout.entries.map((entry) => entry.name)).toEqual(moduleSpec('facmic', 512).map((entry) => entry.name));
    expect(layout.entries[1]).toMatchObject({ name: '0.bias', offset: 262_144, length: 512 });
  });
});

describe('fixed-point encoding', () => {
  const bounds = Object.fromEntries(SPEC.map((entry) => [entry.name, entry.kind === 'counter' ? 10 : 0.5]));
  const parameters: FixedPointParameters = { maxWeight: 1000, siteCount: 4, bounds };

  it('decodes the weighted mean of the deltas from the sum, negative values and the weight word included', () => {
    const random = new SeededRandom(1);
    const deltas = Array.from({ length: 4 }, () => Float64Array.from({ length: LAYOUT.valueCount }, () => random.next() - 0.5));
    const weights = [1000, 3, 250, 77];
    const sum = sumInputs(deltas.map((delta, k) => encodeFixedPoint(LAYOUT, parameters, delta, weights[k]!).input));
    const decoded = decodeFixedPointSum(LAYOUT, parameters, sum, 4);
    const weightSum = weights.reduce((a, b) => a + b, 0);
    expect(decoded.weightSum).toBe(weightSum);
    for (let i = 0; i < LAYOUT.valueCount; i++) {
      const exact = deltas.reduce((s, delta, k) => s + weights[k]! * delta[i]!, 0) / weightSum;
      const entry = LAYOUT.entries.find((e) => i >= e.offset && i < e.offset + e.length)!;
      expect(Math.abs(decoded.meanDelta[i]! - exact)).toBeLessThanOrEqual(fixedPointErrorBound(parameters, bounds[entry.name]!, 4, weightSum));
    }
  });

  it('does not wrap around at the extremes: every site at full weight on the bound', () => {
    for (const sign of [1, -1]) {
      const delta = new Float64Array(LAYOUT.valueCount).fill(sign * 0.5);
      const sum = sumInputs(Array.from({ length: 4 }, () => encodeFixedPoint(LAYOUT, parameters, delta, 1000).input));
      const decoded = decodeFixedPointSum(LAYOUT, parameters, sum, 4);
      expect(Math.abs(decoded.meanDelta[0]! - sign * 0.5)).toBeLessThan(1e-8);
    }
    expect(fixedPointScale(parameters, 0.5) * 4 * 1000 * 0.5 + 2).toBeLessThan(2 ** 31);
  });

  it('clips values outside the declared bound and counts them; clips the weight to maxWeight', () => {
    const delta = new Float64Array(LAYOUT.valueCount);
    delta[0] = 3;
    delta[1] = -0.7;
    const encoded = encodeFixedPoint(LAYOUT, parameters, delta, 5000);
    expect(encoded.clipped).toBe(2);
    expect(encoded.weight).toBe(1000);
    const decoded = decodeFixedPointSum(LAYOUT, parameters, encoded.input, 1);
    expect(decoded.meanDelta[0]).toBeCloseTo(0.5, 8);
    expect(decoded.meanDelta[1]).toBeCloseTo(-0.5, 8);
  });

  it('refuses a wrongly unmasked sum instead of publishing it', () => {
    const encoded = encodeFixedPoint(LAYOUT, parameters, new Float64Array(LAYOUT.valueCount), 10);
    const garbage = encoded.input.slice();
    garbage[LAYOUT.weightIndex] = 3_000_000_000;
    expect(() => decodeFixedPointSum(LAYOUT, parameters, garbage, 1)).toThrow(/unmasking went wrong/);
  });

  it('refuses parameters whose sum could overflow the ring, and bounds that do not match the module', () => {
    expect(() => encodeFixedPoint(LAYOUT, { ...parameters, siteCount: 100, maxWeight: 30_000_000 }, new Float64Array(LAYOUT.valueCount), 1)).toThrow(EncodingError);
    expect(() => encodeFixedPoint(LAYOUT, { ...parameters, bounds: { ...bounds, extra: 1 } }, new Float64Array(LAYOUT.valueCount), 1)).toThrow(/does not have/);
    const { '0.bias': _, ...missing } = bounds;
    expect(() => encodeFixedPoint(LAYOUT, { ...parameters, bounds: missing }, new Float64Array(LAYOUT.valueCount), 1)).toThrow(/0.bias/);
    expect(() => encodeFixedPoint(LAYOUT, parameters, new Float64Array(LAYOUT.valueCount).fill(Number.NaN), 1)).toThrow(/non-finite/);
    expect(() => encodeFixedPoint(LAYOUT, parameters, new Float64Array(LAYOUT.valueCount), 0)).toThrow(EncodingError);
  });

  it('turns states into deltas and back, counters rounded', () => {
    const global = initialModuleState('facmic', 8, 1);
    const local = initialModuleState('facmic', 8, 2);
    local['1.num_batches_tracked']!.data[0] = 199;
    const delta = stateDelta(LAYOUT, local, global);
    const back = applyMeanDelta(LAYOUT, global, delta);
    expect(maxRelativeError(back, local)).toBe(0);
    expect(Array.from(back['1.num_batches_tracked']!.data)).toEqual([199]);
  });
});

describe('declared delta bounds', () => {
  /** torch Adam with L2 decay in the gradient, one coordinate. */
  function adamTrajectory(gradients: readonly number[], lr: number, betas: [number, number], eps = 1e-6): number {
    let m = 0;
    let v = 0;
    let x = 0;
    gradients.forEach((g, k) => {
      const t = k + 1;
      m = betas[0] * m + (1 - betas[0]) * g;
      v = betas[1] * v + (1 - betas[1]) * g * g;
      x -= (lr * (m / (1 - betas[0] ** t))) / (Math.sqrt(v / (1 - betas[1] ** t)) + eps);
    });
    return x;
  }

  it('bounds how far Adam moves a parameter in a round, tightly', () => {
    const betas: [number, number] = [0.9, 0.98];
    const bound = adamStepBound(betas);
    expect(bound).toBeCloseTo(0.1 / Math.sqrt((1 - 0.81 / 0.98) * 0.02), 6);
    const lr = 5e-5;
    const steps = 199;
    const random = new SeededRandom(11);
    for (let trial = 0; trial < 200; trial++) {
      const gradients = Array.from({ length: steps }, () => (random.next() < 0.5 ? -1 : 1) * Math.exp(8 * random.normal()));
      expect(Math.abs(adamTrajectory(gradients, lr, betas))).toBeLessThanOrEqual(steps * lr * bound);
    }
    // The Cauchy-Schwarz equality case reaches the per-step bound at the last step.
    const t = 400;
    const worst = Array.from({ length: t }, (_, k) => (betas[0] / betas[1]) ** (t - 1 - k));
    const lastStep = adamTrajectory(worst, 1, betas, 0) - adamTrajectory(worst.slice(0, -1), 1, betas, 0);
    expect(Math.abs(lastStep)).toBeGreaterThan(0.99 * bound);
    expect(adamStepBound([0.9, 0.999])).toBeGreaterThan(1);
  });

  it('gives parameters the Adam bound, running statistics the buffer bound, counters the steps', () => {
    const bounds = deltaBounds(moduleSpec('facmic', 4), { learningRate: 5e-5, betas: [0.9, 0.98], stepsPerRound: 199 });
    expect(bounds['0.weight']).toBeCloseTo(199 * 5e-5 * adamStepBound([0.9, 0.98]), 15);
    expect(bounds['1.running_var']).toBe(8);
    expect(bounds['1.num_batches_tracked']).toBe(199);
  });
});
