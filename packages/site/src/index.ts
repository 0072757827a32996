/**
 * @facmic/site: a hospital's round loop, platform-free. Used by the web app's Web Worker and by Node sites.
 *
 * ```ts
 * const site = createSiteClient({ coordinatorUrl, federationId, token, encoder, loadData });
 * site.on('status', (s) => show(s.phase, s.progress));
 * const result = await site.run(); // { reason: 'finished' | 'stopped' | 'aborted', roundsSubmitted }
 * ```
 */
export { createSiteClient, SiteClient } from './site-client.ts';
export type { LoadDataContext, LocalEncoderIdentity, SiteClientOptions } from './site-options.ts';
export type { SiteData, FederationFeatures } from './site-data.ts';
export type { ConnectionOptions } from './connection.ts';
export { decideRound, takesPart } from './decide-round.ts';
export type { LocalProgress, NextStep, RoundDecision } from './decide-round.ts';
export { trainRound } from './train-round.ts';
export type { OptimizerRestore, OptimizerStore, SavedOptimizer } from './optimizer-state.ts';
export { createMemoryOptimizerStore, restoreOptimizer, saveOptimizer } from './optimizer-state.ts';
export type { TrainedUpdate, TrainRoundInput } from './train-round.ts';
export { SiteError, SiteEvents } from './events.ts';
export type {
  LocalErrorCode,
  SiteErrorCode,
  SiteEventListener,
  SiteEventMap,
  SiteEventMessage,
  SiteEventMessageListener,
  SiteEventName,
  SiteRunResult,
  SiteStatusEvent,
} from './events.ts';
