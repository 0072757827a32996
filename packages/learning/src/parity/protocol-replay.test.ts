import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { useBackend } from '../../test/backend.ts';
import { LearningError } from '../errors.ts';
import { isProtocolVectors, replayProtocol, summarizeProtocol } from './protocol-replay.ts';
import { PARITY_RELATIVE_TOLERANCE } from './replay.ts';

// A copy of ../shared/parity/facmic-protocol.json: the paper's own main.py loop, several rounds, everything recorded.
const FIXTURE = fileURLToPath(new URL('../../test-fixtures/facmic-protocol.json', import.meta.url));

type Json = Record<string, unknown>;

function loadFixture(): Json {
  return JSON.parse(readFileSync(FIXTURE, 'utf8')) as Json;
}

function failing(report: Awaited<ReturnType<typeof replayProtocol>>): string[] {
  return report.quantities.filter((quantity) => quantity.maxRelativeError > PARITY_RELATIVE_TOLERANCE).map((quantity) => quantity.name);
}

beforeAll(async () => { await useBackend('cpu'); });

describe('protocol replay (the paper main.py loop through trainLocal)', () => {
  it('matches every recorded quantity of every round within 1e-4', async () => {
    const fixture = loadFixture();
    expect(isProtocolVectors(fixture)).toBe(true);
    const summary = summarizeProtocol(fixture);
    const before = tf.memory().numTensors;
    const report = await replayProtocol(fixture);
    expect(tf.memory().numTensors).toBe(before);
    const names = report.quantities.map((quantity) => quantity.name);
    const last = `round ${summary.rounds}`;
    for (const expected of [
      'round 1 site 0 labels', 'round 1 site 0 pseudo_label_probs', 'round 1 site 1 lmmd_loss', 'round 1 site 2 adam exp_avg_sq 3.weight',
      `${last} site 2 state_after 1.num_batches_tracked`, `${last} site 0 adam_step`, `${last} aggregated_state 1.running_var`,
      `${last} num_batches_tracked after communication`, `${last} site 1 eval val predictions`, `${last} global eval balanced_accuracy`,
      `${last} site 0 batches drawn (the discarded pair too)`,
    ]) expect(names).toContain(expected);
    expect(failing(report)).toEqual([]);
    expect(report.passed).toBe(true);
  });

  it('knows nothing of the number of rounds: a file cut after the first round passes too', async () => {
    const fixture = loadFixture();
    fixture.rounds = (fixture.rounds as unknown[]).slice(0, 1);
    const report = await replayProtocol(fixture);
    expect(report.passed).toBe(true);
  });

  it('fails on one number off by 1% in a late round, and only there', async () => {
    const fixture = loadFixture();
    const rounds = fixture.rounds as Json[];
    const lastRound = rounds[rounds.length - 1]!;
    const site = (lastRound.local as Json[])[1]!;
    const step = (site.steps as Json[])[0]!;
    step.lmmd_loss = (step.lmmd_loss as number) * 1.01;
    const report = await replayProtocol(fixture);
    expect(report.passed).toBe(false);
    expect(failing(report)).toEqual([`round ${rounds.length} site ${String(site.site)} lmmd_loss`]);
  });

  it('catches a replay that ignored the recorded batch order or the Adam state', async () => {
    const shuffled = loadFixture();
    const step = ((((shuffled.rounds as Json[])[0]!.local as Json[])[0]!.steps as Json[])[0]!);
    step.source_rows = [...(step.source_rows as number[])].reverse().map((row, i, all) => (i === 0 ? all[all.length - 1]! : row));
    const report = await replayProtocol(shuffled);
    expect(failing(report)).toContain('round 1 site 0 labels');

    const steps = loadFixture();
    const local = ((steps.rounds as Json[])[1]!.local as Json[])[0]!;
    local.adam_step = (local.adam_step as number) + 1;
    expect(failing(await replayProtocol(steps))).toEqual(['round 2 site 0 adam_step']);
  });

  it('refuses a malformed file with a typed error', async () => {
    const fixture = loadFixture();
    const site = (fixture.sites as Json[])[0]!;
    (site.split as Json).train = [0, 1, 1e9];
    await expect(replayProtocol(fixture)).rejects.toThrow(LearningError);
    await expect(replayProtocol({ rounds: [], sites: [] })).rejects.toThrow(/config/);
  });
});
