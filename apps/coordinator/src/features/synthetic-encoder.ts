/**
 * A synthetic encoder for tests and benchmarks: no model, no ONNX, features in microseconds. Text features are
 * seeded random vectors of the prompt text; a generated "image" is a 1x1 RGBA pixel carrying its label and index, and
 * its features are the class's text direction plus seeded noise and a per-site shift, so the attention module has
 * something to learn. Every process computes the same features from the same inputs.
 */
import { createHash } from 'node:crypto';
import type { EncoderIdentity } from '@facmic/protocol';
import type { EncodedImageFeatures, EncoderImage, FeatureEncoder, LabelledImage } from './feature-encoder.ts';

function seededRandom(seedText: string): () => number {
  const digest = createHash('sha256').update(seedText).digest();
  let state = digest.readUInt32LE(0) || 1;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function gaussian(random: () => number): number {
  const u = Math.max(random(), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random());
}

export interface SyntheticEncoderOptions {
  dim: number;
  /** Noise relative to the class signal (default 0.6). */
  noise?: number;
}

export function syntheticEncoderIdentity(dim: number): EncoderIdentity {
  return { modelId: `synthetic-${dim}`, hash: createHash('sha256').update(`facmic-synthetic-encoder:v1:${dim}`).digest('hex'), featureDim: dim };
}

export function createSyntheticEncoder(options: SyntheticEncoderOptions): FeatureEncoder {
  const dim = options.dim;
  const noise = options.noise ?? 0.6;
  const textCache = new Map<string, Float32Array>();
  const textVector = (prompt: string): Float32Array => {
    let v = textCache.get(prompt);
    if (!v) {
      const random = seededRandom(`text:${prompt}`);
      v = Float32Array.from({ length: dim }, () => gaussian(random));
      textCache.set(prompt, v);
    }
    return v;
  };
  // Class directions are the text features of the class index's prompt, so features match prompts by class order.
  const classVector = (label: number) => textVector(`class:${label}`);
  return {
    identity: syntheticEncoderIdentity(dim),
    source: 'tiny',
    note: `synthetic-${dim}: test features (class direction + noise), no model`,
    encodeTexts(prompts) {
      const out = new Float32Array(prompts.length * dim);
      // Prompt i of a federation describes class i: give it that class's direction plus a prompt-specific part.
      prompts.forEach((prompt, i) => {
        const base = classVector(i);
        const own = textVector(prompt);
        for (let d = 0; d < dim; d++) out[i * dim + d] = (base[d] as number) + 0.1 * (own[d] as number);
      });
      return Promise.resolve(out);
    },
    encodeImages(images: readonly EncoderImage[], onProgress): Promise<EncodedImageFeatures> {
      const rows: number[] = [];
      const errors: EncodedImageFeatures['errors'] = [];
      const features: number[] = [];
      images.forEach((image, index) => {
        const source = image.source;
        if (typeof source === 'string' || source instanceof Uint8Array || source.width !== 1 || source.data.length < 4) {
          errors.push({ index, name: image.name, message: 'the synthetic encoder only reads its own generated images' });
          return;
        }
        const [label, low, high, site] = source.data as unknown as [number, number, number, number];
        const random = seededRandom(`image:${label}:${low}:${high}:${site}`);
        const shift = seededRandom(`site:${site}`);
        const base = classVector(label);
        for (let d = 0; d < dim; d++) features.push((base[d] as number) + noise * gaussian(random) + 0.3 * gaussian(shift));
        rows.push(index);
        onProgress?.(index + 1, images.length);
      });
      return Promise.resolve({ features: Float32Array.from(features), indices: rows, errors });
    },
    generateImages(classNames, perClass, site, seed): LabelledImage[] {
      const siteByte = createHash('sha256').update(`${site}:${seed}`).digest()[0] as number;
      const out: LabelledImage[] = [];
      classNames.forEach((className, label) => {
        for (let i = 0; i < perClass; i++) {
          const index = (i + seed * 7919) & 0xffff;
          out.push({ name: `${className}/${site}-${i}`, label, source: { width: 1, height: 1, data: Uint8Array.of(label, index & 0xff, index >> 8, siteByte) } });
        }
      });
      return out;
    },
    dispose: () => Promise.resolve(),
  };
}
