/** Tokens: generated with the platform CSPRNG, stored only as SHA-256 hashes, compared in constant time. */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { CoordinatorStore } from './store/store.ts';

/** A new random token (256 bits, base64url: 43 characters). */
export function generateToken(): string {
  return randomBytes(32).toString('base64url');
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** Constant-time comparison of a presented token with a stored hash. */
export function tokenMatches(token: string, storedHash: string): boolean {
  const presented = Buffer.from(hashToken(token), 'hex');
  const stored = Buffer.from(storedHash, 'hex');
  return presented.length === stored.length && timingSafeEqual(presented, stored);
}

/** A short random id with a prefix, e.g. `fed-3k9x2m7q` (lowercase letters and digits). */
export function generateId(prefix: string): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
  const bytes = randomBytes(10);
  let id = '';
  for (const b of bytes) id += alphabet[b % alphabet.length] as string;
  return `${prefix}-${id}`;
}

const ADMIN_TOKEN_HASH_KEY = 'admin_token_hash';

export interface AdminTokenSetup {
  /** Hash the coordinator checks admin requests against. */
  hash: string;
  /** The token in clear when it was generated now (print it once), else null. */
  generated: string | null;
  source: 'env' | 'stored' | 'generated';
}

/**
 * The admin token: `FACMIC_ADMIN_TOKEN` when set (its hash is stored, replacing an older one); else the hash stored
 * on an earlier start; else a new token, stored hashed and returned once in clear. `reset` forces a new one.
 */
export function setUpAdminToken(store: CoordinatorStore, fromEnv: string | null, reset = false): AdminTokenSetup {
  if (fromEnv !== null) {
    const hash = hashToken(fromEnv);
    store.setSetting(ADMIN_TOKEN_HASH_KEY, hash);
    return { hash, generated: null, source: 'env' };
  }
  const stored = store.getSetting(ADMIN_TOKEN_HASH_KEY);
  if (stored !== null && !reset) return { hash: stored, generated: null, source: 'stored' };
  const token = generateToken();
  const hash = hashToken(token);
  store.setSetting(ADMIN_TOKEN_HASH_KEY, hash);
  return { hash, generated: token, source: 'generated' };
}

/** The token of an `Authorization: Bearer <token>` header, or null. */
export function bearerToken(header: string | undefined): string | null {
  if (header === undefined) return null;
  const match = /^Bearer\s+(\S{1,512})\s*$/i.exec(header);
  return match?.[1] ?? null;
}
