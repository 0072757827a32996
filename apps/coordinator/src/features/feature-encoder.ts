/**
 * What the coordinator needs of an image/text encoder: its identity (sites compare hashes), prompt features,
 * image features, and generated class images for demos. Two implementations: the frozen CLIP of `@facmic/encoder`
 * (`clip-encoder.ts`) and a fast synthetic one for tests and benchmarks (`synthetic-encoder.ts`).
 */
import type { EncoderIdentity } from '@facmic/protocol';

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
  dispose(): Promise<void>;
}
