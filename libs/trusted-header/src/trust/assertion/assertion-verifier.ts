import { jwtVerify, type CryptoKey, type JWSHeaderParameters } from 'jose';
import { LRUCache } from 'lru-cache';
import { settle, type MaybePromise } from '../../common/maybe-promise.js';
import { AlbKeySet } from './alb-key-set.js';
import { verifyAlbToken } from './alb-token.js';
import type { AssertionKeySource, ResolvedAssertionOptions } from './assertion-options.js';
import { invalid, type AssertionOutcome } from './assertion-outcome.js';
import { checkIssuedAt } from './claim-times.js';
import { JwksKeySet } from './jwks-key-set.js';
import type { KeyFetchSettings } from './key-fetch.js';
import type { KeySource } from './key-source.js';
import { PemKey } from './pem-key.js';
import { readToken, type TokenParts } from './token-shape.js';

export type { AssertionOutcome } from './assertion-outcome.js';

type Verified = Extract<AssertionOutcome, { kind: 'verified' }>;

/**
 * Public-key signature algorithms only. `none` proves nothing, and an HMAC algorithm would verify with the
 * public key's bytes as the secret, which anyone can read (algorithm confusion): both are dropped here even
 * if configuration let one through.
 */
const ASYMMETRIC = /^(?:(?:RS|PS|ES)(?:256|384|512)|EdDSA|Ed25519)$/;

/**
 * How many characters of a token's end find it among the verified ones. A Map hashes a string key on every
 * lookup, and a header value is a new string on each request: hashing a whole token of a few hundred
 * characters cost more than all the rest of a cached request's work in the library (docs/performance.md). The
 * end of a token is its signature, which no one can choose for a token that verifies; the entry keeps the
 * whole token, and only that very token is a hit.
 */
const LOOKUP_LENGTH = 32;

function lookupKeyOf(token: string): string {
  return token.length > LOOKUP_LENGTH ? token.slice(-LOOKUP_LENGTH) : token;
}

interface VerifiedToken {
  readonly token: string;
  readonly outcome: Verified;
  readonly expiresAtMs: number;
}

/**
 * Verifies the signed assertions of one proxy profile. A verified token is kept until its `exp`, so the steady
 * state answers synchronously; refusals are not kept, so a flood of garbage tokens holds no memory. A key
 * dropped from the key set does not revoke a token already verified with it: that token ends at its `exp`.
 */
export class AssertionVerifier {
  private readonly algorithms: readonly string[];
  private readonly keys: KeySource;
  private readonly alb: boolean;
  /** Verified tokens by the end of their signature (lookupKeyOf). */
  private readonly verified: LRUCache<string, VerifiedToken>;
  private readonly pending = new Map<string, Promise<AssertionOutcome>>();

  constructor(private readonly options: ResolvedAssertionOptions) {
    this.algorithms = options.algorithms.filter((alg) => ASYMMETRIC.test(alg));
    this.alb = options.keys.kind === 'alb';
    this.keys = createKeySource(options.keys, this.algorithms, options);
    this.verified = new LRUCache({ max: Math.max(1, options.cacheMaxEntries) });
  }

  /**
   * Fetches or imports the keys ahead of the first token: null once they are there, else why not. Never
   * rejects; a failure is retried on the first token.
   */
  warmUp(): Promise<string | null> {
    return this.keys.warmUp().catch((error: unknown) => (error instanceof Error ? error.message : String(error)));
  }

  verify(token: string): MaybePromise<AssertionOutcome> {
    const key = lookupKeyOf(token);
    const cached = this.verified.get(key);
    // Another token with the same end is not this one: it is verified as any token not seen before.
    if (cached !== undefined && cached.token === token) {
      if (Date.now() < cached.expiresAtMs) return cached.outcome;
      this.verified.delete(key);
    }
    const shared = this.pending.get(token);
    if (shared !== undefined) return shared;
    const reading = readToken(token, this.alb);
    if (reading.kind === 'invalid') return reading;
    const alg = reading.parts.header.alg;
    if (typeof alg !== 'string' || !this.algorithms.includes(alg)) {
      return invalid('ERR_JOSE_ALG_NOT_ALLOWED', 'the token is signed with an algorithm that is not allowed');
    }
    const outcome = settle(
      () => this.keys.keyFor(reading.parts.header as JWSHeaderParameters),
      (lookup) => (lookup.kind === 'key' ? this.check(token, reading.parts, lookup.key) : lookup),
      (error) => invalid('ERR_ASSERTION_UNVERIFIABLE', describe(error)),
    );
    if (!(outcome instanceof Promise)) return outcome;
    const settled = outcome
      .catch((error: unknown) => invalid('ERR_ASSERTION_UNVERIFIABLE', describe(error)))
      .finally(() => this.pending.delete(token));
    this.pending.set(token, settled);
    return settled;
  }

  private async check(token: string, parts: TokenParts, key: CryptoKey): Promise<AssertionOutcome> {
    const nowSeconds = Math.floor(Date.now() / 1000);
    const outcome = this.alb
      ? await verifyAlbToken(parts, key, this.options, nowSeconds)
      : await this.verifyJwt(token, key, nowSeconds);
    if (outcome.kind === 'verified') this.remember(token, outcome);
    return outcome;
  }

  private async verifyJwt(token: string, key: CryptoKey, nowSeconds: number): Promise<AssertionOutcome> {
    const { options } = this;
    try {
      const { payload, protectedHeader } = await jwtVerify(token, key, {
        issuer: options.issuer,
        audience: [...options.audience],
        algorithms: [...this.algorithms],
        clockTolerance: options.clockToleranceSeconds,
        requiredClaims: ['exp'],
      });
      const future = checkIssuedAt(payload, nowSeconds, options.clockToleranceSeconds);
      if (future !== null) return invalid(future.code, future.detail);
      return { kind: 'verified', claims: payload, header: protectedHeader };
    } catch (error) {
      const code = (error as { code?: unknown } | null)?.code;
      return invalid(typeof code === 'string' ? code : 'ERR_ASSERTION_UNVERIFIABLE', describe(error));
    }
  }

  /** Kept until the earliest `exp` the token carries (ALB repeats it in the header), never past it. */
  private remember(token: string, outcome: Verified): void {
    const expiries = [outcome.claims.exp, outcome.header.exp].filter((exp) => typeof exp === 'number');
    const expiresAtMs = Math.min(...expiries) * 1000;
    if (!Number.isFinite(expiresAtMs) || expiresAtMs <= Date.now()) return;
    // Frozen all the way down: every request presenting this token shares the object.
    this.verified.set(lookupKeyOf(token), { token, outcome: deepFreeze(outcome), expiresAtMs });
  }
}

function createKeySource(
  source: AssertionKeySource,
  algorithms: readonly string[],
  settings: KeyFetchSettings,
): KeySource {
  switch (source.kind) {
    case 'jwks':
      return new JwksKeySet(source.url, settings);
    case 'pem':
      return new PemKey(source.pem, algorithms);
    case 'alb':
      return new AlbKeySet(source.baseUrl, settings);
  }
}

/** jose's messages name the failed check, never the token's content; anything else gets a plain sentence. */
function describe(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && error instanceof Error ? error.message : 'the token could not be verified';
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const member of Object.values(value)) deepFreeze(member);
  }
  return value;
}
