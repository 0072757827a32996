/**
 * How many images one model run takes when the caller does not fix it (`EncodeImagesOptions.batchSize`).
 *
 * Without an explicit `batchSize` per call, a model run aims at this much work: the first run is one image (it times
 * this computer), later runs take as many images as fit, up to the encoder's `batchSize`. Features are stored after
 * each run, so with a full-size CLIP on a CPU (seconds per image) every image is kept as soon as it is encoded and a
 * closed tab resumes image by image; the tiny model still runs full batches.
 */
export const TARGET_BATCH_MS = 2000;

/** Images in the next model run: as many as take about `targetMs` at the measured time per image, 1..`max`. */
export function nextBatchSize(msPerImage: number, max: number, targetMs: number = TARGET_BATCH_MS): number {
  if (!(msPerImage > 0)) return max;
  return Math.max(1, Math.min(max, Math.floor(targetMs / msPerImage)));
}
