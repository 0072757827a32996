/** The paper's local-round settings (tfjs-free). */

/** Images per local step (the paper's `--batch`). */
export const DEFAULT_BATCH_SIZE = 32;
/** Steps per local round: the paper's `n_iter` (200) minus one, since its loop breaks at i == n_iter. */
export const DEFAULT_STEPS_PER_ROUND = 199;
