/**
 * A small federation for tests and benchmarks: what `engine.createFederation` takes (synthetic encoder identity,
 * constant features, the seeded initial module) and the record it stores.
 */
import { initialModuleState } from '@facmic/learning/plain';
import { createFederationRequestSchema, encodeTensors, FEATURE_TENSOR_NAMES } from '@facmic/protocol';
import type { NewFederation } from './engine.ts';
import { syntheticEncoderIdentity } from './features/synthetic-encoder.ts';
import type { FederationRecord } from './store/store.ts';

export interface FederationFixture {
  id?: string;
  dim: number;
  quorum: number;
  rounds?: number;
  roundDeadlineSeconds?: number;
  minRoundSeconds?: number;
  classNames?: string[];
}

export function newFederationFixture(options: FederationFixture): NewFederation {
  const { dim } = options;
  const classNames = options.classNames ?? ['a', 'b'];
  const { reference: _r, globalTest: _g, ...settings } = createFederationRequestSchema.parse({
    name: 'F',
    classNames,
    quorum: options.quorum,
    rounds: options.rounds ?? 3,
    roundDeadlineSeconds: options.roundDeadlineSeconds ?? 60,
    minRoundSeconds: options.minRoundSeconds ?? 0,
  });
  const { bytes: features, checksum } = encodeTensors({
    [FEATURE_TENSOR_NAMES.text]: { shape: [classNames.length, dim], data: new Float32Array(classNames.length * dim).fill(1) },
    [FEATURE_TENSOR_NAMES.reference]: { shape: [2, dim], data: new Float32Array(2 * dim).fill(0.5) },
  });
  return {
    id: options.id ?? 'fed-1',
    settings,
    encoder: syntheticEncoderIdentity(dim),
    features,
    featuresChecksum: checksum,
    referenceCount: 2,
    globalTest: null,
    initialState: initialModuleState('facmic', dim, 1),
    isDemo: false,
    actor: 'test',
  };
}

/** The record of such a federation, in any state (`over`), without a store. */
export function federationRecordFixture(options: FederationFixture, over: Partial<FederationRecord> = {}): FederationRecord {
  const input = newFederationFixture(options);
  return {
    id: input.id,
    settings: input.settings,
    encoder: input.encoder,
    featuresChecksum: input.featuresChecksum,
    referenceCount: input.referenceCount,
    hasGlobalTest: false,
    isDemo: false,
    status: 'waiting',
    pausedFrom: null,
    round: 0,
    deadline: null,
    pausedRemainingMs: null,
    createdAt: 0,
    updatedAt: 0,
    ...over,
  };
}
