export interface TimeFailure {
  readonly code: string;
  readonly detail: string;
}

const claimFailed = (detail: string): TimeFailure => ({ code: 'ERR_JWT_CLAIM_VALIDATION_FAILED', detail });

/**
 * A token issued in the future was minted by a clock we should not believe, or made to outlive its key's
 * rotation. jose 6 checks `iat` only when `maxTokenAge` is set, which would also make `iat` required (AWS ALB
 * sends none), so the check is ours.
 */
export function checkIssuedAt(
  claims: Readonly<Record<string, unknown>>,
  nowSeconds: number,
  toleranceSeconds: number,
): TimeFailure | null {
  const iat = claims.iat;
  if (iat === undefined) return null;
  if (typeof iat !== 'number' || !Number.isFinite(iat)) return claimFailed('the "iat" claim is not a number');
  return iat > nowSeconds + toleranceSeconds ? claimFailed('the token was issued in the future') : null;
}

/**
 * `exp` (required), `nbf` and `iat`, for the tokens jose does not read itself (AWS ALB's), with jose's rules:
 * expired when `exp <= now - tolerance`, not yet valid when `nbf > now + tolerance`.
 */
export function checkTimes(
  claims: Readonly<Record<string, unknown>>,
  nowSeconds: number,
  toleranceSeconds: number,
): TimeFailure | null {
  const { exp, nbf } = claims;
  if (typeof exp !== 'number' || !Number.isFinite(exp))
    return claimFailed('the "exp" claim is missing or not a number');
  if (exp <= nowSeconds - toleranceSeconds) return { code: 'ERR_JWT_EXPIRED', detail: 'the token has expired' };
  if (nbf !== undefined) {
    if (typeof nbf !== 'number' || !Number.isFinite(nbf)) return claimFailed('the "nbf" claim is not a number');
    if (nbf > nowSeconds + toleranceSeconds) return claimFailed('the token is not valid yet');
  }
  return checkIssuedAt(claims, nowSeconds, toleranceSeconds);
}
