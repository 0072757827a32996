/**
 * A site's requests to the coordinator: features and models (decoded and checked against the federation) and the
 * submission of an update. Each throws a SiteError (`CONNECTION_LOST` and others) where the request failed.
 */
import type { ModuleState } from '@facmic/learning';
import { moduleTensorSpec } from '@facmic/learning/plain';
import { decodeTensors, featuresAckSchema, FEATURE_TENSOR_NAMES, modelAckSchema, siteReadyAckSchema, submissionAckSchema, type FederationConfig } from '@facmic/protocol';
import type { z } from 'zod';
import type { SiteConnection } from './connection.ts';
import { SiteError } from './events.ts';
import { rowsOf, type FederationFeatures, type SiteData } from './site-data.ts';
import type { TrainedUpdate } from './train-round.ts';

/** The class prompts' text features and the reference set. */
export async function fetchFeatures(connection: SiteConnection, federation: FederationConfig): Promise<FederationFeatures> {
  const answer = await connection.request(featuresAckSchema, 'features:get', {});
  if (!answer.ok) throw new SiteError(answer.code, answer.message);
  const dim = federation.encoder.featureDim;
  const decoded = decodeTensors(answer.data, {
    expected: { [FEATURE_TENSOR_NAMES.text]: [federation.classNames.length, dim], [FEATURE_TENSOR_NAMES.reference]: [federation.features.referenceCount, dim] },
  });
  const text = decoded.tensors[FEATURE_TENSOR_NAMES.text];
  const reference = decoded.tensors[FEATURE_TENSOR_NAMES.reference];
  if (!text || !reference) throw new SiteError('PROTOCOL_VIOLATION', 'features file lacks text or reference features');
  return { text: { dim, features: text.data }, reference: { dim, features: reference.data }, checksum: decoded.checksum };
}

/** The global model published after `round` (0: the initial model), validated against the federation's module. */
export async function fetchModel(connection: SiteConnection, federation: FederationConfig, round: number): Promise<{ state: ModuleState; checksum: string; bytes: number }> {
  const answer = await connection.request(modelAckSchema, 'model:get', { round });
  if (!answer.ok) throw new SiteError(answer.code, answer.message);
  const state = decodeTensors(answer.data, { expected: moduleTensorSpec(federation.module.kind, federation.module.featureDim) }).tensors;
  return { state, checksum: answer.checksum, bytes: answer.data.byteLength };
}

/** Sends a trained update; the coordinator's answer (accepted, duplicate or refused with a code). */
export function submitUpdate(connection: SiteConnection, federationId: string, update: TrainedUpdate): Promise<z.output<typeof submissionAckSchema>> {
  const submission = { federationId, round: update.round, sampleCount: update.sampleCount, weights: update.bytes, metrics: update.metrics };
  return connection.request(submissionAckSchema, 'round:submit', submission, 'upload');
}

/** `site:ready` with the encoder's hash and the site's sample counts; the coordinator's answer (the round, or a refusal). */
export function announceReady(connection: SiteConnection, encoderHash: string, data: SiteData): Promise<z.output<typeof siteReadyAckSchema>> {
  return connection.request(siteReadyAckSchema, 'site:ready', { encoderHash, trainSamples: rowsOf(data.train), testSamples: data.test ? rowsOf(data.test) : 0 });
}
