/**
 * Adam's state kept across rounds, reloads and reconnections, as the paper's code keeps one optimiser per site for the
 * whole run (`main.py` 89-90). In one process the site client keeps its optimizer; an `OptimizerStore` (IndexedDB next
 * to the features in the browser, a file next to the data for a Node site) keeps it across a reload or a restart.
 *
 * When it is lost (a new browser, cleared site data, a corrupt or foreign file): the site starts a fresh Adam, as in
 * round 1 (step 0, zero moments). Nothing fails: the first steps after that are larger (Adam's bias correction starts
 * again), the global model absorbs it at the next aggregation, and the `optimizer` event says so.
 */
import type { AdamState, AdamL2 } from '@facmic/learning';
import { moduleSpec } from '@facmic/learning/plain';
import type { FederationConfig } from '@facmic/protocol';
import type { SiteEventMap } from './events.ts';
import { createOptimizer } from './train-round.ts';

/** Adam's state after the site trained `round`. */
export interface SavedOptimizer {
  readonly round: number;
  readonly state: AdamState;
}

export interface OptimizerStore {
  load(): Promise<SavedOptimizer | null>;
  save(saved: SavedOptimizer): Promise<void>;
}

export interface OptimizerRestore {
  /** The round whose state was restored, or null: a fresh Adam. */
  readonly fromRound: number | null;
  readonly message: string;
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Loads the stored state into a fresh `optimizer`; says what happened (never throws: a bad state means a fresh Adam). */
export async function restoreOptimizer(optimizer: AdamL2, store: OptimizerStore | undefined, federation: FederationConfig, round: number): Promise<OptimizerRestore> {
  if (store === undefined) return { fromRound: null, message: 'no optimizer store: a fresh Adam' };
  let saved: SavedOptimizer | null;
  try {
    saved = await store.load();
  } catch (error) {
    return { fromRound: null, message: `the stored Adam state could not be read (${errorText(error)}): a fresh Adam, as in round 1` };
  }
  if (saved === null) return { fromRound: null, message: 'no stored Adam state: a fresh Adam, as in round 1' };
  // A state of this very round (trained, then the tab reloaded before the update was in) is the closest there is.
  if (!(Number.isInteger(saved.round) && saved.round >= 1 && saved.round <= round)) {
    return { fromRound: null, message: `the stored Adam state is of round ${saved.round}, after round ${round}: a fresh Adam` };
  }
  const { kind, featureDim } = federation.module;
  const shapes = Object.fromEntries(moduleSpec(kind, featureDim).filter((entry) => entry.kind === 'parameter').map((entry) => [entry.name, entry.shape]));
  try {
    optimizer.loadState(saved.state, shapes);
  } catch (error) {
    return { fromRound: null, message: `the stored Adam state does not fit this federation's module (${errorText(error)}): a fresh Adam` };
  }
  return { fromRound: saved.round, message: `Adam state of round ${saved.round} restored (step ${saved.state.step})` };
}

/** Stores the optimizer's state after `round`; a failure is returned as a sentence (the round goes on). */
export async function saveOptimizer(optimizer: AdamL2, store: OptimizerStore | undefined, round: number): Promise<string | null> {
  if (store === undefined) return null;
  try {
    await store.save({ round, state: await optimizer.exportState() });
    return null;
  } catch (error) {
    return `Adam state of round ${round} could not be stored (${errorText(error)}); after a reload this site would start a fresh Adam`;
  }
}

/** A store in memory (tests; a process that never restarts). */
export function createMemoryOptimizerStore(): OptimizerStore & { saved: SavedOptimizer | null } {
  const store = {
    saved: null as SavedOptimizer | null,
    load: () => Promise.resolve(store.saved),
    save: (saved: SavedOptimizer) => {
      store.saved = saved;
      return Promise.resolve();
    },
  };
  return store;
}

/** What the site says about its optimizer (the `optimizer` site event). */
export type OptimizerNotice = SiteEventMap['optimizer'];

/**
 * A site's one optimizer for the whole federation: created and restored from the store when the site first trains,
 * stored after every round, freed when the site closes.
 */
export class SiteOptimizer {
  private optimizer: AdamL2 | null = null;

  constructor(private readonly store: OptimizerStore | undefined, private readonly notify: (notice: OptimizerNotice) => void) {}

  async forRound(federation: FederationConfig, round: number): Promise<AdamL2> {
    if (this.optimizer !== null) return this.optimizer;
    const optimizer = createOptimizer(federation.training);
    this.optimizer = optimizer;
    const restored = await restoreOptimizer(optimizer, this.store, federation, round);
    this.notify({ round, restoredFromRound: restored.fromRound, message: restored.message });
    return optimizer;
  }

  async trained(optimizer: AdamL2, round: number): Promise<void> {
    const problem = await saveOptimizer(optimizer, this.store, round);
    if (problem !== null) this.notify({ round, restoredFromRound: null, message: problem });
  }

  /** Frees the optimizer once `idle` resolves (a training step may still be unwinding). */
  disposeAfter(idle: Promise<void>): void {
    const optimizer = this.optimizer;
    this.optimizer = null;
    if (optimizer) void idle.then(() => { optimizer.dispose(); });
  }
}
