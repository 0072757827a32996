/**
 * A federation's privacy settings (issue 14): secure aggregation (Bonawitz et al. 2017, `@facmic/privacy`),
 * differential privacy (DP-FedAvg with a Rényi-DP accountant) and the update encoding. Part of the federation
 * settings an admin creates, and of the federation every site is shown.
 */
import { z } from 'zod';

/** How a site sends its update without secure aggregation: 4, 2 or about 1 byte per value. */
export const UPDATE_ENCODINGS = ['float32', 'float16', 'int8'] as const;
export const updateEncodingSchema = z.enum(UPDATE_ENCODINGS);
export type UpdateEncoding = z.infer<typeof updateEncodingSchema>;

export const secureAggregationSettingsSchema = z.strictObject({
  enabled: z.boolean().default(false),
  /**
   * Fewest sites whose inputs a round's sum may hold (and fewest still answering to unmask it). null: a strict
   * majority of the sites that advertised keys, floor(n/2) + 1; a smaller value is raised to that (sites refuse less).
   */
  threshold: z.int().min(2).max(100) /* SECURE_AGGREGATION_MIN_SITES..MAX_SITES */.nullable().default(null),
  /** Seconds each phase after the key advertisement waits for the sites (they answer in well under a second). */
  phaseSeconds: z.int().min(1).max(3600).default(60),
});
export type SecureAggregationSettings = z.infer<typeof secureAggregationSettingsSchema>;

export const NOISE_PLACEMENTS = ['central', 'distributed'] as const;

export const differentialPrivacySettingsSchema = z.strictObject({
  /** The privacy budget of the whole federation (all its rounds). */
  epsilon: z.number().positive().max(1000),
  delta: z.number().gt(0).lt(1),
  /** S: L2 norm each site's update (the difference from the round's global model) is clipped to. */
  clipNorm: z.number().positive().max(1e6),
  /** Who adds the noise: the coordinator (central) or every site its share (distributed; needs secure aggregation). */
  noise: z.enum(NOISE_PLACEMENTS).default('central'),
});
export type DifferentialPrivacySettings = z.infer<typeof differentialPrivacySettingsSchema>;

export const privacySettingsSchema = z
  .strictObject({
    secureAggregation: secureAggregationSettingsSchema.prefault({}),
    /** null: no differential privacy. */
    differentialPrivacy: differentialPrivacySettingsSchema.nullable().default(null),
    /** Ignored under secure aggregation, whose fixed-point words replace it. */
    updateEncoding: updateEncodingSchema.default('float32'),
  })
  .refine((p) => p.differentialPrivacy?.noise !== 'distributed' || p.secureAggregation.enabled, {
    error: 'distributed noise needs secure aggregation (without it the coordinator would see each noisy share)',
    path: ['differentialPrivacy', 'noise'],
  });
export type PrivacySettings = z.output<typeof privacySettingsSchema>;
export const NO_PRIVACY: PrivacySettings = privacySettingsSchema.parse({});

/** Privacy spent so far, as the dashboard and the hospital page show it (null without differential privacy). */
export const privacySpentSchema = z.strictObject({
  epsilonSpent: z.number().min(0),
  epsilonBudget: z.number().positive(),
  delta: z.number(),
  roundsAccounted: z.int().min(0),
  /** The noise multiplier of the next round (sigma: noise std / clip norm). */
  noiseMultiplier: z.number().positive().nullable(),
});
export type PrivacySpent = z.infer<typeof privacySpentSchema>;
