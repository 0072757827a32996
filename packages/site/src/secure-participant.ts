/**
 * A site's part in a secure aggregation round: answers the coordinator's `secagg:request`s with `@facmic/privacy`'s
 * client state machine (Bonawitz et al. 2017), instead of submitting its update. Its update never leaves it in the
 * clear: it sends public keys, shares encrypted to other sites, its fixed-point delta under masks, and the shares the
 * coordinator needs to remove the masks of the sum, refusing any request that would unmask a single site (both kinds
 * of share of one site, a second input, a roster with an unsafe threshold).
 *
 * Under differential privacy it clips its delta to the clip norm S and weighs itself 1; with distributed noise it adds
 * its share N(0, sigma^2 S^2 / t) once per session (the input is kept, so a repeated request gets the same answer).
 *
 * The session states live in memory for the life of the client: a reconnection (or a restarted coordinator) is
 * answered identically; a reloaded page has none and refuses the session's later requests (`unexpected-phase`),
 * which the coordinator treats as a dropout.
 */
import { moduleSpec, type ModuleState } from '@facmic/learning/plain';
import {
  advertiseKeys,
  clipUpdate,
  createClientSession,
  encodeFixedPoint,
  inputLayout,
  maskInput,
  privatizeSiteUpdate,
  refusalMessage,
  SecureAggregationRefusalError,
  shareKeys,
  stateDelta,
  unmask,
  type SecureAggregationClientState,
} from '@facmic/privacy';
import { ackSchema, type FederationConfig, type SecureAggregationAnswer, type SecureAggregationPhase, type SecureAggregationRequest, type SessionPrivacy } from '@facmic/protocol';
import type { SiteConnection } from './connection.ts';
import { SiteError } from './events.ts';

const answerAckSchema = ackSchema({});

/** What the participant reports (the site client turns it into events and statuses). */
export interface SecureReport {
  round: number;
  session: string;
  phase: SecureAggregationPhase;
  /** The reason the site refused the request, or null when it answered. */
  refused: string | null;
  message: string | null;
}

export interface SecureParticipantOptions {
  connection: () => SiteConnection | null;
  federation: () => FederationConfig | null;
  siteId: () => string | null;
  report: (report: SecureReport) => void;
  onInput?: (round: number, delta: Float64Array, weight: number) => void;
}

interface Session {
  readonly round: number;
  readonly privacy: SessionPrivacy | null;
  state: SecureAggregationClientState;
  input: Uint32Array | null;
}

export class SecureParticipant {
  /** This site's delta from the round's global model, by round. */
  private readonly updates = new Map<number, { delta: Float64Array; sampleCount: number }>();
  private readonly sessions = new Map<string, Session>();
  /** Key advertisements asked for before the round's training finished. */
  private readonly waiting = new Map<number, SecureAggregationRequest & { phase: 'advertise-keys' }>();
  private queue: Promise<void> = Promise.resolve();

  constructor(private readonly options: SecureParticipantOptions) {}

  private layout() {
    const federation = this.options.federation();
    if (!federation) throw new SiteError('PROTOCOL_VIOLATION', 'not welcomed');
    return inputLayout(moduleSpec(federation.module.kind, federation.module.featureDim));
  }

  /** The round's trained state: kept as a delta from the global model; a waiting key request is answered now. */
  offer(round: number, local: ModuleState, global: ModuleState, sampleCount: number): void {
    if (!this.updates.has(round)) this.updates.set(round, { delta: stateDelta(this.layout(), local, global), sampleCount });
    for (const old of this.updates.keys()) if (old < round - 1) this.updates.delete(old);
    const begin = this.waiting.get(round);
    if (begin) {
      this.waiting.delete(round);
      this.onRequest(begin);
    }
  }

  hasUpdate(round: number): boolean {
    return this.updates.has(round);
  }

  /** A `secagg:request` from the coordinator; answered in order. */
  onRequest(request: SecureAggregationRequest): void {
    this.queue = this.queue.then(() => this.handle(request)).catch(() => undefined);
  }

  private sessionOf(id: string): Session | null {
    return this.sessions.get(id) ?? null;
  }

