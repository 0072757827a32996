/** Adam settings (tfjs-free, so configuration code can use them without loading TensorFlow.js). */

export interface AdamOptions {
  readonly learningRate: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly epsilon: number;
  readonly weightDecay: number;
}

/** The paper's optimiser settings. */
export const PAPER_ADAM: Readonly<AdamOptions> = Object.freeze({ learningRate: 5e-5, beta1: 0.9, beta2: 0.98, epsilon: 1e-6, weightDecay: 0.02 });
