import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  advertiseKeysSchema,
  bytesToBase64,
  keyRosterSchema,
  maskedInputRequestSchema,
  maskedInputSchema,
  SECURE_AGGREGATION_MAX_SITES,
  SECURE_AGGREGATION_REFUSAL_REASONS,
  secureAggregationRefusalSchema,
  shareKeysSchema,
  unmaskingRequestSchema,
  unmaskingResponseSchema,
} from './index.ts';

const key = (fill: number) => bytesToBase64(Uint8Array.from({ length: 65 }, (_, i) => (i === 0 ? 4 : fill)));
const share = bytesToBase64(new Uint8Array(32).fill(9));
const ciphertext = bytesToBase64(new Uint8Array(97).fill(3));
const sites = Array.from({ length: SECURE_AGGREGATION_MAX_SITES }, (_, i) => `site-${i}`);

function roster(count: number, threshold = Math.floor(count / 2) + 1) {
  return {
    session: 'fed-a/r1/a1',
    threshold,
    participants: sites.slice(0, count).map((siteId, i) => ({ siteId, index: i + 1, encryptionKey: key(i), maskingKey: key(200 - i) })),
    encoding: { ringBits: 32, maxWeight: 4096, siteCount: count, bounds: { '0.weight': 0.0169, '1.num_batches_tracked': 199 }, length: 527_362 },
  };
}

describe('secure aggregation messages', () => {
  it('take rosters of 2 to 100 sites with unique ids and indexes and a threshold within the roster', () => {
    expect(keyRosterSchema.safeParse(roster(2)).success).toBe(true);
    expect(keyRosterSchema.safeParse(roster(100)).success).toBe(true);
    expect(keyRosterSchema.safeParse(roster(1, 1)).success).toBe(false);
    const tooMany = { ...roster(100), participants: [...roster(100).participants, { ...roster(100).participants[0]!, siteId: 'site-x', index: 100 }] };
    expect(keyRosterSchema.safeParse(tooMany).success).toBe(false);
    const repeated = roster(3);
    repeated.participants[2]!.siteId = 'site-0';
    expect(keyRosterSchema.safeParse(repeated).success).toBe(false);
    expect(keyRosterSchema.safeParse(roster(3, 4)).success).toBe(false);
    expect(keyRosterSchema.safeParse({ ...roster(3), encoding: { ...roster(3).encoding, siteCount: 4 } }).success).toBe(false);
  });

  it('check key, share and ciphertext sizes', () => {
    expect(advertiseKeysSchema.safeParse({ session: 's1', encryptionKey: key(1), maskingKey: key(2) }).success).toBe(true);
    expect(advertiseKeysSchema.safeParse({ session: 's1', encryptionKey: key(1).slice(4), maskingKey: key(2) }).success).toBe(false);
    expect(advertiseKeysSchema.safeParse({ session: 'bad session', encryptionKey: key(1), maskingKey: key(2) }).success).toBe(false);
    expect(unmaskingResponseSchema.safeParse({ session: 's1', selfMaskShares: [{ of: 'site-1', share }], keyShares: [] }).success).toBe(true);
    expect(unmaskingResponseSchema.safeParse({ session: 's1', selfMaskShares: [{ of: 'site-1', share: share.slice(4) }], keyShares: [] }).success).toBe(false);
    expect(shareKeysSchema.safeParse({ session: 's1', shares: sites.slice(1).map((to) => ({ to, ciphertext })) }).success).toBe(true);
    expect(shareKeysSchema.safeParse({ session: 's1', shares: [{ to: 'site-1', ciphertext }, { to: 'site-1', ciphertext }] }).success).toBe(false);
    expect(maskedInputRequestSchema.safeParse({ session: 's1', shares: [{ from: 'site-1', ciphertext: '***' }] }).success).toBe(false);
  });

  it('take the masked input as binary (Node Buffer or browser ArrayBuffer)', () => {
    const parsed = maskedInputSchema.parse({ session: 's1', maskedInput: new Uint32Array(4).buffer });
    expect(parsed.maskedInput).toBeInstanceOf(Uint8Array);
    expect(parsed.maskedInput.byteLength).toBe(16);
    expect(maskedInputSchema.safeParse({ session: 's1', maskedInput: 'AAAA' }).success).toBe(false);
  });

  it('refuse an unmasking request that names a site both as survivor and as dropped', () => {
    expect(unmaskingRequestSchema.safeParse({ session: 's1', survivors: ['site-1', 'site-2'], dropped: ['site-3'] }).success).toBe(true);
    expect(unmaskingRequestSchema.safeParse({ session: 's1', survivors: ['site-1', 'site-2'], dropped: ['site-2'] }).success).toBe(false);
  });

  it('give every refusal reason a description, listed in the README', () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    for (const reason of Object.keys(SECURE_AGGREGATION_REFUSAL_REASONS)) {
      expect(secureAggregationRefusalSchema.safeParse({ session: 's1', phase: 'unmasking', reason, message: 'x' }).success).toBe(true);
      expect(readme).toContain(`| \`${reason}\` |`);
    }
  });
});
