/**
 * Layout of the attention modules' state, without tfjs: the protocol and the coordinator validate and create module
 * states with this file alone. Names and shapes follow the paper's PyTorch `state_dict()`.
 *
 * - `facmic`: Linear(D,D) -> BatchNorm1d(D) -> LeakyReLU(0.01) -> Linear(D,D) -> Softmax(dim 1)
 * - `fedclip`: Linear(D,D) -> Tanh -> Linear(D,D) -> Softmax(dim 1)
 *
 * Linear weights are stored torch-style as [out, in] (y = x W^T + b). `num_batches_tracked` is a scalar counter
 * (shape [], one element) kept as a float in `data`.
 */
import { ModuleStateError } from './errors.ts';
import { SeededRandom } from './prng.ts';

export type ModuleKind = 'facmic' | 'fedclip';
export const MODULE_KINDS: readonly ModuleKind[] = ['facmic', 'fedclip'];

export type StateEntryKind = 'parameter' | 'buffer' | 'counter';

export interface StateEntrySpec {
  readonly name: string;
  readonly shape: readonly number[];
  readonly kind: StateEntryKind;
}

/** One named tensor: row-major float32 values and their shape (`[]` for a scalar). */
export interface NamedTensor {
  shape: number[];
  data: Float32Array;
}

/** A module's state dict: torch names to tensors. */
export type ModuleState = Record<string, NamedTensor>;

export function isModuleKind(value: unknown): value is ModuleKind {
  return value === 'facmic' || value === 'fedclip';
}

function checkKindAndDim(kind: ModuleKind, dim: number): void {
  if (!isModuleKind(kind)) throw new ModuleStateError('invalid-kind', `unknown module kind ${JSON.stringify(kind)}`);
  if (!Number.isInteger(dim) || dim < 1) throw new ModuleStateError('invalid-dim', `module dimension must be a positive integer, got ${dim}`);
}

/** Names, shapes and kinds of every state entry, in torch's `state_dict()` order. */
export function moduleSpec(kind: ModuleKind, dim: number): StateEntrySpec[] {
  checkKindAndDim(kind, dim);
  if (kind === 'fedclip') {
    return [
      { name: '0.weight', shape: [dim, dim], kind: 'parameter' },
      { name: '0.bias', shape: [dim], kind: 'parameter' },
      { name: '2.weight', shape: [dim, dim], kind: 'parameter' },
      { name: '2.bias', shape: [dim], kind: 'parameter' },
    ];
  }
  return [
    { name: '0.weight', shape: [dim, dim], kind: 'parameter' },
    { name: '0.bias', shape: [dim], kind: 'parameter' },
    { name: '1.weight', shape: [dim], kind: 'parameter' },
    { name: '1.bias', shape: [dim], kind: 'parameter' },
    { name: '1.running_mean', shape: [dim], kind: 'buffer' },
    { name: '1.running_var', shape: [dim], kind: 'buffer' },
    { name: '1.num_batches_tracked', shape: [], kind: 'counter' },
    { name: '3.weight', shape: [dim, dim], kind: 'parameter' },
    { name: '3.bias', shape: [dim], kind: 'parameter' },
  ];
}

/**
 * The counter rule: a state entry that counts rather than measures (BatchNorm's `num_batches_tracked`). It is never
 * averaged, stays float32 on the wire whatever the weights' dtype, and must hold a non-negative integer.
 */
export function isCounterEntry(name: string): boolean {
  return name.endsWith('num_batches_tracked');
}

/** The counter entries of a module (see {@link isCounterEntry}). */
export function counterEntryNames(kind: ModuleKind, dim: number): string[] {
  return moduleSpec(kind, dim).filter((entry) => isCounterEntry(entry.name)).map((entry) => entry.name);
}

/** Names and shapes of a module's state, as a tensor file's expected spec (`@facmic/protocol`'s `TensorSpec`). */
export function moduleTensorSpec(kind: ModuleKind, dim: number): Record<string, readonly number[]> {
  return Object.fromEntries(moduleSpec(kind, dim).map((entry) => [entry.name, entry.shape]));
}

/**
 * Index of the first NaN or +-Infinity in `data`, or -1: a float32 is not finite exactly when its eight exponent bits
 * are all set, tested on the bits (several times faster than widening every value to a double).
 */
