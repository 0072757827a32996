/**
 * Scoring each published global model on the federation's global test set, in the background: the round loop never
 * waits for it. The metrics are stored with the model, then announced.
 */
import type { ModuleState } from '@facmic/learning/plain';
import { decodeTensors, type EvalMetrics } from '@facmic/protocol';
import type { Announcer } from './announcer.ts';
import type { Logger } from './logger.ts';
import type { CoordinatorStore, FederationRecord } from './store/store.ts';

/** Computes a global model's accuracy on the federation's global test set (null when it has none). */
export type GlobalEvaluator = (federation: FederationRecord, state: ModuleState) => Promise<EvalMetrics | null>;

export class GlobalEvaluations {
  private readonly pending = new Set<Promise<void>>();
  private stopped = false;

  constructor(
    private readonly store: CoordinatorStore,
    private readonly announcer: Announcer,
    private readonly logger: Logger,
    private readonly evaluate: GlobalEvaluator | undefined,
  ) {}

  /** Scores the model of `round` (decoded from the store unless given). */
  schedule(federationId: string, round: number, state?: ModuleState): void {
    const evaluate = this.evaluate;
    if (!evaluate || this.stopped) return;
    const task = (async () => {
      const federation = this.store.getFederation(federationId);
      if (!federation) return;
      let moduleState = state;
      if (!moduleState) {
        const model = this.store.getGlobalModel(federationId, round);
        if (!model) return;
        moduleState = decodeTensors(model.weights).tensors;
      }
      const metrics = await evaluate(federation, moduleState);
      if (!metrics || this.stopped || !this.store.getFederation(federationId)) return;
      this.store.setGlobalModelMetrics(federationId, round, metrics);
      this.logger.info('global test', { federation: federationId, round, accuracy: metrics.accuracy, balancedAccuracy: metrics.balancedAccuracy });
      if (round > 0) this.announcer.roundChanged(federationId, round);
      this.announcer.federationChanged(federationId);
    })().catch((error: unknown) => {
      this.logger.error('global test evaluation failed', { federation: federationId, round, error });
    });
    this.pending.add(task);
    void task.finally(() => this.pending.delete(task));
  }

  /** Resolves when pending evaluations are done (tests). */
  async idle(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }

  /** Stops scheduling; results that arrive later are dropped. Awaits the running ones. */
  async shutdown(): Promise<void> {
    this.stopped = true;
    await Promise.allSettled([...this.pending]);
  }
}
