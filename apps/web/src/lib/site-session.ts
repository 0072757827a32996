/**
 * What the hospital page remembers in this browser (localStorage), so a reloaded tab resumes as the same site: the
 * invite (coordinator, federation, token), the device asked for, and the per-round results shown in the charts.
 * Features live in IndexedDB (see the worker's saved dataset); images are never stored.
 */
import type { EvalMetrics } from '@facmic/protocol';

export const SESSIONS_KEY = 'facmic.site.sessions';
/** Sessions kept per browser; the oldest ones are forgotten beyond this. */
export const MAX_SESSIONS = 20;

export interface RoundRecord {
  readonly round: number;
  /** The global model received at the start of the round, on the local test split. */
  readonly globalModel: EvalMetrics | null;
  /** The model after local training, on the same split. */
  readonly localModel: EvalMetrics | null;
  readonly trainSeconds: number | null;
  readonly steps: number | null;
  readonly trainLoss: number | null;
  /** Bytes of weights sent for this round (0 until submitted). */
  readonly bytesSent: number;
  readonly bytesReceived: number;
  readonly submittedAt: number | null;
}

export interface SiteSession {
  readonly coordinatorUrl: string;
  readonly federationId: string;
  readonly token: string;
  readonly device: 'auto' | 'webgpu' | 'wasm';
  /** Generated demo images instead of a folder (0-based demo hospital index), or null. */
  readonly demoSite: number | null;
  readonly siteName: string | null;
  readonly federationName: string | null;
  /** Seed of the local split and of local shuffling. */
  readonly seed: number;
  readonly createdAt: number;
  readonly updatedAt: number;
  readonly rounds: readonly RoundRecord[];
}

export interface KeyValueStore {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
}

export function sessionId(session: Pick<SiteSession, 'coordinatorUrl' | 'federationId' | 'token'>): string {
  return `${session.coordinatorUrl}|${session.federationId}|${session.token}`;
}

export function readSessions(store: KeyValueStore): SiteSession[] {
  try {
    const parsed: unknown = JSON.parse(store.getItem(SESSIONS_KEY) ?? '[]');
    return Array.isArray(parsed) ? parsed.filter(isSession) : [];
  } catch {
    return [];
  }
}

function isSession(value: unknown): value is SiteSession {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Partial<SiteSession>;
  return typeof v.coordinatorUrl === 'string' && typeof v.federationId === 'string' && typeof v.token === 'string' && Array.isArray(v.rounds) && typeof v.seed === 'number';
}

/** The saved session for this invite, or null. */
export function findSession(store: KeyValueStore, invite: Pick<SiteSession, 'coordinatorUrl' | 'federationId' | 'token'>): SiteSession | null {
  const id = sessionId(invite);
  return readSessions(store).find((s) => sessionId(s) === id) ?? null;
}

/** The most recently used session (for `/site` opened without an invite). */
export function latestSession(store: KeyValueStore): SiteSession | null {
  return readSessions(store).reduce<SiteSession | null>((best, s) => (best === null || s.updatedAt > best.updatedAt ? s : best), null);
}

export function saveSession(store: KeyValueStore, session: SiteSession): void {
  const id = sessionId(session);
  const others = readSessions(store).filter((s) => sessionId(s) !== id);
  const all = [session, ...others].sort((a, b) => b.updatedAt - a.updatedAt).slice(0, MAX_SESSIONS);
  try {
    store.setItem(SESSIONS_KEY, JSON.stringify(all));
  } catch {
    // Storage full or disabled: the page still works, a reload just starts over.
  }
}

export function removeSession(store: KeyValueStore, session: Pick<SiteSession, 'coordinatorUrl' | 'federationId' | 'token'>): void {
  const id = sessionId(session);
  try {
    store.setItem(SESSIONS_KEY, JSON.stringify(readSessions(store).filter((s) => sessionId(s) !== id)));
  } catch {
    // See saveSession.
  }
}

const EMPTY_ROUND: Omit<RoundRecord, 'round'> = {
  globalModel: null,
  localModel: null,
  trainSeconds: null,
  steps: null,
  trainLoss: null,
  bytesSent: 0,
  bytesReceived: 0,
  submittedAt: null,
};

/** The round records with `round` changed by `change` (created when missing), kept in round order. */
export function updateRound(rounds: readonly RoundRecord[], round: number, change: Partial<Omit<RoundRecord, 'round'>>): RoundRecord[] {
  const existing = rounds.find((r) => r.round === round);
  const updated: RoundRecord = { ...(existing ?? { ...EMPTY_ROUND, round }), ...change, round };
  return [...rounds.filter((r) => r.round !== round), updated].sort((a, b) => a.round - b.round);
}

/** A fresh seed for a new session. */
export function newSeed(random: () => number = Math.random): number {
  return Math.floor(random() * 2 ** 31);
}
