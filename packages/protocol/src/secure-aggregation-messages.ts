/**
 * Messages of secure aggregation (Bonawitz et al., CCS 2017, semi-honest variant, complete graph) between the sites
 * of one round and the coordinator. The coordinator only ever sees public keys, ciphertexts of shares addressed to
 * other sites, masked inputs and the shares it needs to remove masks: never a site's update.
 *
 * One session is one round's attempt at a secure sum (`session` binds every key, ciphertext and mask to it):
 *
 * | phase | coordinator -> site | site -> coordinator |
 * |---|---|---|
 * | 0 advertise keys | `secagg:begin` | `secagg:advertise-keys` (two P-256 public keys) |
 * | 1 share keys | `secagg:roster` (U1: every site's keys and index, threshold, input encoding) | `secagg:share-keys` (one ciphertext per other site) |
 * | 2 masked input | `secagg:masked-input-request` (the ciphertexts addressed to this site: U2) | `secagg:masked-input` (x + masks mod 2^32) |
 * | 3 unmasking | `secagg:unmasking-request` (survivors U3, dropped U2 \ U3) | `secagg:unmasking-response` (self-mask shares of survivors, key shares of dropped sites) |
 *
 * A site that will not do what it is asked answers `secagg:refusal` with a reason from
 * {@link SECURE_AGGREGATION_REFUSAL_REASONS}. Binary data: the masked input is binary (little-endian uint32 words);
 * keys, ciphertexts and shares are base64 text (small).
 */
import { z } from 'zod';
import { binarySchema } from './binary.ts';
import { MAX_SAMPLE_COUNT, siteIdSchema } from './federation.ts';

/** Sites one session can hold: the complete graph costs each site one key agreement and one mask per other site. */
export const SECURE_AGGREGATION_MAX_SITES = 100;
export const SECURE_AGGREGATION_MIN_SITES = 2;

export const SECURE_AGGREGATION_EVENTS = {
  begin: 'secagg:begin',
  advertiseKeys: 'secagg:advertise-keys',
  roster: 'secagg:roster',
  shareKeys: 'secagg:share-keys',
  maskedInputRequest: 'secagg:masked-input-request',
  maskedInput: 'secagg:masked-input',
  unmaskingRequest: 'secagg:unmasking-request',
  unmaskingResponse: 'secagg:unmasking-response',
  refusal: 'secagg:refusal',
} as const;

export const SECURE_AGGREGATION_PHASES = ['advertise-keys', 'share-keys', 'masked-input', 'unmasking'] as const;
export const secureAggregationPhaseSchema = z.enum(SECURE_AGGREGATION_PHASES);
export type SecureAggregationPhase = z.infer<typeof secureAggregationPhaseSchema>;

/** A session id chosen by the coordinator, unique per round attempt, e.g. `fed-3k9x2m7q/r12/a1`. */
export const secureAggregationSessionSchema = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9:./_-]{0,127}$/, 'session ids are 1-128 letters, digits or :./_-');

function exactBase64(bytes: number, what: string) {
  const length = Math.ceil(bytes / 3) * 4;
  return z.string().length(length, `${what} is ${bytes} bytes (${length} base64 characters)`).regex(/^[A-Za-z0-9+/]*={0,2}$/, 'not base64');
}

/** An uncompressed P-256 public key (0x04 || x || y), base64. */
export const publicKeySchema = exactBase64(65, 'a P-256 public key');
/** A Shamir share: one element of the P-256 scalar field, 32 bytes big-endian, base64. */
export const shamirShareSchema = exactBase64(32, 'a share');
/** An AES-GCM ciphertext of a share pair: IV || ciphertext || tag, base64, at most 256 bytes. */
export const shareCiphertextSchema = z.string().min(4).max(344).regex(/^[A-Za-z0-9+/]*={0,2}$/, 'not base64');

function uniqueBy<T>(key: (item: T) => string, what: string) {
  return (items: readonly T[], context: z.RefinementCtx) => {
    const seen = new Set<string>();
    for (const item of items) {
      const value = key(item);
      if (seen.has(value)) context.addIssue({ code: 'custom', message: `${what} ${value} appears twice` });
      seen.add(value);
    }
  };
}

const siteListSchema = z.array(siteIdSchema).max(SECURE_AGGREGATION_MAX_SITES).superRefine(uniqueBy((id: string) => id, 'site'));

/**
 * How a site turns its update into the vector that is masked (`@facmic/privacy`'s fixed point): integers mod 2^32,
 * entry e's delta clipped to [-bounds[e], bounds[e]] and scaled by (2^31 - siteCount) / (siteCount maxWeight bounds[e]),
 * the weight (sample count clipped to maxWeight; 1 under DP) in the last word.
 */
