/**
 * DP-FedAvg without secure aggregation (central noise): the coordinator sees each site's update, clips its delta
 * from the round's global model to S itself (it does not rely on the sites), averages with weight 1 per site, adds
 * N(0, (sigma S / k)^2) to the mean and applies it (`@facmic/privacy`'s `dpMeanDelta`). Read from the stored
 * submissions at the close, so a restart gives the same kind of result.
 */
import { moduleSpec } from '@facmic/learning/plain';
import { applyMeanDelta, dpMeanDelta, inputLayout, stateDelta } from '@facmic/privacy';
import { decodeTensors } from '@facmic/protocol';
import { nextNoiseMultiplier } from './privacy-budget.ts';
import type { RoundAggregate } from './round-ingest.ts';
import { moduleSpecOf } from './submission-check.ts';
import type { CoordinatorStore, FederationRecord } from './store/store.ts';

export function dpCentralAggregate(store: CoordinatorStore, federation: FederationRecord, round: number): RoundAggregate & { noiseMultiplier: number } {
  const dp = federation.settings.privacy.differentialPrivacy;
  if (!dp) throw new Error('dpCentralAggregate needs differential privacy settings');
  const tensorSpec = moduleSpecOf(federation);
  const layout = inputLayout(moduleSpec(federation.settings.method, federation.encoder.featureDim));
  const model = store.getGlobalModel(federation.id, round - 1);
  if (!model) throw new Error(`no global model of round ${round - 1}`);
  const global = decodeTensors(model.weights, { expected: tensorSpec }).tensors;
  const contributors: string[] = [];
  const deltas: Float64Array[] = [];
  for (const submission of store.listSubmissions(federation.id, round, { withWeights: true })) {
    if (!submission.weights) throw new Error(`the weights of ${submission.siteId} were pruned`);
    deltas.push(stateDelta(layout, decodeTensors(submission.weights, { expected: tensorSpec, base: { round: round - 1, tensors: global } }).tensors, global));
    contributors.push(submission.siteId);
  }
  const noiseMultiplier = nextNoiseMultiplier(dp, federation.settings.rounds);
  const mean = dpMeanDelta(layout, deltas, { noiseMultiplier, clipNorm: dp.clipNorm, placement: 'central' });
  return { state: applyMeanDelta(layout, global, mean), contributors, totalSamples: contributors.length, noiseMultiplier };
}
