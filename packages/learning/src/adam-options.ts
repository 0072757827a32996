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

/**
 * What Adam carries from one round to the next (torch's `state`): the step count t and, per parameter (by the module's
 * state name), the first and second moments. Plain data, so a site can store it with its features and load it after a
 * reload. Empty moments with step 0 is a fresh optimiser.
 */
export interface AdamState {
  readonly step: number;
  readonly firstMoments: Readonly<Record<string, { readonly shape: readonly number[]; readonly data: Float32Array }>>;
  readonly secondMoments: Readonly<Record<string, { readonly shape: readonly number[]; readonly data: Float32Array }>>;
}