export const fixedPointEncodingSchema = z.strictObject({
  ringBits: z.literal(32),
  maxWeight: z.int().min(1).max(MAX_SAMPLE_COUNT),
  siteCount: z.int().min(SECURE_AGGREGATION_MIN_SITES).max(SECURE_AGGREGATION_MAX_SITES),
  bounds: z.record(z.string().min(1).max(200), z.number().positive()),
  /** Words in the vector (module values + 1). */
  length: z.int().min(2).max(16_777_216),
});
export type FixedPointEncoding = z.infer<typeof fixedPointEncodingSchema>;

/** `secagg:begin` (coordinator -> each participant): a session starts; generate keys and advertise them. */
export const secureAggregationBeginSchema = z.strictObject({
  session: secureAggregationSessionSchema,
  round: z.int().min(1),
});
export type SecureAggregationBegin = z.infer<typeof secureAggregationBeginSchema>;

/** `secagg:advertise-keys` (site): c_PK for encrypting shares, s_PK for pairwise masks (both fresh per session). */
export const advertiseKeysSchema = z.strictObject({
  session: secureAggregationSessionSchema,
  encryptionKey: publicKeySchema,
  maskingKey: publicKeySchema,
});
export type AdvertiseKeys = z.infer<typeof advertiseKeysSchema>;

export const rosterEntrySchema = z.strictObject({
  siteId: siteIdSchema,
  /** The site's Shamir x-coordinate, 1..n; also orders the pairwise masks' signs. */
  index: z.int().min(1).max(SECURE_AGGREGATION_MAX_SITES),
  encryptionKey: publicKeySchema,
  maskingKey: publicKeySchema,
});
export type RosterEntry = z.infer<typeof rosterEntrySchema>;

/** `secagg:roster` (coordinator -> every site of U1): who takes part, with which keys, and the threshold t. */
export const keyRosterSchema = z
  .strictObject({
    session: secureAggregationSessionSchema,
    threshold: z.int().min(SECURE_AGGREGATION_MIN_SITES).max(SECURE_AGGREGATION_MAX_SITES),
    participants: z
      .array(rosterEntrySchema)
      .min(SECURE_AGGREGATION_MIN_SITES)
      .max(SECURE_AGGREGATION_MAX_SITES)
      .superRefine(uniqueBy((entry: RosterEntry) => entry.siteId, 'site'))
      .superRefine(uniqueBy((entry: RosterEntry) => String(entry.index), 'index')),
    encoding: fixedPointEncodingSchema,
  })
  .refine((roster) => roster.threshold <= roster.participants.length, { error: 'threshold exceeds the number of participants', path: ['threshold'] })
  .refine((roster) => roster.encoding.siteCount === roster.participants.length, { error: 'encoding.siteCount must equal the number of participants', path: ['encoding', 'siteCount'] });
export type KeyRoster = z.infer<typeof keyRosterSchema>;

/** `secagg:share-keys` (site): for every other site v of the roster, Enc(u, v, share of s_SK, share of b). */
export const shareKeysSchema = z.strictObject({
  session: secureAggregationSessionSchema,
  shares: z
    .array(z.strictObject({ to: siteIdSchema, ciphertext: shareCiphertextSchema }))
    .min(1)
    .max(SECURE_AGGREGATION_MAX_SITES - 1)
    .superRefine(uniqueBy((share: { to: string }) => share.to, 'recipient')),
});
export type ShareKeys = z.infer<typeof shareKeysSchema>;

/** `secagg:masked-input-request` (coordinator -> each site of U2): the ciphertexts other sites of U2 addressed to it. */
export const maskedInputRequestSchema = z.strictObject({
  session: secureAggregationSessionSchema,
  shares: z
    .array(z.strictObject({ from: siteIdSchema, ciphertext: shareCiphertextSchema }))
    .min(1)
    .max(SECURE_AGGREGATION_MAX_SITES - 1)
    .superRefine(uniqueBy((share: { from: string }) => share.from, 'sender')),
});
export type MaskedInputRequest = z.infer<typeof maskedInputRequestSchema>;

/** `secagg:masked-input` (site): y = x + PRG(b) + sum_v +-PRG(s_uv) mod 2^32, little-endian uint32 words. */
export const maskedInputSchema = z.strictObject({
  session: secureAggregationSessionSchema,
  maskedInput: binarySchema,
});
export type MaskedInput = z.input<typeof maskedInputSchema>;
export type ParsedMaskedInput = z.output<typeof maskedInputSchema>;

/** `secagg:unmasking-request` (coordinator -> each site of U3): who sent a masked input and who dropped. */
export const unmaskingRequestSchema = z
  .strictObject({
    session: secureAggregationSessionSchema,
    survivors: siteListSchema.min(1),
    dropped: siteListSchema,
  })
  .refine((request) => !request.survivors.some((site) => request.dropped.includes(site)), { error: 'a site is listed as both survivor and dropped', path: ['dropped'] });
export type UnmaskingRequest = z.infer<typeof unmaskingRequestSchema>;

