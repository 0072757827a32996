/**
 * The newest global model, for the "classify an image" panel. The round loop keeps its own copy private, so the
 * worker downloads the published model over the coordinator's REST API with the site's own token.
 */
import { ackFailureSchema, type FederationConfig } from '@facmic/protocol';
import type { SiteInvite } from './worker-messages.ts';

export interface GlobalModelFile {
  readonly round: number;
  readonly bytes: Uint8Array;
}

let cached: { key: string; model: GlobalModelFile } | null = null;

export function globalModelUrl(invite: SiteInvite, round: number): string {
  return `${invite.coordinatorUrl}/api/federations/${encodeURIComponent(invite.federationId)}/models/${round}`;
}

/** The global model published after `round` (0: the initial model), cached per round. */
export async function fetchGlobalModel(invite: SiteInvite, federation: FederationConfig, round: number): Promise<GlobalModelFile> {
  const key = `${federation.id}:${round}`;
  if (cached?.key === key) return cached.model;
  const response = await fetch(globalModelUrl(invite, round), { headers: { authorization: `Bearer ${invite.token}` } });
  if (!response.ok) {
    const failure = ackFailureSchema.safeParse(await response.json().catch(() => null));
    throw new Error(failure.success ? failure.data.message : `the coordinator answered ${response.status} for the model of round ${round}`);
  }
  const model = { round, bytes: new Uint8Array(await response.arrayBuffer()) };
  cached = { key, model };
  return model;
}