export function findNonFinite(data: Float32Array): number {
  const bits = new Int32Array(data.buffer, data.byteOffset, data.length);
  for (let i = 0; i < bits.length; i++) if (((bits[i] as number) & 0x7f800000) === 0x7f800000) return i;
  return -1;
}

/** Number of elements of a shape (1 for a scalar). */
export function shapeSize(shape: readonly number[]): number {
  let size = 1;
  for (const extent of shape) size *= extent;
  return size;
}

/** Total number of floats in a module state (what goes over the wire). */
export function moduleValueCount(kind: ModuleKind, dim: number): number {
  return moduleSpec(kind, dim).reduce((sum, entry) => sum + shapeSize(entry.shape), 0);
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((extent, i) => extent === b[i]);
}

/**
 * Checks that `state` has exactly the entries of `moduleSpec(kind, dim)`, with matching shapes and data lengths,
 * finite values, and a non-negative integer counter. Throws ModuleStateError otherwise.
 */
export function validateModuleState(kind: ModuleKind, dim: number, state: ModuleState): void {
  const spec = moduleSpec(kind, dim);
  const expected = new Set(spec.map((entry) => entry.name));
  for (const name of Object.keys(state)) {
    if (!expected.has(name)) throw new ModuleStateError('unexpected-entry', `unexpected state entry "${name}" for a ${kind} module`, name);
  }
  for (const entry of spec) {
    const tensor = state[entry.name];
    if (tensor === undefined) throw new ModuleStateError('missing-entry', `state entry "${entry.name}" is missing`, entry.name);
    if (!sameShape(tensor.shape, entry.shape)) {
      throw new ModuleStateError('shape-mismatch', `state entry "${entry.name}" has shape [${tensor.shape.join(', ')}], expected [${entry.shape.join(', ')}]`, entry.name);
    }
    if (!(tensor.data instanceof Float32Array) || tensor.data.length !== shapeSize(entry.shape)) {
      throw new ModuleStateError('length-mismatch', `state entry "${entry.name}" must hold ${shapeSize(entry.shape)} float32 values`, entry.name);
    }
    if (findNonFinite(tensor.data) >= 0) throw new ModuleStateError('non-finite', `state entry "${entry.name}" holds a non-finite value`, entry.name);
  }
  validateCounters(state);
}

/**
 * The counters' part of {@link validateModuleState}: each counter entry holds one non-negative integer. What is left
 * to check of a state whose names, shapes and values a tensor file's decoding already checked.
 */
export function validateCounters(state: ModuleState): void {
  for (const [name, tensor] of Object.entries(state)) {
    if (!isCounterEntry(name)) continue;
    const count = tensor.data[0] ?? -1;
    if (tensor.data.length !== 1 || !Number.isInteger(count) || count < 0) throw new ModuleStateError('invalid-counter', `counter "${name}" must be a non-negative integer, got ${count}`, name);
  }
}

/** A deep copy (new Float32Arrays). */
export function cloneModuleState(state: ModuleState): ModuleState {
  const copy: ModuleState = {};
  for (const [name, tensor] of Object.entries(state)) copy[name] = { shape: [...tensor.shape], data: tensor.data.slice() };
  return copy;
}

/**
 * A freshly initialised module state with torch's default initialisation, from a seeded generator: Linear weight and
 * bias ~ U(-1/sqrt(in), 1/sqrt(in)); BatchNorm weight 1, bias 0, running mean 0, running variance 1, counter 0.
 * Same seed, same state, on every platform.
 */
export function initialModuleState(kind: ModuleKind, dim: number, seed: number): ModuleState {
  const random = new SeededRandom(seed);
  const bound = 1 / Math.sqrt(dim);
  const state: ModuleState = {};
  for (const entry of moduleSpec(kind, dim)) {
    const data = new Float32Array(shapeSize(entry.shape));
    const [layer, field] = entry.name.split('.');
    const isLinear = kind === 'fedclip' || layer !== '1';
    if (isLinear) {
      for (let i = 0; i < data.length; i++) data[i] = random.uniform(-bound, bound);
    } else if (field === 'weight' || field === 'running_var') {
      data.fill(1);
    }
    state[entry.name] = { shape: [...entry.shape], data };
  }
  return state;
}
