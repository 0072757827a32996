/**
 * Gaussian noise for DP-FedAvg from a {@link RandomSource} (the platform's CSPRNG by default): Box-Muller on 53-bit
 * uniforms, two normals per pair of uniforms, so the number of random words used is fixed (4 per normal).
 *
 * Limitation (documented in the README): floating-point Gaussian samplers are not exactly Gaussian in their far tails
 * (Mironov 2012 for Laplace; Jin et al. 2022 for Gaussian); the exact remedy is a discrete Gaussian (Canonne, Kamath
 * and Steinke 2020), a later step.
 */
import { DifferentialPrivacyError } from '../errors.ts';
import { cryptoRandomSource, uniform53, type RandomSource } from '../random.ts';

/** `count` independent N(0, std^2) samples. */
export function gaussianSamples(count: number, std: number, source: RandomSource = cryptoRandomSource()): Float64Array {
  if (!Number.isSafeInteger(count) || count < 0) throw new DifferentialPrivacyError('invalid-parameters', `count must be a non-negative integer, got ${count}`);
  if (!(std >= 0) || !Number.isFinite(std)) throw new DifferentialPrivacyError('invalid-parameters', `the noise standard deviation must be finite and non-negative, got ${std}`);
  const out = new Float64Array(count);
  for (let i = 0; i < count; i += 2) {
    const radius = std * Math.sqrt(-2 * Math.log(1 - uniform53(source))); // 1 - u in (0, 1]
    const angle = 2 * Math.PI * uniform53(source);
    out[i] = radius * Math.cos(angle);
    if (i + 1 < count) out[i + 1] = radius * Math.sin(angle);
  }
  return out;
}

/** values += N(0, std^2) on [start, end), in place. */
export function addGaussianNoise(values: Float64Array, std: number, source: RandomSource = cryptoRandomSource(), start = 0, end = values.length): void {
  const noise = gaussianSamples(end - start, std, source);
  for (let i = start; i < end; i++) values[i] = (values[i] as number) + (noise[i - start] as number);
}
