/**
 * The kinds of signed-assertion failure a metric tells apart. jose's codes, ours and any a later version adds
 * fall into this fixed set, so the number of series stays bounded whatever a client sends.
 */
export type AssertionErrorType =
  'missing' | 'malformed' | 'algorithm' | 'signature' | 'expired' | 'claims' | 'key' | 'unverifiable';

export const ASSERTION_ERROR_TYPES: readonly AssertionErrorType[] = Object.freeze([
  'missing',
  'malformed',
  'algorithm',
  'signature',
  'expired',
  'claims',
  'key',
  'unverifiable',
]);

const TYPE_OF_CODE: Readonly<Record<string, AssertionErrorType>> = Object.freeze({
  ERR_ASSERTION_MISSING: 'missing',
  ERR_NOT_BEARER: 'malformed',
  ERR_TOKEN_TOO_LONG: 'malformed',
  ERR_JWS_INVALID: 'malformed',
  ERR_JWT_INVALID: 'malformed',
  ERR_JOSE_ALG_NOT_ALLOWED: 'algorithm',
  ERR_JOSE_NOT_SUPPORTED: 'algorithm',
  ERR_JWS_SIGNATURE_VERIFICATION_FAILED: 'signature',
  ERR_JWT_EXPIRED: 'expired',
  ERR_JWT_CLAIM_VALIDATION_FAILED: 'claims',
  ERR_ALB_SIGNER_MISMATCH: 'claims',
  ERR_ALB_CLIENT_MISMATCH: 'claims',
  ERR_JWKS_NO_MATCHING_KEY: 'key',
  ERR_JWKS_MULTIPLE_MATCHING_KEYS: 'key',
  ERR_ALB_KID_INVALID: 'key',
  ERR_ALB_KEY_INVALID: 'key',
  ERR_KEY_IMPORT_FAILED: 'key',
});

/** The kind of an assertion failure code; a code not listed is `unverifiable`. */
export function assertionErrorType(code: string): AssertionErrorType {
  return Object.hasOwn(TYPE_OF_CODE, code) ? TYPE_OF_CODE[code]! : 'unverifiable';
}
