/** Admin operations that need more than the state machine: encoding a new federation's data, invites, demo runs. */
import { createHmac, randomBytes } from 'node:crypto';
import { initialModuleState } from '@facmic/learning';
import { buildDemoHospitalLink, buildInviteLink, type DemoHospital, type FederationSettings, type InviteCreated } from '@facmic/protocol';
import { generateId, generateToken, hashToken } from './auth.ts';
import { DEMO_HOSPITAL_NAMES, demoRunId, demoRunSettings } from './demo.ts';
import type { FederationEngine } from './engine.ts';
import { encoderForDtype, type FeatureEncoder } from './features/feature-encoder.ts';
import { buildFederationData } from './features/federation-data.ts';
import type { Logger } from './logger.ts';
import { accept, refuse, RefusalError, type Outcome } from './outcome.ts';
import type { CoordinatorStore, FederationRecord, SiteRecord } from './store/store.ts';

const DEMO_FEDERATION_KEY = 'demo_federation_id';
const VIRTUAL_SECRET_KEY = 'virtual_site_secret';

export interface FederationServiceOptions {
  engine: FederationEngine;
  store: CoordinatorStore;
  encoder: () => Promise<FeatureEncoder>;
  logger: Logger;
  /** Base URL for invite links. */
  publicUrl: () => string;
}

/** A new demo run, its demo hospitals, and the run it replaced (stopped if it was still going), or null. */
export interface StartedDemoRun {
  record: FederationRecord;
  hospitals: DemoHospital[];
  previous: FederationRecord | null;
}

const TERMINAL_STATUSES: readonly string[] = ['stopped', 'finished'];

export class FederationService {
  private readonly creating = new Set<string>();
  private demoRunStarting: Promise<Outcome<StartedDemoRun>> | null = null;

  constructor(private readonly options: FederationServiceOptions) {}

  /**
   * Encodes the data sources, then creates the federation (state `waiting`, initial model stored as round 0). A data
   * source that cannot be used (an empty folder, an unreadable upload, the encoder failing) is refused with a reason.
   */
  async create(settings: FederationSettings, actor: string, extra: { id?: string; isDemo?: boolean; seed?: number } = {}): Promise<Outcome<{ federation: FederationRecord }>> {
    const id = extra.id ?? generateId('fed');
    if (this.options.store.getFederation(id) || this.creating.has(id)) return refuse('INVALID_TRANSITION', `federation ${id} already exists`);
    this.creating.add(id);
    try {
      const encoder = await encoderForDtype(await this.options.encoder(), settings.encoderDtype);
      const seed = extra.seed ?? randomBytes(4).readUInt32LE(0);
      const data = await buildFederationData(settings, encoder, seed);
      const { reference: _reference, globalTest: _globalTest, ...stored } = settings;
      const created = this.options.engine.createFederation({
        id,
        settings: stored,
        encoder: encoder.identity,
        features: data.features,
        featuresChecksum: data.featuresChecksum,
        referenceCount: data.referenceCount,
        globalTest: data.globalTest,
        initialState: initialModuleState(settings.method, encoder.identity.featureDim, seed),
        isDemo: extra.isDemo ?? false,
        actor,
      });
      if (!created.ok) return created;
      if (extra.isDemo === true) this.options.store.setSetting(DEMO_FEDERATION_KEY, id);
      this.options.logger.info('federation created', { federation: id, name: settings.name, reference: data.referenceCount, globalTest: data.globalTestCount });
      return created;
    } catch (error) {
      if (error instanceof RefusalError) return error.refusal;
      throw error;
    } finally {
      this.creating.delete(id);
    }
  }

