/**
 * `round:submit` after schema validation: the submission check (`submission-check.ts`, pure: decoded and checked
 * once), the store write (weights and metadata, before the ack), the running aggregate, the announcements.
 *
 * Sites use the grouped path: every submission checked in one turn of the event loop is written in one transaction,
 * so many updates share one durable commit (one fsync) instead of blocking the event loop once each; each is
 * acknowledged when its commit is done. A round that closed between the check and the commit (its deadline passed)
 * refuses the submission with ROUND_CLOSED, so an acknowledged update is always in its round. A second submission of
 * the same site and round waits for the first one's commit, then is checked again (a duplicate, or refused).
 *
 * With a submission worker (`submission-writer.ts`, a file store), the main thread checks only the submission's place
 * (federation, round, participant, size) and hands the bytes to the worker, which decodes, checks and commits them
 * off the main thread; the ack waits for its answer. Where the round's sum is kept in the worker (`round-ingest.ts`,
 * `sumsInWorker`), the worker adds the update to it and the answer has no state; otherwise the decoded state it sends
 * back joins the running aggregate here if the round is still open (else the close already counted the stored row,
 * rebuilding from the store).
 */
import { openRound, type ParsedSubmission, type TensorSpec } from '@facmic/protocol';
import type { Announcer } from './announcer.ts';
import type { Clock } from './clock.ts';
import type { Logger } from './logger.ts';
import { accept, refuse, type Outcome } from './outcome.ts';
import type { RoundDriver } from './round-driver.ts';
import type { SubmissionWriter } from './submission-writer.ts';
import type { CoordinatorStore, FederationRecord } from './store/store.ts';
import { checkSubmission, moduleSpecOf, type CheckedSubmission, type SubmissionRefusalCode } from './submission-check.ts';
import { updateBase } from './update-base.ts';

export type SubmitOutcome = Outcome<{ round: number; checksum: string; duplicate: boolean }, SubmissionRefusalCode>;

interface CheckedUpdate {
  readonly siteId: string;
  readonly federation: FederationRecord;
  readonly submission: ParsedSubmission;
  readonly checked: Extract<CheckedSubmission, { kind: 'update' }>;
}

/** An update the submission worker decoded, stored and added to the round's sum it keeps. */
interface AcceptedElsewhere {
  readonly siteId: string;
  readonly federation: FederationRecord;
  readonly submission: ParsedSubmission;
  readonly checksum: string;
}

/** A submission whose place is checked; its weights are checked by the submission worker. */
interface Place {
  readonly siteId: string;
  readonly federation: FederationRecord;
  readonly submission: ParsedSubmission;
  readonly spec: TensorSpec;
  readonly maxBytes: number;
}

interface Queued extends CheckedUpdate {
  resolve: (outcome: SubmitOutcome) => void;
  reject: (error: unknown) => void;
}

export interface SubmissionDeskOptions {
  store: CoordinatorStore;
  clock: Clock;
  logger: Logger;
  announcer: Announcer;
  rounds: RoundDriver;
  /** Decodes, checks and stores updates off the main thread (absent: all on the main thread). */
  writer?: SubmissionWriter | null;
}

export class SubmissionDesk {
  private queue: Queued[] = [];
  private scheduled = false;
  private readonly inFlight = new Map<string, Promise<SubmitOutcome>>();
  /** Updates with the submission worker, per federation. */
  private readonly writing = new Map<string, number>();

  constructor(private readonly options: SubmissionDeskOptions) {}

  /** Checks, stores in a transaction of its own, and adds to the aggregate, synchronously (tests, benchmarks). */
  submitNow(siteId: string, sessionFederationId: string, submission: ParsedSubmission): SubmitOutcome {
    const checked = this.check(siteId, sessionFederationId, submission);
    if ('place' in checked) throw new Error('unreachable: the weights are checked on this thread');
    if (!('update' in checked)) return checked;
    this.options.store.transaction(() => { this.write(checked.update); });
    return this.accepted(checked.update);
  }

