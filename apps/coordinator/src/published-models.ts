/**
 * The global models sites download, in memory: at the start of a round every site asks for the model of the round
 * before, so its encoded bytes are read from the store once and then served from here. A global model never changes
 * once stored (only a deleted federation loses its models), so nothing goes stale; a few newest rounds per
 * federation are kept.
 */
import type { CoordinatorStore } from './store/store.ts';

export interface ServedModel {
  readonly round: number;
  readonly checksum: string;
  readonly weights: Uint8Array;
}

/** Rounds kept per federation: the newest (what sites train from) and the one before (a late site's). */
const ROUNDS_KEPT = 2;

export class PublishedModels {
  private readonly byFederation = new Map<string, ServedModel[]>();

  constructor(private readonly store: CoordinatorStore) {}

  /** The stored global model after `round`, from memory when it was served before; null when none is stored. */
  get(federationId: string, round: number): ServedModel | null {
    const kept = this.byFederation.get(federationId) ?? [];
    const hit = kept.find((m) => m.round === round);
    if (hit) return hit;
    const record = this.store.getGlobalModel(federationId, round);
    if (!record) return null;
    const model: ServedModel = { round, checksum: record.checksum, weights: record.weights };
    this.byFederation.set(federationId, [model, ...kept].sort((a, b) => b.round - a.round).slice(0, ROUNDS_KEPT));
    return model;
  }

  forget(federationId: string): void {
    this.byFederation.delete(federationId);
  }
}
