/**
 * @facmic/privacy: what keeps a hospital's update private, platform-free (WebCrypto only; no tfjs, sockets or
 * storage): secure aggregation after Bonawitz et al. (CCS 2017) with its fixed-point input encoding, DP-FedAvg's
 * clipping and Gaussian noise with a Rényi-DP accountant, and an 8-bit update encoding.
 */
export * from './errors.ts';
export * from './fixed-point.ts';
export * from './shamir.ts';
export * from './random.ts';
export * from './secure-aggregation/index.ts';
export * from './dp/index.ts';
export * from './compression/int8-update.ts';
export { syntheticRoundState } from './synthetic-update.ts';
export type { KeyPairRecord } from './crypto/key-agreement.ts';
export { generateKeyPair, agree, PUBLIC_KEY_BYTES } from './crypto/key-agreement.ts';
export { expandMask } from './crypto/mask-prg.ts';
export { randomBytes } from './crypto/webcrypto.ts';
