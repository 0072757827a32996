/**
 * Invite links: `<coordinator url>/site?f=<federation id>&t=<site token>`. An admin creates one per hospital; opening
 * it loads the hospital page, which connects to the coordinator at the link's origin (and base path) as that site.
 */
import { federationIdSchema, tokenSchema } from './federation.ts';

export const SITE_PAGE_PATH = '/site';
export const INVITE_FEDERATION_PARAM = 'f';
export const INVITE_TOKEN_PARAM = 't';

export interface Invite {
  /** Coordinator base URL without a trailing slash, e.g. `http://10.0.0.5:3000`. */
  coordinatorUrl: string;
  federationId: string;
  token: string;
}

/** The invite link for a site token. */
export function buildInviteLink(coordinatorUrl: string, federationId: string, token: string): string {
  const base = coordinatorUrl.replace(/\/+$/, '');
  const params = new URLSearchParams({ [INVITE_FEDERATION_PARAM]: federationId, [INVITE_TOKEN_PARAM]: token });
  return `${base}${SITE_PAGE_PATH}?${params.toString()}`;
}

/**
 * Reads an invite link (parameters in the query or, equally, in the fragment). Returns null when the link is not an
 * invite or its id or token is malformed.
 */
export function parseInviteLink(link: string): Invite | null {
  let url: URL;
  try {
    url = new URL(link);
  } catch {
    return null;
  }
  const params = new URLSearchParams(url.search);
  if (!params.has(INVITE_TOKEN_PARAM) && url.hash.length > 1) {
    for (const [k, v] of new URLSearchParams(url.hash.slice(1))) params.set(k, v);
  }
  const federationId = federationIdSchema.safeParse(params.get(INVITE_FEDERATION_PARAM));
  const token = tokenSchema.safeParse(params.get(INVITE_TOKEN_PARAM));
  if (!federationId.success || !token.success) return null;
  const path = url.pathname.replace(/\/+$/, '');
  if (!path.endsWith(SITE_PAGE_PATH)) return null;
  const basePath = path.slice(0, path.length - SITE_PAGE_PATH.length);
  return { coordinatorUrl: `${url.origin}${basePath}`, federationId: federationId.data, token: token.data };
}
