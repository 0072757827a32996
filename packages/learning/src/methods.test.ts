import { describe, expect, it } from 'vitest';
import { MethodError } from './errors.ts';
import { METHODS, METHOD_NAMES, getMethod, isMethodName } from './methods.ts';

describe('method table', () => {
  it('describes each method as data', () => {
    expect(METHOD_NAMES).toEqual(['facmic', 'facmic-nolmmd', 'facmic-oracle', 'fedclip', 'local', 'zeroshot']);
    expect(METHODS.facmic).toMatchObject({ module: 'facmic', lmmd: true, oracle: false, federated: true, trains: true });
    // The ablation keeps FACMIC's module (not FedCLIP's Tanh adapter) and drops LMMD.
    expect(METHODS['facmic-nolmmd']).toMatchObject({ module: 'facmic', lmmd: false, oracle: false, federated: true, simulationOnly: false });
    expect(METHODS['facmic-oracle']).toMatchObject({ module: 'facmic', lmmd: true, oracle: true, federated: true, simulationOnly: true });
    expect(METHODS.fedclip).toMatchObject({ module: 'fedclip', lmmd: false, federated: true, trains: true });
    expect(METHODS.local).toMatchObject({ module: 'facmic', lmmd: true, federated: false, trains: true });
    expect(METHODS.zeroshot).toMatchObject({ module: null, lmmd: false, federated: false, trains: false });
    expect(Object.isFrozen(METHODS)).toBe(true);
  });

  it('looks methods up by name with a typed error for unknown names', () => {
    expect(getMethod('fedclip').label).toBe('FedCLIP');
    expect(isMethodName('toString')).toBe(false);
    expect(() => getMethod('fedprox')).toThrow(MethodError);
  });
});
