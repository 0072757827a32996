/**
 * What the coordinator needs of an image/text encoder: its identity (sites compare hashes), prompt features,
 * image features, and generated class images for demos. Two implementations: the frozen CLIP of `@facmic/encoder`
 * (`clip-encoder.ts`) and a fast synthetic one for tests and benchmarks (`synthetic-encoder.ts`).
 */
import type { EncoderDtype, EncoderIdentity } from '@facmic/protocol';

/** An image for the encoder: a file path, encoded bytes (PNG, JPEG...), or RGBA pixels. */
export type EncoderImageSource = string | Uint8Array | { width: number; height: number; data: Uint8Array | Uint8ClampedArray };

export interface EncoderImage {
  name: string;
  source: EncoderImageSource;
}

export interface EncodedImageFeatures {
  /** Row-major [indices.length, dim]. */
  features: Float32Array;
  /** Input position of each row (images that failed have none). */
  indices: number[];
  errors: { index: number; name: string; message: string }[];
}

export interface LabelledImage extends EncoderImage {
  label: number;
}

/** Where the coordinator's encoder came from. */
export type EncoderSourceKind = 'env' | 'mirror' | 'tiny';

export interface FeatureEncoder {
  readonly identity: EncoderIdentity;
  readonly source: EncoderSourceKind;
  /** Plain words on the model and what it means for accuracy (logged at start, shown in `/api/info`). */
  readonly note: string;
  encodeTexts(prompts: readonly string[]): Promise<Float32Array>;
  encodeImages(images: readonly EncoderImage[], onProgress?: (done: number, total: number) => void): Promise<EncodedImageFeatures>;
  /** Generated class images (deterministic in site and seed), `perClass` per class, labelled. */
  generateImages(classNames: readonly string[], perClass: number, site: string, seed: number): LabelledImage[];
  /**
   * The same model in another dtype (a federation setting), loaded on first use and kept; absent for encoders with
   * one dtype only (the synthetic one). Refused with a reason when the model has no files of that dtype.
   */
  withDtype?(dtype: EncoderDtype): Promise<FeatureEncoder>;
  dispose(): Promise<void>;
}

/** The encoder of a federation's dtype (`encoderDtype` omitted: the coordinator's default one). */
export async function encoderForDtype(encoder: FeatureEncoder, dtype: EncoderDtype | undefined): Promise<FeatureEncoder> {
  if (dtype === undefined || !encoder.withDtype || (encoder.identity.dtype ?? 'fp32') === dtype) return encoder;
  return encoder.withDtype(dtype);
}
