/** What verifying one signed assertion concluded. */
export type AssertionOutcome =
  | {
      readonly kind: 'verified';
      readonly claims: Readonly<Record<string, unknown>>;
      readonly header: Readonly<Record<string, unknown>>;
    }
  /** `code`: jose's error code (`ERR_JWT_EXPIRED`, ...) or one of ours (`ERR_ALB_SIGNER_MISMATCH`, ...). */
  | { readonly kind: 'invalid'; readonly code: string; readonly detail: string }
  /** The keys could not be fetched: an outage of the key endpoint, not a verdict on the token. */
  | { readonly kind: 'keys_unavailable'; readonly detail: string };

export const invalid = (code: string, detail: string): AssertionOutcome => ({ kind: 'invalid', code, detail });
