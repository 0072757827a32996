/**
 * The running aggregate of each federation's round under way. An accepted submission is decoded and checked once
 * (`submission-check.ts`), stored, then added here to its round's aggregate (a float64 weighted sum for FedAvg), so
 * closing a round leaves only the division, the encoding and the persistence.
 *
 * The stored submissions stay the source of truth: `finish` checks that the aggregate holds exactly the round's
 * stored submissions, in their order, and rebuilds it from the store when it does not (after a restart, or if an add
 * was lost), so the published model is the same bits either way. Plain data in and out (ids, counts, typed arrays):
 * the ingest could run in a worker thread.
 *
 * After a restart the open round's sum is rebuilt in slices (`rebuildInSlices`: one stored update per turn of the
 * event loop), so the API answers at once whatever the history; updates accepted meanwhile wait and join after the
 * stored ones, in the store's order. A round that closes before the rebuild is done is rebuilt at once by `finish`.
 */
import { AggregationError, type AggregationStrategy, type ModuleState, type UpdateAccumulator } from '@facmic/learning/plain';
import { decodeTensors, type TensorSpec } from '@facmic/protocol';
import { updateBase } from './update-base.ts';
import type { CoordinatorStore } from './store/store.ts';

export interface AcceptedUpdate {
  readonly siteId: string;
  readonly sampleCount: number;
  readonly state: ModuleState;
}

export interface RoundAggregate {
  readonly state: ModuleState;
  /** Sites whose updates it holds, in order of arrival. */
  readonly contributors: readonly string[];
  readonly totalSamples: number;
}

interface OpenAggregate {
  readonly round: number;
  readonly accumulator: UpdateAccumulator;
  readonly contributors: string[];
  totalSamples: number;
}

interface Rebuilding {
  readonly round: number;
  readonly pending: AcceptedUpdate[];
}

export class RoundIngest {
  private readonly open = new Map<string, OpenAggregate>();
  private readonly rebuilding = new Map<string, Rebuilding>();

  constructor(
    private readonly store: CoordinatorStore,
    private readonly strategy: AggregationStrategy,
  ) {}

  /** Adds an accepted (already stored) update to its round's aggregate. */
  add(federationId: string, round: number, update: AcceptedUpdate): void {
    const rebuilding = this.rebuilding.get(federationId);
    if (rebuilding?.round === round) {
      rebuilding.pending.push(update);
      return;
    }
    let aggregate = this.open.get(federationId);
    if (aggregate?.round !== round) {
      aggregate = { round, accumulator: this.strategy.createAccumulator(), contributors: [], totalSamples: 0 };
      this.open.set(federationId, aggregate);
    }
    try {
      aggregate.accumulator.add({ state: update.state, numSamples: update.sampleCount, clientId: update.siteId });
    } catch (error) {
      // The update is stored: drop the aggregate, so that `finish` rebuilds it from the store.
      this.open.delete(federationId);
      throw error;
    }
    aggregate.contributors.push(update.siteId);
    aggregate.totalSamples += update.sampleCount;
  }

  /**
   * Builds the round's aggregate again from its stored submissions, one per turn of the event loop (after a
   * restart). Resolves when done, or when the rebuild was overtaken (the round closed, the federation was forgotten).
   */
  async rebuildInSlices(federationId: string, round: number, spec: TensorSpec): Promise<void> {
    this.open.delete(federationId);
    const state: Rebuilding = { round, pending: [] };
    this.rebuilding.set(federationId, state);
    const current = () => this.rebuilding.get(federationId) === state;
    const aggregate: OpenAggregate = { round, accumulator: this.strategy.createAccumulator(), contributors: [], totalSamples: 0 };
    try {
      for (const siteId of this.store.listSubmitters(federationId, round)) {
        await new Promise((resolve) => setImmediate(resolve));
        if (!current()) return;
        const submission = this.store.getSubmission(federationId, round, siteId);
        if (!submission?.weights) throw new AggregationError('no-updates', `the weights of ${siteId} were pruned`);
        const decoded = decodeTensors(submission.weights, { expected: spec, copy: false, base: updateBase(this.store, federationId, round, spec) });
        aggregate.accumulator.add({ state: decoded.tensors, numSamples: submission.sampleCount, clientId: siteId });
        aggregate.contributors.push(siteId);
        aggregate.totalSamples += submission.sampleCount;
      }
      if (!current()) return;
      this.rebuilding.delete(federationId);
      this.open.set(federationId, aggregate);
      for (const update of state.pending) this.add(federationId, round, update);
    } finally {
      if (current()) this.rebuilding.delete(federationId);
    }
  }

  /** Whether a rebuild after a restart is still under way (tests, `/healthz`). */
  rebuildsUnderWay(): number {
    return this.rebuilding.size;
  }

  /** Builds the round's aggregate again from its stored submissions, at once. */
  rebuild(federationId: string, round: number, spec: TensorSpec): void {
    this.rebuilding.delete(federationId);
    this.open.delete(federationId);
    const aggregate: OpenAggregate = { round, accumulator: this.strategy.createAccumulator(), contributors: [], totalSamples: 0 };
    const base = updateBase(this.store, federationId, round, spec);
    for (const submission of this.store.listSubmissions(federationId, round, { withWeights: true })) {
      if (!submission.weights) throw new AggregationError('no-updates', `the weights of ${submission.siteId} were pruned`);
      const state = decodeTensors(submission.weights, { expected: spec, base }).tensors;
      aggregate.accumulator.add({ state, numSamples: submission.sampleCount, clientId: submission.siteId });
      aggregate.contributors.push(submission.siteId);
      aggregate.totalSamples += submission.sampleCount;
    }
    this.open.set(federationId, aggregate);
  }

  /** Sites whose updates the round's aggregate holds (empty when it has none in memory). */
  contributors(federationId: string, round: number): readonly string[] {
    const aggregate = this.open.get(federationId);
    return aggregate?.round === round ? aggregate.contributors : [];
  }

  /**
   * The round's global state and who contributed, from exactly its stored submissions; the aggregate is then
   * forgotten. Throws AggregationError (no submissions, pruned weights) or TensorEncodingError (a damaged store).
   */
  finish(federationId: string, round: number, spec: TensorSpec): RoundAggregate {
    const stored = this.store.listSubmitters(federationId, round);
    const held = this.contributors(federationId, round);
    if (held.length !== stored.length || held.some((id, i) => id !== stored[i])) this.rebuild(federationId, round, spec);
    const aggregate = this.open.get(federationId) as OpenAggregate;
    this.open.delete(federationId);
    return { state: aggregate.accumulator.result(), contributors: aggregate.contributors, totalSamples: aggregate.totalSamples };
  }

  /** Drops a federation's aggregate (round abandoned, federation deleted). */
  forget(federationId: string): void {
    this.rebuilding.delete(federationId);
    this.open.delete(federationId);
  }
}