/** `secagg:unmasking-response` (site): its share of b_v for every survivor v, of s_SK_v for every dropped v. */
export const unmaskingResponseSchema = z.strictObject({
  session: secureAggregationSessionSchema,
  selfMaskShares: z
    .array(z.strictObject({ of: siteIdSchema, share: shamirShareSchema }))
    .max(SECURE_AGGREGATION_MAX_SITES)
    .superRefine(uniqueBy((share: { of: string }) => share.of, 'site')),
  keyShares: z
    .array(z.strictObject({ of: siteIdSchema, share: shamirShareSchema }))
    .max(SECURE_AGGREGATION_MAX_SITES)
    .superRefine(uniqueBy((share: { of: string }) => share.of, 'site')),
});
export type UnmaskingResponse = z.infer<typeof unmaskingResponseSchema>;

/** Why an honest site refuses a coordinator's request (it then takes no further part in the session). */
export const SECURE_AGGREGATION_REFUSAL_REASONS = {
  'wrong-session': 'The request names another session than the one the site is in.',
  'unexpected-phase': 'The request does not follow from what the site has done so far (e.g. unmasking before it sent its input).',
  'unsafe-threshold': 'The threshold is below 2, above the number of sites, or not a strict majority of them: two disjoint groups could then each unmask a site.',
  'too-few-sites': 'Fewer sites than the threshold remain: nothing can be aggregated safely.',
  'inconsistent-roster': "The roster lacks the site, replaced its keys, repeats a key, or differs from the roster the site already answered.",
  'inconsistent-share-set': 'The shares forwarded to the site name sites outside the roster, or do not decrypt and authenticate.',
  'input-already-sent': 'The site already sent a different masked input in this session (two inputs under the same masks would leak their difference).',
  'not-a-survivor': 'The site is asked to unmask although the request does not list it among the survivors.',
  'inconsistent-survivors': 'Survivors and dropped sites do not split the sites that shared keys, or differ from a request the site already answered.',
  'both-shares-requested': "The request would reveal both a site's self-mask share and its key share, which together unmask its update (the honest-but-curious check).",
} as const;
export type SecureAggregationRefusalReason = keyof typeof SECURE_AGGREGATION_REFUSAL_REASONS;
export const secureAggregationRefusalReasonSchema = z.enum(Object.keys(SECURE_AGGREGATION_REFUSAL_REASONS) as [SecureAggregationRefusalReason, ...SecureAggregationRefusalReason[]]);

/** `secagg:refusal` (site): the site will not do what it was asked, and why. */
export const secureAggregationRefusalSchema = z.strictObject({
  session: secureAggregationSessionSchema,
  phase: secureAggregationPhaseSchema,
  reason: secureAggregationRefusalReasonSchema,
  message: z.string().max(500),
});
export type SecureAggregationRefusal = z.infer<typeof secureAggregationRefusalSchema>;

/**
 * Differential privacy of a session's inputs (in `secagg:request` begin): each site clips its delta to `clipNorm`
 * and, with distributed noise, adds N(0, (noiseMultiplier clipNorm)^2 / t) to it, t the roster's threshold.
 */
export const sessionPrivacySchema = z.strictObject({
  clipNorm: z.number().positive(),
  noiseMultiplier: z.number().positive(),
  noise: z.enum(['central', 'distributed']),
});
export type SessionPrivacy = z.infer<typeof sessionPrivacySchema>;

/**
 * `secagg:request` (coordinator -> one site): what the coordinator asks of the site in the current phase of a round's
 * session. Sent when the phase starts and again when the site reconnects (always the stored message, never a new one).
 */
export const secureAggregationRequestSchema = z.discriminatedUnion('phase', [
  z.strictObject({ phase: z.literal('advertise-keys'), begin: secureAggregationBeginSchema, privacy: sessionPrivacySchema.nullable() }),
  z.strictObject({ phase: z.literal('share-keys'), roster: keyRosterSchema }),
  z.strictObject({ phase: z.literal('masked-input'), request: maskedInputRequestSchema }),
  z.strictObject({ phase: z.literal('unmasking'), request: unmaskingRequestSchema }),
]);
export type SecureAggregationRequest = z.infer<typeof secureAggregationRequestSchema>;

/** `secagg:answer` (site): its answer to the phase's request, or its refusal. Acked with `{}` or a refusal code. */
export const secureAggregationAnswerSchema = z.discriminatedUnion('phase', [
  z.strictObject({ phase: z.literal('advertise-keys'), message: advertiseKeysSchema }),
  z.strictObject({ phase: z.literal('share-keys'), message: shareKeysSchema }),
  z.strictObject({ phase: z.literal('masked-input'), message: maskedInputSchema }),
  z.strictObject({ phase: z.literal('unmasking'), message: unmaskingResponseSchema }),
  z.strictObject({ phase: z.literal('refusal'), message: secureAggregationRefusalSchema }),
]);
export type SecureAggregationAnswer = z.input<typeof secureAggregationAnswerSchema>;
export type ParsedSecureAggregationAnswer = z.output<typeof secureAggregationAnswerSchema>;