  /** Checks now; stores with the other submissions of this turn of the event loop (one commit); resolves after it. */
  submit(siteId: string, sessionFederationId: string, submission: ParsedSubmission): Promise<SubmitOutcome> {
    const key = `${sessionFederationId}\u0000${submission.round}\u0000${siteId}`;
    const earlier = this.inFlight.get(key);
    if (earlier) return earlier.then(() => this.submit(siteId, sessionFederationId, submission), () => this.submit(siteId, sessionFederationId, submission));
    return this.track(key, this.route(siteId, sessionFederationId, submission));
  }

  /** To the submission worker, or into this turn's commit; after a worker failure again, on this thread. */
  private route(siteId: string, sessionFederationId: string, submission: ParsedSubmission): Promise<SubmitOutcome> {
    const { writer } = this.options;
    const checked = this.check(siteId, sessionFederationId, submission, writer?.usable === true);
    if ('place' in checked) {
      if (!writer) throw new Error('unreachable: no submission worker');
      // A failed worker may have committed the update or not: checked again here, it is a duplicate or stored now.
      return this.offload(writer, checked.place).catch((error: unknown) => {
        if (writer.usable) throw error;
        return this.route(siteId, sessionFederationId, submission);
      });
    }
    if (!('update' in checked)) return Promise.resolve(checked);
    const { update } = checked;
    return new Promise<SubmitOutcome>((resolve, reject) => {
      this.queue.push({ ...update, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => { this.flush(); });
      }
    });
  }

  private track(key: string, promise: Promise<SubmitOutcome>): Promise<SubmitOutcome> {
    this.inFlight.set(key, promise);
    const forget = () => { if (this.inFlight.get(key) === promise) this.inFlight.delete(key); };
    promise.then(forget, forget);
    return promise;
  }

  /**
   * Updates of the federation with the submission worker. The round does not close while there are any: a row the
   * worker committed whose answer is still on its way would not be in the running sum (the close would rebuild it
   * from the store). The last answer checks the close.
   */
  writesInFlight(federationId: string): number {
    return this.writing.get(federationId) ?? 0;
  }

  /** In the submission worker: decoded, checked and committed there; here only the running sum and the announcements. */
  private async offload(writer: SubmissionWriter, place: Place): Promise<SubmitOutcome> {
    const { id } = place.federation;
    this.writing.set(id, this.writesInFlight(id) + 1);
    try {
      return await this.offloaded(writer, place);
    } finally {
      const left = this.writesInFlight(id) - 1;
      if (left > 0) this.writing.set(id, left);
      else {
        this.writing.delete(id);
        queueMicrotask(() => { this.options.rounds.checkClose(id); });
      }
    }
  }

  private async offloaded(writer: SubmissionWriter, place: Place): Promise<SubmitOutcome> {
    const { store, clock, rounds } = this.options;
    const { federation, submission, siteId, spec, maxBytes } = place;
    // Central DP aggregates from the store (`private-aggregate.ts`), not from a running sum.
    const sum = !federation.settings.privacy.differentialPrivacy && rounds.ingest.sumsInWorker(federation.id, submission.round);
    const reply = await writer.write({
      sum,
      weights: submission.weights.slice(),
      spec,
      maxBytes,
      seq: store.reserveSubmissionSeq(),
      record: { federationId: federation.id, round: submission.round, siteId, sampleCount: submission.sampleCount, metrics: submission.metrics, receivedAt: clock.now() },
    });
    if (!reply.ok) return refuse(reply.code, reply.message);
    const now = store.getFederation(federation.id);
    const stillOpen = now !== null && openRound(now) === submission.round;
    const { state } = reply;
    if (state === null) return this.accepted({ siteId, federation, submission, checksum: reply.checksum }, stillOpen);
    return this.accepted({ siteId, federation, submission, checked: { kind: 'update', state, checksum: reply.checksum, dtype: reply.dtype } }, stillOpen);
  }

