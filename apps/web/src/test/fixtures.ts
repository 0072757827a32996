/** Plain-data fixtures for the web app's component tests (rendered to static markup, no browser). */
import { NO_PRIVACY, type CoordinatorInfo, type FederationConfig, type RoundUpdate } from '@facmic/protocol';
import type { SiteSession } from '../lib/site-session.ts';

export function federationFixture(over: Partial<FederationConfig> = {}): FederationConfig {
  return {
    id: 'fed-test',
    name: 'Test federation',
    classNames: ['glioma', 'pituitary'],
    promptTemplate: 'a picture of a {class}',
    prompts: ['a picture of a glioma', 'a picture of a pituitary'],
    method: 'facmic',
    rounds: 50,
    training: {
      localEpochs: 1,
      stepsPerRound: null,
      batchSize: 32,
      optimizer: { name: 'adam', learningRate: 5e-5, betas: [0.9, 0.98], epsilon: 1e-6, weightDecay: 0.02 },
    },
    quorum: 2,
    roundDeadlineSeconds: 600,
    minRoundSeconds: 0,
    encoder: { modelId: 'facmic-tiny-clip', hash: 'c4ce96ce4e1b0000', featureDim: 512 },
    module: { kind: 'facmic', featureDim: 512 },
    features: { referenceCount: 64, checksum: 'abc' },
    hasGlobalTest: true,
    privacy: NO_PRIVACY,
    createdAt: 0,
    ...over,
  };
}

export function coordinatorInfoFixture(source: CoordinatorInfo['encoder']['source'] = 'tiny'): CoordinatorInfo {
  return {
    service: 'facmic-coordinator',
    version: '0.1.0',
    protocolVersion: 2,
    minProtocolVersion: 2,
    encoder: {
      modelId: 'facmic-tiny-clip',
      hash: 'c4ce96ce4e1b0000',
      featureDim: 512,
      source,
      note: 'the generated tiny CLIP (random weights): the whole pipeline runs, but accuracy says nothing about FACMIC. Run `npm run models:fetch` for the real model.',
    },
    demoFederationId: null,
    paths: { models: '/models/', ort: '/ort/' },
  };
}

export function roundFixture(over: Partial<RoundUpdate> = {}): RoundUpdate {
  return {
    federationId: 'fed-test',
    status: 'training',
    pausedFrom: null,
    round: 3,
    totalRounds: 50,
    deadline: Date.now() + 60_000,
    latestModelRound: 2,
    participating: true,
    submitted: true,
    participants: 1,
    submissions: 1,
    quorum: 1,
    readySites: 1,
    privacy: null,
    ...over,
  };
}

export function sessionFixture(over: Partial<SiteSession> = {}): SiteSession {
  return {
    coordinatorUrl: 'http://127.0.0.1:3000',
    federationId: 'fed-test',
    token: 'token-token-token-token',
    device: 'auto',
    demoSite: null,
    siteName: 'Hospital A',
    federationName: 'Test federation',
    seed: 1,
    createdAt: 0,
    updatedAt: 0,
    rounds: [],
    ...over,
  };
}
