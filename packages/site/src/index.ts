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
export type { LoadDataContext, LocalEncoderIdentity, SiteClientOptions, SiteData } from './site-client.ts';
export { SiteError, SiteEvents } from './events.ts';
export type { LocalErrorCode, SiteErrorCode, SiteEventListener, SiteEventMap, SiteEventName, SiteRunResult, SiteStatusEvent } from './events.ts';