  private async handle(request: SecureAggregationRequest): Promise<void> {
    const id = request.phase === 'advertise-keys' ? request.begin.session : request.phase === 'share-keys' ? request.roster.session : request.request.session;
    let session = this.sessionOf(id);
    try {
      let answer: SecureAggregationAnswer;
      switch (request.phase) {
        case 'advertise-keys': {
          const { round, session: name } = request.begin;
          if (!this.updates.has(round)) {
            this.waiting.set(round, request); // answered once this round's training is done
            return;
          }
          const siteId = this.options.siteId();
          if (!siteId) return;
          session ??= { round, privacy: request.privacy, state: createClientSession(name, siteId), input: null };
          this.sessions.set(name, session);
          const step = await advertiseKeys(session.state);
          session.state = step.state;
          answer = { phase: 'advertise-keys', message: step.message };
          break;
        }
        case 'share-keys': {
          if (!session) throw new SecureAggregationRefusalError(id, 'share-keys', 'unexpected-phase', '(this site holds no keys of the session)');
          const step = await shareKeys(session.state, request.roster);
          session.state = step.state;
          answer = { phase: 'share-keys', message: step.message };
          break;
        }
        case 'masked-input': {
          if (!session) throw new SecureAggregationRefusalError(id, 'masked-input', 'unexpected-phase', '(this site holds no keys of the session)');
          session.input ??= this.encode(session);
          const step = await maskInput(session.state, request.request, session.input);
          session.state = step.state;
          answer = { phase: 'masked-input', message: step.message };
          break;
        }
        case 'unmasking': {
          if (!session) throw new SecureAggregationRefusalError(id, 'unmasking', 'unexpected-phase', '(this site holds no keys of the session)');
          const step = unmask(session.state, request.request);
          session.state = step.state;
          answer = { phase: 'unmasking', message: step.message };
          break;
        }
      }
      await this.send(answer);
      this.options.report({ round: session.round, session: id, phase: request.phase, refused: null, message: null });
      if (request.phase === 'unmasking') this.forgetBefore(session.round - 1);
    } catch (error) {
      if (!(error instanceof SecureAggregationRefusalError)) {
        this.options.report({ round: session?.round ?? 0, session: id, phase: request.phase, refused: null, message: error instanceof Error ? error.message : String(error) });
        return;
      }
      await this.send({ phase: 'refusal', message: refusalMessage(error) }).catch(() => undefined);
      this.options.report({ round: session?.round ?? 0, session: id, phase: request.phase, refused: error.code, message: error.message });
    }
  }

  /** The fixed-point input of the session (clipped and noised under DP), from the round's delta and the roster. */
  private encode(session: Session): Uint32Array {
    const update = this.updates.get(session.round);
    const roster = session.state.roster;
    if (!update || !roster) throw new SecureAggregationRefusalError(session.state.session, 'masked-input', 'unexpected-phase', '(no update or roster for the session)');
    const layout = this.layout();
    let delta = update.delta;
    const dp = session.privacy;
    if (dp) {
      delta =
        dp.noise === 'distributed'
          ? privatizeSiteUpdate(layout, delta, { noiseMultiplier: dp.noiseMultiplier, clipNorm: dp.clipNorm, placement: 'distributed', minContributors: roster.threshold }).delta
          : clipUpdate(layout, delta, dp.clipNorm).delta;
    }
    const { maxWeight, siteCount, bounds } = roster.encoding;
    const encoded = encodeFixedPoint(layout, { maxWeight, siteCount, bounds }, delta, dp ? 1 : Math.max(1, Math.round(update.sampleCount)));
    this.options.onInput?.(session.round, delta, encoded.weight);
    return encoded.input;
  }

  private async send(answer: SecureAggregationAnswer): Promise<void> {
    const connection = this.options.connection();
    // Not connected: the coordinator resends the request after the reconnection.
    if (!connection?.connected) throw new SiteError('CONNECTION_LOST', `not connected (secagg:answer, ${answer.phase})`);
    const ack = await connection.request(answerAckSchema, 'secagg:answer', answer, answer.phase === 'masked-input' ? 'upload' : 'small');
    if (!ack.ok) throw new SiteError(ack.code, ack.message);
  }

  private forgetBefore(round: number): void {
    for (const [id, session] of this.sessions) if (session.round < round) this.sessions.delete(id);
  }
}
