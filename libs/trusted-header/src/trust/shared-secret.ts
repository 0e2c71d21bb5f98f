import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/** A shared secret the proxy sends with every request, validated at startup. */
export interface ResolvedSharedSecret {
  /** Header name (display form, e.g. `X-Proxy-Secret`). */
  readonly header: string;
  /** Accepted secrets: one, or two while the proxy's is being rotated. */
  readonly secrets: readonly string[];
}

export const MIN_SHARED_SECRET_LENGTH = 32;
export const MAX_SHARED_SECRETS = 2;

/**
 * Compiles the comparison of a presented secret with every configured one. Both sides are first reduced to an
 * HMAC under a key drawn at startup, so the compared buffers always have one length: `timingSafeEqual` never
 * throws on a short or long guess, and the time taken says nothing about the secret's length or prefix. Every
 * configured secret is compared, without stopping at the first match, so which one matched does not show either.
 */
export function compileSharedSecretCheck(secret: ResolvedSharedSecret): (presented: string | undefined) => boolean {
  const key = randomBytes(32);
  const digest = (value: string) => createHmac('sha256', key).update(value, 'utf8').digest();
  const expected = secret.secrets.map(digest);
  return (presented) => {
    if (presented === undefined) return false;
    const given = digest(presented);
    let matched = false;
    for (const candidate of expected) matched = timingSafeEqual(given, candidate) || matched;
    return matched;
  };
}