  /**
   * A fresh run of the demo federation (same settings, next free id `demo-brain-tumor[-n]`) with its three demo
   * hospitals, made the current demo. The run it replaces is stopped once the new one exists (so a failed start
   * changes nothing) and stays listed. Audited as `demo.run-started`. A request while a run is being created gets
   * that run.
   */
  startDemoRun(actor: string, stepsPerRound?: number): Promise<Outcome<StartedDemoRun>> {
    if (this.demoRunStarting) return this.demoRunStarting;
    const starting = (async (): Promise<Outcome<StartedDemoRun>> => {
      const previousId = this.demoFederationId();
      let run = 1;
      while (this.options.store.getFederation(demoRunId(run)) || this.creating.has(demoRunId(run))) run++;
      const settings = demoRunSettings(run);
      const created = await this.create(stepsPerRound === undefined ? settings : { ...settings, training: { ...settings.training, stepsPerRound } }, actor, { id: demoRunId(run), isDemo: true });
      if (!created.ok) return created;
      const record = created.federation;
      for (const name of DEMO_HOSPITAL_NAMES) {
        const id = generateId('site');
        const site = this.options.engine.createSite({ id, federationId: record.id, name, tokenHash: hashToken(this.derivedToken(id)), virtual: false, actor });
        if (!site.ok) return site;
      }
      let previous = previousId === null ? null : this.options.store.getFederation(previousId);
      if (previous && !TERMINAL_STATUSES.includes(previous.status)) {
        const stopped = this.options.engine.stop(previous.id, actor);
        previous = stopped.ok ? stopped.federation : this.options.store.getFederation(previous.id);
      }
      this.options.engine.recordAudit(actor, 'demo.run-started', record.id, { run, previous: previous?.id ?? null, previousStatus: previous?.status ?? null });
      this.options.logger.info('demo run started', { federation: record.id, run, previous: previous?.id ?? null });
      return accept({ record, hospitals: this.demoHospitals(record.id), previous });
    })();
    this.demoRunStarting = starting;
    return starting.finally(() => {
      this.demoRunStarting = null;
    });
  }

  /**
   * The demo hospitals of a demo run, with their links (`demo=<index>`), as often as asked: their tokens are derived
   * from the coordinator's secret, like virtual hospitals'. Index = creation order; revoked hospitals are left out.
   */
  demoHospitals(federationId: string): DemoHospital[] {
    const sites = this.options.store
      .listSites(federationId)
      .filter((site) => !site.virtual && site.tokenHash === hashToken(this.derivedToken(site.id)))
      .sort((a, b) => a.createdAt - b.createdAt || a.name.localeCompare(b.name));
    return sites.flatMap((site, index) =>
      site.revokedAt !== null
        ? []
        : [{ siteId: site.id, name: site.name, index, link: buildDemoHospitalLink(buildInviteLink(this.options.publicUrl(), federationId, this.derivedToken(site.id)), index) }],
    );
  }

  demoFederationId(): string | null {
    const id = this.options.store.getSetting(DEMO_FEDERATION_KEY);
    return id !== null && this.options.store.getFederation(id) ? id : null;
  }

  /** A new site of the federation and its invite; the token is returned this once (only its hash is stored). */
  createInvite(federationId: string, name: string, actor: string): Outcome<{ invite: InviteCreated; record: SiteRecord }> {
    const token = generateToken();
    const created = this.options.engine.createSite({ id: generateId('site'), federationId, name, tokenHash: hashToken(token), virtual: false, actor });
    if (!created.ok) return created;
    const invite: InviteCreated = { site: this.options.engine.views.siteSummary(created.site), token, link: buildInviteLink(this.options.publicUrl(), federationId, token) };
    return accept({ invite, record: created.site });
  }

  /**
   * A virtual hospital (demo): its token is derived from a secret kept in the store, so the coordinator can restart
   * its virtual hospitals after a restart of its own.
   */
  createVirtualSite(federationId: string, name: string, actor: string): Outcome<{ record: SiteRecord; token: string }> {
    const id = generateId('site');
    const token = this.virtualToken(id);
    const created = this.options.engine.createSite({ id, federationId, name, tokenHash: hashToken(token), virtual: true, actor });
    return created.ok ? accept({ record: created.site, token }) : created;
  }

  virtualToken(siteId: string): string {
    return this.derivedToken(siteId);
  }

  /** A site token the coordinator can compute again (virtual and demo hospitals): HMAC of the site id with a stored secret. */
  private derivedToken(siteId: string): string {
    let secret = this.options.store.getSetting(VIRTUAL_SECRET_KEY);
    if (secret === null) {
      secret = randomBytes(32).toString('base64url');
      this.options.store.setSetting(VIRTUAL_SECRET_KEY, secret);
    }
    return createHmac('sha256', secret).update(siteId).digest('base64url');
  }
}
