import { describe, expect, it } from 'vitest';
import { ModuleStateError } from './errors.ts';
import { cloneModuleState, initialModuleState, moduleSpec, moduleValueCount, validateModuleState } from './module-spec.ts';

describe('moduleSpec', () => {
  it('lists the facmic state dict with torch names, shapes and kinds', () => {
    expect(moduleSpec('facmic', 3)).toEqual([
      { name: '0.weight', shape: [3, 3], kind: 'parameter' },
      { name: '0.bias', shape: [3], kind: 'parameter' },
      { name: '1.weight', shape: [3], kind: 'parameter' },
      { name: '1.bias', shape: [3], kind: 'parameter' },
      { name: '1.running_mean', shape: [3], kind: 'buffer' },
      { name: '1.running_var', shape: [3], kind: 'buffer' },
      { name: '1.num_batches_tracked', shape: [], kind: 'counter' },
      { name: '3.weight', shape: [3, 3], kind: 'parameter' },
      { name: '3.bias', shape: [3], kind: 'parameter' },
    ]);
  });

  it('lists the fedclip state dict', () => {
    expect(moduleSpec('fedclip', 2).map((entry) => entry.name)).toEqual(['0.weight', '0.bias', '2.weight', '2.bias']);
  });

  it('counts the floats sent per update', () => {
    expect(moduleValueCount('facmic', 512)).toBe(2 * 512 * 512 + 6 * 512 + 1);
    expect(moduleValueCount('fedclip', 512)).toBe(2 * 512 * 512 + 2 * 512);
  });

  it('rejects an unknown kind or a bad dimension', () => {
    expect(() => moduleSpec('mlp' as 'facmic', 4)).toThrow(ModuleStateError);
    expect(() => moduleSpec('facmic', 0)).toThrow(/positive integer/);
    expect(() => moduleSpec('facmic', 2.5)).toThrow(/positive integer/);
  });
});

describe('initialModuleState', () => {
  it('follows torch defaults: Linear ~ U(-1/sqrt(in), 1/sqrt(in)), BatchNorm 1/0, running stats 0/1, counter 0', () => {
    const dim = 16;
    const state = initialModuleState('facmic', dim, 7);
    validateModuleState('facmic', dim, state);
    const bound = 1 / Math.sqrt(dim);
    for (const name of ['0.weight', '0.bias', '3.weight', '3.bias']) {
      const data = state[name]!.data;
      expect(Math.max(...data)).toBeLessThanOrEqual(bound);
      expect(Math.min(...data)).toBeGreaterThanOrEqual(-bound);
      expect(Math.max(...data) - Math.min(...data)).toBeGreaterThan(bound); // spread, not constant
    }
    expect([...state['1.weight']!.data]).toEqual(new Array<number>(dim).fill(1));
    expect([...state['1.bias']!.data]).toEqual(new Array<number>(dim).fill(0));
    expect([...state['1.running_mean']!.data]).toEqual(new Array<number>(dim).fill(0));
    expect([...state['1.running_var']!.data]).toEqual(new Array<number>(dim).fill(1));
    expect([...state['1.num_batches_tracked']!.data]).toEqual([0]);
  });

  it('is a function of the seed', () => {
    expect(initialModuleState('fedclip', 8, 1)).toEqual(initialModuleState('fedclip', 8, 1));
    expect(initialModuleState('fedclip', 8, 1)['0.weight']!.data).not.toEqual(initialModuleState('fedclip', 8, 2)['0.weight']!.data);
  });
});

describe('validateModuleState', () => {
  const valid = (): ReturnType<typeof initialModuleState> => initialModuleState('facmic', 4, 3);
  const codeOf = (run: () => void): string | undefined => {
    try {
      run();
    } catch (error) {
      return error instanceof ModuleStateError ? `${error.code}:${error.entry ?? ''}` : 'other';
    }
    return undefined;
  };

  it('accepts a well-formed state', () => {
    expect(codeOf(() => { validateModuleState('facmic', 4, valid()); })).toBeUndefined();
  });

  it('names what is wrong', () => {
    const missing = valid();
    delete missing['3.bias'];
    expect(codeOf(() => { validateModuleState('facmic', 4, missing); })).toBe('missing-entry:3.bias');
    const extra = { ...valid(), '4.weight': { shape: [1], data: new Float32Array(1) } };
    expect(codeOf(() => { validateModuleState('facmic', 4, extra); })).toBe('unexpected-entry:4.weight');
    const shape = valid();
    shape['0.weight'] = { shape: [2, 8], data: new Float32Array(16) };
    expect(codeOf(() => { validateModuleState('facmic', 4, shape); })).toBe('shape-mismatch:0.weight');
    const length = valid();
    length['0.bias'] = { shape: [4], data: new Float32Array(3) };
    expect(codeOf(() => { validateModuleState('facmic', 4, length); })).toBe('length-mismatch:0.bias');
    const nan = valid();
    nan['1.running_var']!.data[2] = Number.NaN;
    expect(codeOf(() => { validateModuleState('facmic', 4, nan); })).toBe('non-finite:1.running_var');
    const counter = valid();
    counter['1.num_batches_tracked']!.data[0] = 1.5;
    expect(codeOf(() => { validateModuleState('facmic', 4, counter); })).toBe('invalid-counter:1.num_batches_tracked');
  });

  it('clones deeply', () => {
    const state = valid();
    const copy = cloneModuleState(state);
    copy['0.bias']!.data[0] = 42;
    expect(state['0.bias']!.data[0]).not.toBe(42);
  });
});
