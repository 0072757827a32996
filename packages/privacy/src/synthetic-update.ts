/**
 * A plausible site state after one local round, for tests, the benchmark and the browser check (not for training):
 * every parameter moved uniformly within half its declared bound, BatchNorm's running mean ~ N(0, 0.3^2) and running
 * variance in [0.02, 0.22] (what a round on CLIP features leaves), the counter advanced by its bound (the steps).
 */
import type { ModuleState, StateEntrySpec } from '@facmic/learning/plain';
import { SeededRandom } from '@facmic/learning/plain';

export function syntheticRoundState(spec: readonly StateEntrySpec[], global: ModuleState, bounds: Readonly<Record<string, number>>, seed: number): ModuleState {
  const random = new SeededRandom(seed);
  const state: ModuleState = {};
  for (const entry of spec) {
    const base = global[entry.name]?.data;
    const bound = bounds[entry.name];
    if (base === undefined || bound === undefined) throw new RangeError(`state entry "${entry.name}" needs a global value and a bound`);
    const data = new Float32Array(base.length);
    for (let i = 0; i < data.length; i++) {
      if (entry.kind === 'parameter') data[i] = (base[i] as number) + (random.next() - 0.5) * bound;
      else if (entry.kind === 'counter') data[i] = (base[i] as number) + bound;
      else if (entry.name.endsWith('running_var')) data[i] = 0.02 + 0.2 * random.next();
      else data[i] = 0.3 * random.normal();
    }
    state[entry.name] = { shape: [...entry.shape], data };
  }
  return state;
}
