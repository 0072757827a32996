/**
 * Invite links: `<coordinator url>/site?f=<federation id>&t=<site token>`. An admin creates one per hospital; opening
 * it loads the hospital page, which connects to the coordinator at the link's origin (and base path) as that site.
 */
import { federationIdSchema, tokenSchema } from './federation.ts';

export const SITE_PAGE_PATH = '/site';
export const INVITE_FEDERATION_PARAM = 'f';
export const INVITE_TOKEN_PARAM = 't';
/** Added to an invite link, `demo=<n>` makes the hospital page generate demo hospital n's images (no folder). */
export const DEMO_HOSPITAL_PARAM = 'demo';
/** Demo hospitals' indices run from 0 to this (exclusive). */
export const MAX_DEMO_HOSPITALS = 64;

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

/** The invite link of demo hospital `index` (0-based): the page generates that hospital's images itself. */
export function buildDemoHospitalLink(inviteLink: string, index: number): string {
  if (!Number.isInteger(index) || index < 0 || index >= MAX_DEMO_HOSPITALS) throw new RangeError(`demo hospital index ${index} is not in 0..${MAX_DEMO_HOSPITALS - 1}`);
  const url = new URL(inviteLink);
  url.searchParams.set(DEMO_HOSPITAL_PARAM, String(index));
  return url.toString();
}

/** The demo hospital index of a hospital page address (`demo=<n>`), or null when it has none or a bad one. */
export function readDemoHospitalIndex(search: URLSearchParams): number | null {
  const value = search.get(DEMO_HOSPITAL_PARAM);
  if (value === null || !/^\d{1,2}$/.test(value)) return null;
  const index = Number(value);
  return index < MAX_DEMO_HOSPITALS ? index : null;
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
