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
 *
 * With a submission worker (`remote`), a round whose updates all went through it keeps its sum there: the worker adds
 * each decoded update after its commit, and the decoded state never comes back to this thread (`add` with
 * `state: null` records only who contributed). `finish` then answers 'pending', asks the worker for its averaged sum,
 * and calls `onRemoteSum` when it is here; the next `finish` checks the worker's contributors against the stored
 * submissions, exactly as for a sum kept here. A round with updates summed in both places (an 8-bit update, decoded
 * on this thread, beside others; a worker that failed mid-round), or a worker that cannot answer, is rebuilt from the
 * store.
 */
import { AggregationError, type AggregationStrategy, type ModuleState, type UpdateAccumulator } from '@facmic/learning/plain';
import { decodeTensors, type TensorSpec } from '@facmic/protocol';
import { updateBase } from './update-base.ts';
import type { CoordinatorStore } from './store/store.ts';

export interface AcceptedUpdate {
  readonly siteId: string;
  readonly sampleCount: number;
  /** The decoded update, or null when the submission worker added it to the sum it keeps for the round. */
  readonly state: ModuleState | null;
}

/** A round's sum as the submission worker kept it: averaged, with its contributors in the order they were added. */
export interface RemoteSum {
  readonly state: ModuleState;
  readonly contributors: readonly string[];
  readonly totalSamples: number;
}

/** The submission worker's side of the running sums (`submission-writer.ts`). */
export interface RemoteSums {
  /** Whether updates sent to the worker now can be summed there. */
  readonly usable: boolean;
  /** Its averaged sum of the round, after the updates sent before this call; null when it holds none (or it broke). */
  take(federationId: string, round: number): Promise<RemoteSum | null>;
  /** Drops the sum it keeps for the federation. */
  forget(federationId: string): void;
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
  /** Updates summed here, and in the submission worker. */
  local: number;
  remote: number;
}

function newAggregate(round: number, strategy: AggregationStrategy): OpenAggregate {
  return { round, accumulator: strategy.createAccumulator(), contributors: [], totalSamples: 0, local: 0, remote: 0 };
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((id, i) => id === b[i]);
}

interface Rebuilding {
  readonly round: number;
  readonly pending: AcceptedUpdate[];
}

export class RoundIngest {
  private readonly open = new Map<string, OpenAggregate>();
  private readonly rebuilding = new Map<string, Rebuilding>();
  /** Requests for the worker's sum under way, and the answers not yet used, per federation. */
  private readonly taking = new Map<string, number>();
  private readonly taken = new Map<string, { round: number; sum: RemoteSum | null }>();
  /** The submission worker's sums (set by the engine when there is a worker). */
  remote: RemoteSums | null = null;
  /** Called when the worker's sum a `finish` waits for is here (the round driver aggregates again). */
  onRemoteSum: ((federationId: string, round: number) => void) | null = null;

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
      aggregate = newAggregate(round, this.strategy);
      this.open.set(federationId, aggregate);
    }
    if (update.state === null) aggregate.remote += 1;
    else {
      try {
        aggregate.accumulator.add({ state: update.state, numSamples: update.sampleCount, clientId: update.siteId });
      } catch (error) {
        // The update is stored: drop the aggregate, so that `finish` rebuilds it from the store.
        this.open.delete(federationId);
        throw error;
      }
      aggregate.local += 1;
    }
    aggregate.contributors.push(update.siteId);
    aggregate.totalSamples += update.sampleCount;
  }

  /**
   * Whether an update of the round sent to the submission worker now should be summed there: the worker can, and
   * nothing of the round is summed here (no rebuild under way, no update decoded on this thread).
   */
  sumsInWorker(federationId: string, round: number): boolean {
    if (this.remote?.usable !== true || this.rebuilding.has(federationId)) return false;
    const aggregate = this.open.get(federationId);
    return aggregate?.round !== round || aggregate.local === 0;
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
    const aggregate = newAggregate(round, this.strategy);
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
        aggregate.local += 1;
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
    this.remote?.forget(federationId);
    const aggregate = newAggregate(round, this.strategy);
    const base = updateBase(this.store, federationId, round, spec);
    for (const submission of this.store.listSubmissions(federationId, round, { withWeights: true })) {
      if (!submission.weights) throw new AggregationError('no-updates', `the weights of ${submission.siteId} were pruned`);
      const state = decodeTensors(submission.weights, { expected: spec, base }).tensors;
      aggregate.accumulator.add({ state, numSamples: submission.sampleCount, clientId: submission.siteId });
      aggregate.contributors.push(submission.siteId);
      aggregate.totalSamples += submission.sampleCount;
      aggregate.local += 1;
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
   * forgotten. 'pending' while the submission worker's sum is on its way (`onRemoteSum` is called when it is here).
   * Throws AggregationError (no submissions, pruned weights) or TensorEncodingError (a damaged store).
   */
  finish(federationId: string, round: number, spec: TensorSpec): RoundAggregate | 'pending' {
    const stored = this.store.listSubmitters(federationId, round);
    const taken = this.taken.get(federationId);
    if (taken?.round === round) {
      this.taken.delete(federationId);
      if (taken.sum !== null && sameList(taken.sum.contributors, stored)) {
        this.open.delete(federationId);
        return { state: taken.sum.state, contributors: [...taken.sum.contributors], totalSamples: taken.sum.totalSamples };
      }
      this.rebuild(federationId, round, spec);
    } else {
      const open = this.open.get(federationId);
      if (this.remote !== null && !this.rebuilding.has(federationId) && open?.round === round && open.local === 0 && open.remote > 0) {
        // Every update the round holds is summed in the worker (which also counts any stored while the round closed).
        this.requestRemote(this.remote, federationId, round);
        return 'pending';
      }
      if (!sameList(this.contributors(federationId, round), stored) || (open !== undefined && open.remote > 0)) this.rebuild(federationId, round, spec);
    }
    const aggregate = this.open.get(federationId) as OpenAggregate;
    this.open.delete(federationId);
    return { state: aggregate.accumulator.result(), contributors: aggregate.contributors, totalSamples: aggregate.totalSamples };
  }

  private requestRemote(remote: RemoteSums, federationId: string, round: number): void {
    if (this.taking.get(federationId) === round) return;
    this.taking.set(federationId, round);
    const answered = (sum: RemoteSum | null) => {
      if (this.taking.get(federationId) !== round) return; // forgotten meanwhile
      this.taking.delete(federationId);
      this.taken.set(federationId, { round, sum });
      this.onRemoteSum?.(federationId, round);
    };
    remote.take(federationId, round).then(answered, () => { answered(null); });
  }

  /** Drops a federation's aggregate (round abandoned, federation deleted). */
  forget(federationId: string): void {
    this.rebuilding.delete(federationId);
    this.open.delete(federationId);
    this.taking.delete(federationId);
    this.taken.delete(federationId);
    this.remote?.forget(federationId);
  }
}
