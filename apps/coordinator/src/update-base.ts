/**
 * The base model of 8-bit updates: a site's `int8` tensors for round r are deltas from the global model after round
 * r - 1 (`packages/protocol/src/int8-tensor.ts`), so reading one needs that model, decoded. It is read from the store
 * and decoded only when an update has an `int8` tensor (the decoder calls the function), then kept for the next
 * updates of the round: a few models per store, since a stored global model never changes.
 */
import { decodeTensors, TensorEncodingError, type TensorBase, type TensorSpec } from '@facmic/protocol';
import type { CoordinatorStore } from './store/store.ts';

const KEPT = 4;
const decoded = new WeakMap<CoordinatorStore, Map<string, TensorBase>>();

/** The base of round `round`'s 8-bit updates (the global model after round - 1), read when first called. */
export function updateBase(store: CoordinatorStore, federationId: string, round: number, spec: TensorSpec): () => TensorBase {
  return () => {
    let kept = decoded.get(store);
    if (!kept) {
      kept = new Map();
      decoded.set(store, kept);
    }
    const key = `${federationId}\u0000${round - 1}`;
    const hit = kept.get(key);
    if (hit) return hit;
    const model = store.getGlobalModel(federationId, round - 1);
    if (!model) throw new TensorEncodingError('BAD_WEIGHTS', `no global model of round ${round - 1} to read an 8-bit update against`);
    const base: TensorBase = { round: round - 1, tensors: decodeTensors(model.weights, { expected: spec }).tensors };
    kept.set(key, base);
    if (kept.size > KEPT) kept.delete(kept.keys().next().value as string);
    return base;
  };
}
