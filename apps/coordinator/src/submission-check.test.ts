/** The submission check alone: a pure function of the federation, its round and what the site stored. */
import { initialModuleState } from '@facmic/learning/plain';
import { crc32, encodeTensors, type ParsedSubmission } from '@facmic/protocol';
import { describe, expect, it } from 'vitest';
import { federationRecordFixture } from './federation-fixture.ts';
import type { FederationRecord, SubmissionRecord } from './store/store.ts';
import { checkSubmission, maxWeightsBytes, type SubmissionContext } from './submission-check.ts';

const DIM = 4;
const state = initialModuleState('facmic', DIM, 1);
const weights = encodeTensors(state).bytes;

const federation: FederationRecord = federationRecordFixture({ id: 'fed', dim: DIM, quorum: 1, rounds: 5 }, { status: 'training', round: 2, deadline: 1 });

const submission = (over: Partial<ParsedSubmission> = {}): ParsedSubmission => ({
  federationId: 'fed',
  round: 2,
  sampleCount: 10,
  weights,
  metrics: { trainLoss: null, steps: 1, trainSeconds: 0, globalModel: null, localModel: null },
  ...over,
});

const context = (over: Partial<SubmissionContext> = {}): SubmissionContext => ({
  siteId: 'site-a',
  sessionFederationId: 'fed',
  federation,
  participants: ['site-a'],
  existing: null,
  ...over,
});

const stored: SubmissionRecord = {
  federationId: 'fed',
  round: 2,
  siteId: 'site-a',
  sampleCount: 10,
  weights,
  checksum: 'cafe0001',
  bytes: weights.byteLength,
  dtype: 'float32',
  metrics: submission().metrics,
  receivedAt: 0,
};

/** encodeTensors refuses NaN: write a finite marker, put NaN in its place, then fix the trailer. */
function withNaN(): Uint8Array {
  const bad = initialModuleState('facmic', DIM, 1);
  bad['3.bias']!.data[1] = 12345.5;
  const bytes = encodeTensors(bad).bytes;
  const view = new DataView(bytes.buffer);
  for (let offset = 0; offset < bytes.byteLength - 4; offset += 4) if (view.getFloat32(offset, true) === 12345.5) view.setFloat32(offset, Number.NaN, true);
  view.setUint32(bytes.byteLength - 4, crc32(bytes.subarray(0, bytes.byteLength - 4)), true);
  return bytes;
}

describe('checkSubmission', () => {
  it.each<[string, SubmissionContext, ParsedSubmission, string]>([
    ['another federation', context(), submission({ federationId: 'other' }), 'FOREIGN_SUBMISSION'],
    ['a deleted federation', context({ federation: null }), submission(), 'UNKNOWN_FEDERATION'],
    ['other weights for a round already submitted', context({ existing: stored }), submission({ weights: encodeTensors(initialModuleState('facmic', DIM, 2)).bytes }), 'DUPLICATE_SUBMISSION'],
    ['a stopped federation', context({ federation: { ...federation, status: 'stopped' } }), submission(), 'FEDERATION_STOPPED'],
    ['a finished federation', context({ federation: { ...federation, status: 'finished' } }), submission(), 'FEDERATION_FINISHED'],
    ['a past round', context(), submission({ round: 1 }), 'STALE_ROUND'],
    ['a future round', context(), submission({ round: 3 }), 'WRONG_ROUND'],
    ['the next round of a federation paused between rounds', context({ federation: { ...federation, status: 'paused', pausedFrom: 'waiting' } }), submission({ round: 3 }), 'FEDERATION_PAUSED'],
    ['a round being aggregated', context({ federation: { ...federation, status: 'aggregating' } }), submission(), 'ROUND_CLOSED'],
    ['a site that joined mid-round', context({ participants: ['site-b'] }), submission(), 'NOT_A_PARTICIPANT'],
    ['weights larger than the module', context(), submission({ weights: new Uint8Array(maxWeightsBytes(federation) + 1) }), 'PAYLOAD_TOO_LARGE'],
    ['another module', context(), submission({ weights: encodeTensors(initialModuleState('fedclip', DIM, 1)).bytes }), 'WEIGHTS_SHAPE_MISMATCH'],
    ['random bytes', context(), submission({ weights: Uint8Array.from({ length: 512 }, (_, i) => i & 0xff) }), 'BAD_WEIGHTS'],
    ['NaN in the weights', context(), submission({ weights: withNaN() }), 'NON_FINITE_WEIGHTS'],
  ])('refuses %s', (_label, ctx, sub, code) => {
    expect(checkSubmission(ctx, sub)).toMatchObject({ ok: false, code });
  });

  it('acknowledges the same weights again as a duplicate, with the stored checksum', () => {
    expect(checkSubmission(context({ existing: stored }), submission())).toEqual({ ok: true, checked: { kind: 'duplicate', checksum: 'cafe0001' } });
  });

  it('accepts an update while training or paused in training, decoded once, with its checksum and dtype', () => {
    const accepted = checkSubmission(context(), submission());
    expect(accepted).toMatchObject({ ok: true, checked: { kind: 'update', checksum: encodeTensors(state).checksum, dtype: 'float32' } });
    if (accepted.ok && accepted.checked.kind === 'update') expect(accepted.checked.state['0.weight']!.data).toEqual(state['0.weight']!.data);
    const paused = { ...federation, status: 'paused' as const, pausedFrom: 'training' as const };
    const half = encodeTensors(state, { dtype: 'float16', float32Names: ['1.num_batches_tracked'] }).bytes;
    expect(checkSubmission(context({ federation: paused }), submission({ weights: half }))).toMatchObject({ ok: true, checked: { kind: 'update', dtype: 'float16' } });
  });
});
