/**
 * `round:submit` after schema validation: the submission check (`submission-check.ts`, pure: decoded and checked
 * once), the store write (weights and metadata, before the ack), the running aggregate, the announcements.
 *
 * Sites use the grouped path: every submission checked in one turn of the event loop is written in one transaction,
 * so many updates share one durable commit (one fsync) instead of blocking the event loop once each; each is
 * acknowledged when its commit is done. A round that closed between the check and the commit (its deadline passed)
 * refuses the submission with ROUND_CLOSED, so an acknowledged update is always in its round. A second submission of
 * the same site and round waits for the first one's commit, then is checked again (a duplicate, or refused).
 */
import { openRound, type ParsedSubmission } from '@facmic/protocol';
import type { Announcer } from './announcer.ts';
import type { Clock } from './clock.ts';
import type { Logger } from './logger.ts';
import { accept, refuse, type Outcome } from './outcome.ts';
import type { RoundDriver } from './round-driver.ts';
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
}

export class SubmissionDesk {
  private queue: Queued[] = [];
  private scheduled = false;
  private readonly inFlight = new Map<string, Promise<SubmitOutcome>>();

  constructor(private readonly options: SubmissionDeskOptions) {}

  /** Checks, stores in a transaction of its own, and adds to the aggregate, synchronously (tests, benchmarks). */
  submitNow(siteId: string, sessionFederationId: string, submission: ParsedSubmission): SubmitOutcome {
    const checked = this.check(siteId, sessionFederationId, submission);
    if (!('update' in checked)) return checked;
    this.options.store.transaction(() => { this.write(checked.update); });
    return this.accepted(checked.update);
  }

  /** Checks now; stores with the other submissions of this turn of the event loop (one commit); resolves after it. */
  submit(siteId: string, sessionFederationId: string, submission: ParsedSubmission): Promise<SubmitOutcome> {
    const key = `${sessionFederationId}\u0000${submission.round}\u0000${siteId}`;
    const earlier = this.inFlight.get(key);
    if (earlier) return earlier.then(() => this.submit(siteId, sessionFederationId, submission), () => this.submit(siteId, sessionFederationId, submission));
    const checked = this.check(siteId, sessionFederationId, submission);
    if (!('update' in checked)) return Promise.resolve(checked);
    const promise = new Promise<SubmitOutcome>((resolve, reject) => {
      this.queue.push({ ...checked.update, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => { this.flush(); });
      }
    });
    this.inFlight.set(key, promise);
    const forget = () => { if (this.inFlight.get(key) === promise) this.inFlight.delete(key); };
    promise.then(forget, forget);
    return promise;
  }

  private check(siteId: string, sessionFederationId: string, submission: ParsedSubmission): SubmitOutcome | { update: CheckedUpdate } {
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
    );
    if (!check.ok) return check;
    const { checked } = check;
    if (checked.kind === 'duplicate' || !federation) return accept({ round: submission.round, checksum: checked.checksum, duplicate: true });
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

  /** After the commit: the running aggregate, the announcements, the close check (on the next tick). */
  private accepted(update: CheckedUpdate): SubmitOutcome {
    const { rounds, announcer, logger } = this.options;
    const { federation, submission, checked, siteId } = update;
    const { round } = submission;
    try {
      rounds.ingest.add(federation.id, round, { siteId, sampleCount: submission.sampleCount, state: checked.state });
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
    return accept({ round, checksum: checked.checksum, duplicate: false });
  }
}
