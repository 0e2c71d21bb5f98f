import type { CryptoKey } from 'jose';
import type { ResolvedAssertionOptions } from './assertion-options.js';
import { invalid, type AssertionOutcome } from './assertion-outcome.js';
import { checkTimes } from './claim-times.js';
import { decodeJsonObject, type TokenParts } from './token-shape.js';

const P256_SIGNATURE_BYTES = 64;

/**
 * An AWS ALB token. ALB signs the padded segments, so the signature only checks over the segments exactly as
 * received; JWT libraries rebuild the signing input from strict base64url and either refuse the token or fail
 * its signature. The ES256 signature is checked here over the received bytes (Web Crypto's ECDSA takes the
 * raw r||s form JWS uses), then ALB's own fields and the claims: `signer` and `client` in the header, `iss`
 * and `exp` in the payload, and the copies of `iss` and `exp` ALB also puts in the header.
 */
export async function verifyAlbToken(
  parts: TokenParts,
  key: CryptoKey,
  options: ResolvedAssertionOptions,
  nowSeconds: number,
): Promise<AssertionOutcome> {
  const { header } = parts;
  if (header.alg !== 'ES256') return invalid('ERR_JOSE_ALG_NOT_ALLOWED', 'AWS ALB tokens are signed with ES256');
  // RFC 7515: a critical extension we do not implement makes the token unusable.
  if (header.crit !== undefined) return invalid('ERR_JWS_INVALID', 'the token requires extensions not supported');
  if (!(await signatureHolds(parts, key))) {
    return invalid('ERR_JWS_SIGNATURE_VERIFICATION_FAILED', 'the token signature does not verify');
  }
  // Another load balancer of the same account signs with the same regional keys: only ours may speak here.
  if (options.albArn === null || header.signer !== options.albArn) {
    return invalid('ERR_ALB_SIGNER_MISMATCH', 'the token was signed by another load balancer');
  }
  if (typeof header.client !== 'string' || !options.audience.includes(header.client)) {
    return invalid('ERR_ALB_CLIENT_MISMATCH', 'the token was issued for another client');
  }
  const claims = decodeJsonObject(parts.payloadSegment);
  if (claims === null) return invalid('ERR_JWT_INVALID', 'the token payload is not a JSON object');
  return checkAlbClaims(header, claims, options, nowSeconds) ?? { kind: 'verified', claims, header };
}

async function signatureHolds(parts: TokenParts, key: CryptoKey): Promise<boolean> {
  const signature = Buffer.from(parts.signatureSegment, 'base64url');
  if (signature.length !== P256_SIGNATURE_BYTES) return false;
  try {
    const data = Buffer.from(parts.signingInput, 'ascii');
    return await crypto.subtle.verify({ name: 'ECDSA', hash: 'SHA-256' }, key, signature, data);
  } catch {
    // A key of another kind (not P-256) cannot have made this signature.
    return false;
  }
}

function checkAlbClaims(
  header: Readonly<Record<string, unknown>>,
  claims: Readonly<Record<string, unknown>>,
  options: ResolvedAssertionOptions,
  nowSeconds: number,
): AssertionOutcome | null {
  // Two copies that disagree are refused, never resolved in the token's favour.
  for (const where of header.iss === undefined ? [claims] : [claims, header]) {
    if (where.iss !== options.issuer) {
      return invalid('ERR_JWT_CLAIM_VALIDATION_FAILED', 'unexpected "iss" claim value');
    }
  }
  const tolerance = options.clockToleranceSeconds;
  const failure =
    checkTimes(claims, nowSeconds, tolerance) ??
    (header.exp === undefined ? null : checkTimes({ exp: header.exp }, nowSeconds, tolerance));
  return failure === null ? null : invalid(failure.code, failure.detail);
}
