/**
 * Typed errors of the privacy core. Every error carries a machine-readable `code`, so the coordinator and the site can
 * react to the kind of failure (refuse a message, fail a round, warn the user) without parsing messages.
 */

export class PrivacyError<C extends string = string> extends Error {
  readonly code: C;

  constructor(code: C, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = 'PrivacyError';
  }
}

export type CryptoErrorCode = 'no-webcrypto' | 'bad-key' | 'decryption-failed' | 'big-endian-platform';

/** WebCrypto is missing, a key does not parse, or a ciphertext does not authenticate. */
export class CryptoError extends PrivacyError<CryptoErrorCode> {
  constructor(code: CryptoErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.name = 'CryptoError';
  }
}

export type EncodingErrorCode = 'invalid-parameters' | 'layout-mismatch' | 'invalid-weight' | 'non-finite' | 'ring-overflow' | 'invalid-sum';

/** Fixed-point or 8-bit encoding got inconsistent input. */
export class EncodingError extends PrivacyError<EncodingErrorCode> {
  constructor(code: EncodingErrorCode, message: string) {
    super(code, message);
    this.name = 'EncodingError';
  }
}

export type DifferentialPrivacyErrorCode = 'invalid-parameters' | 'budget-unreachable';

/** A DP parameter is out of range, or a target cannot be met. */
export class DifferentialPrivacyError extends PrivacyError<DifferentialPrivacyErrorCode> {
  constructor(code: DifferentialPrivacyErrorCode, message: string) {
    super(code, message);
    this.name = 'DifferentialPrivacyError';
  }
}