  private check(siteId: string, sessionFederationId: string, submission: ParsedSubmission, placeOnly = false): SubmitOutcome | { update: CheckedUpdate } | { place: Place } {
    const { store } = this.options;
    const federation = store.getFederation(sessionFederationId);
    const check = checkSubmission(
      {
        siteId,
        sessionFederationId,
        federation,
        participants: federation && federation.round > 0 ? (store.getRound(federation.id, federation.round)?.participants ?? null) : null,
        existing: federation ? store.getSubmission(federation.id, submission.round, siteId) : null,
        ...(federation ? { base: updateBase(store, federation.id, submission.round, moduleSpecOf(federation)) } : {}),
      },
      submission,
      { decode: !placeOnly },
    );
    if (!check.ok) return check;
    const { checked } = check;
    if (!federation) return refuse('UNKNOWN_FEDERATION', 'the federation no longer exists');
    if (checked.kind === 'duplicate') return accept({ round: submission.round, checksum: checked.checksum, duplicate: true });
    if (checked.kind === 'to-decode') return { place: { siteId, federation, submission, spec: checked.spec, maxBytes: checked.maxBytes } };
    return { update: { siteId, federation, submission, checked } };
  }

  private flush(): void {
    this.scheduled = false;
    const { store, logger } = this.options;
    const batch = this.queue;
    this.queue = [];
    const open: Queued[] = [];
    for (const queued of batch) {
      const now = store.getFederation(queued.federation.id);
      if (now && openRound(now) === queued.submission.round) open.push(queued);
      else queued.resolve(refuse('ROUND_CLOSED', `round ${queued.submission.round} closed before this submission was stored`));
    }
    let stored: Queued[] = [];
    try {
      store.transaction(() => { for (const queued of open) this.write(queued); });
      stored = open;
    } catch (error) {
      // One write failed (the disk, a constraint): each alone, so that the others still land.
      logger.warn('a grouped commit of submissions failed; committing them one by one', { error });
      for (const queued of open) {
        try {
          store.transaction(() => { this.write(queued); });
          stored.push(queued);
        } catch (single) {
          queued.reject(single);
        }
      }
    }
    for (const queued of stored) {
      try {
        queued.resolve(this.accepted(queued));
      } catch (error) {
        queued.reject(error);
      }
    }
  }

  private write(update: CheckedUpdate): void {
    const { store, clock } = this.options;
    const { federation, submission, checked, siteId } = update;
    const now = clock.now();
    store.insertSubmission({
      federationId: federation.id,
      round: submission.round,
      siteId,
      sampleCount: submission.sampleCount,
      weights: submission.weights,
      checksum: checked.checksum,
      bytes: submission.weights.byteLength,
      dtype: checked.dtype,
      metrics: submission.metrics,
      receivedAt: now,
    });
    store.updateRound(federation.id, submission.round, { lastSubmissionAt: now });
    store.addTraffic(federation.id, submission.round, { bytesReceived: submission.weights.byteLength, bytesSent: 0 });
  }

  /**
   * After the commit: the running aggregate (the decoded update, or only who contributed when the submission worker
   * summed it), the announcements, the close check (on the next tick).
   */
  private accepted(update: CheckedUpdate | AcceptedElsewhere, roundOpen = true): SubmitOutcome {
    const { rounds, announcer, logger } = this.options;
    const { federation, submission, siteId } = update;
    const [state, checksum] = 'checked' in update ? [update.checked.state, update.checked.checksum] : [null, update.checksum];
    const { round } = submission;
    try {
      if (roundOpen) rounds.ingest.add(federation.id, round, { siteId, sampleCount: submission.sampleCount, state });
    } catch (error) {
      logger.error('an accepted update could not join the running aggregate; it is rebuilt from the store at the close', { federation: federation.id, round, site: siteId, error });
    }
    rounds.accepted(federation.id, round);
    logger.debug('submission accepted', { federation: federation.id, round, site: siteId, samples: submission.sampleCount, bytes: submission.weights.byteLength });
    announcer.roundChanged(federation.id, round);
    announcer.federationChanged(federation.id);
    announcer.siteChanged(siteId);
    // Acknowledge first (the caller sends the ack when this returns); close the round on the next tick.
    queueMicrotask(() => { rounds.checkClose(federation.id); });
    return accept({ round, checksum, duplicate: false });
  }
}
