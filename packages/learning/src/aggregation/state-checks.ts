/** Checks that client states can be combined: same entry names, shapes and lengths as a reference state. tfjs-free. */
import { AggregationError } from '../errors.ts';
import { findNonFinite, isCounterEntry, shapeSize, type ModuleState } from '../module-spec.ts';

function describeShape(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

/**
 * Throws AggregationError (naming update `clientIndex` and the entry) unless `state` has exactly the entries of
 * `reference`, each with its shape and a Float32Array of the right length. Counter entries must be finite; with
 * `checkValues`, every value must be.
 */
export function checkStateAgainst(reference: ModuleState, state: ModuleState, clientIndex: number, checkValues: boolean): void {
  const names = Object.keys(reference).sort();
  const missing = names.filter((name) => !Object.hasOwn(state, name));
  const extra = Object.keys(state).sort().filter((name) => !Object.hasOwn(reference, name));
  if (missing.length > 0 || extra.length > 0) {
    throw new AggregationError(
      'name-mismatch',
      `update ${clientIndex} has different state entries than update 0` +
        (missing.length > 0 ? `; missing: ${missing.join(', ')}` : '') +
        (extra.length > 0 ? `; unexpected: ${extra.join(', ')}` : ''),
      { clientIndex, entry: missing[0] ?? extra[0] },
    );
  }
  for (const name of names) {
    const expected = reference[name];
    const tensor = state[name];
    if (expected === undefined || tensor === undefined) continue;
    const sameShape = tensor.shape.length === expected.shape.length && tensor.shape.every((extent, i) => extent === expected.shape[i]);
    if (!sameShape) {
      throw new AggregationError('shape-mismatch', `update ${clientIndex}: entry "${name}" has shape ${describeShape(tensor.shape)}, update 0 has ${describeShape(expected.shape)}`, { clientIndex, entry: name });
    }
    if (!(tensor.data instanceof Float32Array) || tensor.data.length !== shapeSize(tensor.shape)) {
      throw new AggregationError('length-mismatch', `update ${clientIndex}: entry "${name}" must hold ${shapeSize(tensor.shape)} float32 values`, { clientIndex, entry: name });
    }
    if ((checkValues || isCounterEntry(name)) && findNonFinite(tensor.data) >= 0) {
      throw new AggregationError('non-finite', `update ${clientIndex}: entry "${name}" holds a non-finite value`, { clientIndex, entry: name });
    }
  }
}
