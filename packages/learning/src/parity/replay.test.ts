import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { useBackend } from '../../test/backend.ts';
import { generateReferenceVectors } from '../../test/generate-vectors.ts';
import { PARITY_RELATIVE_TOLERANCE, maxRelativeError, parseParityVectors, replayParity } from './replay.ts';

const FIXTURE = fileURLToPath(new URL('../../test-fixtures/facmic-local-step.json', import.meta.url));

function loadFixture(): Record<string, unknown> {
  return JSON.parse(readFileSync(FIXTURE, 'utf8')) as Record<string, unknown>;
}

describe.each(['cpu', 'wasm'] as const)('parity replay on %s', (backend) => {
  it('reproduces the torch vectors within 1e-4 relative error', async () => {
    await useBackend(backend);
    const before = tf.memory().numTensors;
    const report = await replayParity(parseParityVectors(loadFixture()));
    expect(tf.memory().numTensors).toBe(before);
    const names = report.quantities.map((quantity) => quantity.name);
    // every kind of quantity of the file was compared
    for (const expected of ['step 0 attention_source', 'step 2 pseudo_label_probs', 'step 1 lmmd_loss', 'step 2 grad 0.weight', 'step 2 state_after 1.running_var', 'eval probs', 'eval predictions', 'aggregation 3.weight']) {
      expect(names).toContain(expected);
    }
    expect(report.maxRelativeError).toBeLessThanOrEqual(PARITY_RELATIVE_TOLERANCE);
    expect(report.passed).toBe(true);
  });

  it('fails when one expected number is off by 1%', async () => {
    await useBackend(backend);
    const fixture = loadFixture();
    const steps = fixture.steps as Record<string, unknown>[];
    const step = steps[1]!;
    step.lmmd_loss = (step.lmmd_loss as number) * 1.01;
    const report = await replayParity(parseParityVectors(fixture));
    expect(report.passed).toBe(false);
    const failing = report.quantities.filter((quantity) => quantity.maxRelativeError > PARITY_RELATIVE_TOLERANCE).map((quantity) => quantity.name);
    expect(failing).toEqual(['step 1 lmmd_loss']);
  });
});

// Generated vectors are compared with an absolute floor of 1e-5 instead of 1e-6: the float32 backward passes carry
// cancellation noise of a few 1e-6 on gradients whose entries reach ~7 with N(0, 1) inputs (torch's float32 has the
// same), and central differences of the float64 reference carry none, so 1e-6 would flag noise, not errors.
describe('parity replay of generated vectors (float64 reference, finite-difference gradients)', () => {
  const configurations = [
    { kind: 'facmic', dim: 16, batch: 6, targetBatch: 5, numClasses: 3, steps: 3, evalRows: 9, clients: 3, seed: 11 },
    { kind: 'facmic', dim: 10, batch: 9, targetBatch: 9, numClasses: 5, steps: 2, evalRows: 7, clients: 4, seed: 12 },
    { kind: 'facmic', dim: 12, batch: 3, targetBatch: 0, numClasses: 2, steps: 2, evalRows: 4, clients: 2, seed: 13 },
    { kind: 'facmic', dim: 20, batch: 12, targetBatch: 3, numClasses: 6, steps: 2, evalRows: 8, clients: 5, seed: 16 },
    { kind: 'fedclip', dim: 14, batch: 7, targetBatch: 0, numClasses: 4, steps: 3, evalRows: 6, clients: 3, seed: 14 },
    { kind: 'fedclip', dim: 8, batch: 5, targetBatch: 6, numClasses: 3, steps: 2, evalRows: 5, clients: 2, seed: 15 },
  ] as const;
  it.each(configurations)('$kind D=$dim B=$batch target=$targetBatch C=$numClasses', async (configuration) => {
    await useBackend('cpu');
    const vectors = parseParityVectors(generateReferenceVectors(configuration));
    expect(vectors.dim).toBe(configuration.dim);
    expect(vectors.steps).toHaveLength(configuration.steps);
    const report = await replayParity(vectors, { absoluteTolerance: 1e-5 });
    const worst = report.quantities.reduce((a, b) => (b.maxRelativeError > a.maxRelativeError ? b : a));
    expect(report.maxRelativeError, `worst: ${worst.name}`).toBeLessThanOrEqual(PARITY_RELATIVE_TOLERANCE);
    expect(report.quantities.some((quantity) => quantity.name.includes('grad'))).toBe(true);
  });
});

describe('parseParityVectors', () => {
  it('reads shapes and optimiser settings from the file', () => {
    const vectors = parseParityVectors(loadFixture());
    expect([vectors.dim, vectors.batchSize, vectors.numClasses, vectors.kind]).toEqual([32, 12, 4, 'facmic']);
    expect(vectors.adam).toEqual({ learningRate: 5e-5, beta1: 0.9, beta2: 0.98, epsilon: 1e-6, weightDecay: 0.02 });
    expect(vectors.settingsSource.learningRate).toBe('conventions');
  });

  it('rejects malformed files with a clear error', () => {
    expect(() => parseParityVectors([])).toThrow(/top level/);
    const fixture = loadFixture();
    (fixture.steps as Record<string, unknown>[])[0]!.labels = [1, 2];
    expect(() => parseParityVectors(fixture)).toThrow(/steps\[0\]\.labels has 2 values, expected 12/);
    const other = loadFixture();
    (other.initial_state as Record<string, unknown>)['9.weight'] = [1];
    expect(() => parseParityVectors(other)).toThrow(/initial_state\.9\.weight is not an entry/);
  });
});

describe('maxRelativeError', () => {
  it('treats elements within 1e-6 as matching and NaN or length mismatch as infinite', () => {
    expect(maxRelativeError([1e-7], [0]).max).toBe(0);
    expect(maxRelativeError([1.001], [1]).max).toBeCloseTo(1e-3, 9);
    expect(maxRelativeError([Number.NaN], [1]).max).toBe(Number.POSITIVE_INFINITY);
    expect(maxRelativeError([1, 2], [1]).max).toBe(Number.POSITIVE_INFINITY);
    expect(maxRelativeError([2e-6], [0]).mismatches).toBe(1);
  });
});
