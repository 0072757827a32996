/**
 * The dashboard's REST calls to the coordinator (admin token as a Bearer token). Answers are validated with the
 * protocol's schemas; failures become {@link AdminApiError}s carrying the protocol's error code and message.
 */
import {
  ackFailureSchema,
  auditEntrySchema,
  coordinatorInfoSchema,
  currentDemoRunSchema,
  demoRunStartedSchema,
  federationDetailSchema,
  federationSummarySchema,
  inviteCreatedSchema,
  roundSummarySchema,
  siteSummarySchema,
  submissionSummarySchema,
  virtualSitesAddedSchema,
  type AuditEntry,
  type CoordinatorInfo,
  type CreateFederationRequest,
  type DemoRun,
  type DemoRunStarted,
  type FederationDetail,
  type FederationSummary,
  type InviteCreated,
  type RoundSummary,
  type SiteSummary,
  type SubmissionSummary,
  type UpdateFederationRequest,
} from '@facmic/protocol';
import { z } from 'zod';

export class AdminApiError extends Error {
  override readonly name = 'AdminApiError';
  constructor(
    readonly code: string,
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

export type FederationAction = 'pause' | 'resume' | 'stop';

export class AdminApi {
  constructor(
    readonly baseUrl: string,
    private readonly token: string,
  ) {}

  private async call<S extends z.ZodType>(schema: S, method: string, path: string, body?: unknown): Promise<z.output<S>> {
    let response: Response;
    try {
      response = await fetch(`${this.baseUrl}${path}`, {
        method,
        headers: { authorization: `Bearer ${this.token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    } catch {
      throw new AdminApiError('NETWORK', 'The coordinator cannot be reached. Check that it is running and that this address is right.', 0);
    }
    const payload: unknown = response.status === 204 ? {} : await response.json().catch(() => null);
    if (!response.ok) {
      const failure = ackFailureSchema.safeParse(payload);
      throw failure.success
        ? new AdminApiError(failure.data.code, failure.data.message, response.status)
        : new AdminApiError('HTTP', `The coordinator answered ${response.status} ${response.statusText}.`, response.status);
    }
    const parsed = schema.safeParse(payload);
    if (!parsed.success) throw new AdminApiError('PROTOCOL', `Unexpected answer from the coordinator to ${method} ${path}.`, response.status);
    return parsed.data;
  }

  info(): Promise<CoordinatorInfo> {
    return this.call(coordinatorInfoSchema, 'GET', '/api/info');
  }

  listFederations(): Promise<FederationSummary[]> {
    return this.call(z.object({ federations: z.array(federationSummarySchema) }), 'GET', '/api/federations').then((r) => r.federations);
  }

  createFederation(request: CreateFederationRequest): Promise<FederationDetail> {
    return this.call(federationDetailSchema, 'POST', '/api/federations', request);
  }

  getFederation(id: string): Promise<FederationDetail> {
    return this.call(federationDetailSchema, 'GET', `/api/federations/${encodeURIComponent(id)}`);
  }

  updateFederation(id: string, patch: UpdateFederationRequest): Promise<FederationDetail> {
    return this.call(federationDetailSchema, 'PATCH', `/api/federations/${encodeURIComponent(id)}`, patch);
  }

  act(id: string, action: FederationAction): Promise<FederationSummary> {
    return this.call(federationSummarySchema, 'POST', `/api/federations/${encodeURIComponent(id)}/${action}`, {});
  }

  listSites(id: string): Promise<SiteSummary[]> {
    return this.call(z.object({ sites: z.array(siteSummarySchema) }), 'GET', `/api/federations/${encodeURIComponent(id)}/sites`).then((r) => r.sites);
  }

  createInvite(id: string, name: string): Promise<InviteCreated> {
    return this.call(inviteCreatedSchema, 'POST', `/api/federations/${encodeURIComponent(id)}/invites`, { name });
  }

  /** Revokes a site's invite: it is disconnected and cannot rejoin with it. */
  revokeSite(id: string, siteId: string): Promise<SiteSummary> {
    return this.call(siteSummarySchema, 'DELETE', `/api/federations/${encodeURIComponent(id)}/invites/${encodeURIComponent(siteId)}`);
  }

  /** A fresh run of the demo federation, made the current demo; the run it replaces is stopped if still going. */
  startDemoRun(): Promise<DemoRunStarted> {
    return this.call(demoRunStartedSchema, 'POST', '/api/demo/runs', {});
  }

  /** The current demo run with its demo hospitals' links, or null when the coordinator has none. */
  currentDemoRun(): Promise<DemoRun | null> {
    return this.call(currentDemoRunSchema, 'GET', '/api/demo/runs/current').then((r) => r.run);
  }

  addVirtualSites(id: string, count: number): Promise<SiteSummary[]> {
    return this.call(virtualSitesAddedSchema, 'POST', `/api/federations/${encodeURIComponent(id)}/virtual-sites`, { count }).then((r) => r.sites);
  }

  listRounds(id: string): Promise<RoundSummary[]> {
    return this.call(z.object({ rounds: z.array(roundSummarySchema) }), 'GET', `/api/federations/${encodeURIComponent(id)}/rounds`).then((r) => r.rounds);
  }

  /** Every accepted submission of the federation, with each site's metrics. */
  submissions(id: string): Promise<SubmissionSummary[]> {
    return this.call(z.object({ submissions: z.array(submissionSummarySchema) }), 'GET', `/api/federations/${encodeURIComponent(id)}/metrics`).then((r) => r.submissions);
  }

  /** The newest audit entries of a federation, oldest first. */
  audit(id: string, limit = 500): Promise<AuditEntry[]> {
    const query = new URLSearchParams({ federationId: id, limit: String(limit) });
    return this.call(z.object({ entries: z.array(auditEntrySchema) }), 'GET', `/api/audit?${query.toString()}`).then((r) => [...r.entries].sort((a, b) => a.id - b.id));
  }

  /** The global model published after `round` (0: the initial model) as a tensor file. */
  async downloadModel(id: string, round: number): Promise<Blob> {
    const response = await fetch(`${this.baseUrl}/api/federations/${encodeURIComponent(id)}/models/${round}`, { headers: { authorization: `Bearer ${this.token}` } });
    if (!response.ok) {
      const failure = ackFailureSchema.safeParse(await response.json().catch(() => null));
      throw new AdminApiError(failure.success ? failure.data.code : 'HTTP', failure.success ? failure.data.message : `The coordinator answered ${response.status}.`, response.status);
    }
    return response.blob();
  }
}
