/**
 * Where a federation's rounds stand, read off its status, the status `paused` came from, and its round number: the
 * one definition of the open round and of the newest global model, used by the coordinator's views and the dashboard.
 */
import type { FederationStatus } from './federation.ts';

export interface RoundPosition {
  readonly status: FederationStatus;
  /** The state `paused` came from (null unless paused). */
  readonly pausedFrom: FederationStatus | null;
  /** The open or aggregating round; the last published one otherwise (0 before any). */
  readonly round: number;
}

/** The round that accepts submissions (training, or paused while training), or null. */
export function openRound(position: RoundPosition): number | null {
  if (position.status === 'training') return position.round;
  if (position.status === 'paused' && position.pausedFrom === 'training') return position.round;
  return null;
}

/** A round is under way (open, or its updates being aggregated): its participants and submissions count. */
export function roundUnderWay(position: RoundPosition): boolean {
  return openRound(position) !== null || position.status === 'aggregating';
}

/** The round after which the newest global model was published (0: the initial model). */
export function latestModelRound(position: RoundPosition): number {
  return roundUnderWay(position) ? position.round - 1 : position.round;
}
