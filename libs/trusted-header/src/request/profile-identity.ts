import { Logger } from '@nestjs/common';
import { LogThrottle } from '../common/log-throttle.js';
import type { MaybePromise } from '../common/maybe-promise.js';
import type { ResolvedProxyProfile } from '../config/trusted-header-options.js';
import { identityFromClaims } from '../identity/claims-identity.js';
import { twinKey } from '../identity/header-names.js';
import type { IdentityResult } from '../identity/identity.js';
import { compileIdentityReader } from '../identity/read-identity.js';
import { assertionErrorType } from '../observability/assertion-error-type.js';
import { NO_METRICS, type TrustedHeaderMetrics } from '../observability/trusted-header-metrics.js';
import type { ResolvedAssertionOptions } from '../trust/assertion/assertion-options.js';
import { AssertionVerifier, type AssertionOutcome } from '../trust/assertion/assertion-verifier.js';

/** Reads the identity a request asserts through one profile: its headers, or its verified token. */
export type ProfileIdentityReader = (rawHeaders: readonly string[]) => MaybePromise<IdentityResult>;

/** A profile's reader, and for a signed assertion the loading of its keys ahead of the first token. */
export interface ProfileIdentity {
  readonly read: ProfileIdentityReader;
  /** Null when there is nothing to load (header profiles); else null once the keys are there, or why not. */
  readonly warmUp: (() => Promise<string | null>) | null;
}

/** What a request gets whose token does not verify: untrusted, as if the proxy had not sent it. */
const ASSERTION_REFUSED: IdentityResult = Object.freeze({
  kind: 'rejected',
  reason: 'untrusted_proxy',
  detail: "The proxy's signed assertion did not verify",
});

/** A token we cannot check now, since its key is not known and the key endpoint does not answer. */
const KEYS_UNAVAILABLE: IdentityResult = Object.freeze({
  kind: 'rejected',
  reason: 'assertion_keys_unavailable',
  detail: 'The keys that verify the proxy’s signed assertion cannot be fetched',
});

const BEARER = /^Bearer +([A-Za-z0-9._~+/=-]+) *$/i;

/**
 * A signed assertion's keys can be loaded when the application starts (`warmUp`), without holding the start up:
 * a key endpoint that is down must not stop the app, and its keys are then fetched on the first token.
 */
export function compileProfileIdentity(
  profile: ResolvedProxyProfile,
  metrics: TrustedHeaderMetrics = NO_METRICS,
): ProfileIdentity {
  return profile.assertion === null
    ? { read: compileIdentityReader(profile.identity), warmUp: null }
    : compileAssertionIdentity(profile, profile.assertion, metrics);
}

function compileAssertionIdentity(
  profile: ResolvedProxyProfile,
  assertion: ResolvedAssertionOptions,
  metrics: TrustedHeaderMetrics,
): ProfileIdentity {
  const logger = new Logger('TrustedHeader');
  const failures = new LogThrottle(1_000);
  const verifier = new AssertionVerifier(assertion);
  // Each verified token's identity is built once: the verifier hands out one outcome object per cached token.
  const identities = new WeakMap<object, IdentityResult>();
  const lower = assertion.header.toLowerCase();
  const twin = twinKey(assertion.header);

  /** At most one line a second per kind of failure (keys unavailable, or each jose code), with a count. */
  const log = (kind: string, line: string) => {
    const skipped = failures.admit(kind);
    if (skipped !== null) logger.warn(`${line}${skipped > 0 ? ` (${skipped} more since the last line)` : ''}`);
  };
  const conclude = (outcome: AssertionOutcome): IdentityResult => {
    if (outcome.kind === 'verified') {
      let identity = identities.get(outcome);
      metrics.assertionVerified(identity !== undefined);
      if (identity === undefined) {
        identity = identityFromClaims(outcome.claims, assertion, profile.identity);
        identities.set(outcome, identity);
      }
      return identity;
    }
    if (outcome.kind === 'keys_unavailable') {
      metrics.assertionKeysUnavailable();
      log('keys_unavailable', `assertion_keys_unavailable: profile ${profile.name}: ${outcome.detail}`);
      return KEYS_UNAVAILABLE;
    }
    metrics.assertionInvalid(assertionErrorType(outcome.code));
    log(
      outcome.code,
      `untrusted_proxy: profile ${profile.name}: assertion_invalid (${outcome.code}): ${outcome.detail}`,
    );
    return ASSERTION_REFUSED;
  };

  /** Whether a Connection header's value names the token's header (in any spelling of it). */
  const namesTokenHeader = (value: string) =>
    value.length >= lower.length &&
    value.split(',').some((part) => {
      const token = part.trim();
      return token.length === lower.length && twinKey(token) === twin;
    });

  const read: ProfileIdentityReader = (rawHeaders) => {
    let token: string | undefined;
    let hopByHop = false;
    for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
      const name = rawHeaders[i]!;
      if (name.length === 10 && name.toLowerCase() === 'connection') {
        hopByHop ||= namesTokenHeader(rawHeaders[i + 1]!);
        continue;
      }
      if (name.length !== lower.length) continue;
      if (name.toLowerCase() === lower) {
        // Two tokens are two claims of who the user is; which one the proxy added cannot be told.
        if (token !== undefined) {
          return {
            kind: 'rejected',
            reason: 'duplicate_header',
            detail: `Header ${assertion.header} appears more than once`,
          };
        }
        token = rawHeaders[i + 1]!;
      } else if (twinKey(name) === twin) {
        return { kind: 'rejected', reason: 'header_twin', detail: `Header ${name} imitates ${assertion.header}` };
      }
    }
    // As for identity headers (Traefik CVE-2021-32813): a hop told to drop the proxy's token could let a client's
    // copy through further along. After the scan, so a duplicate or twin found later takes precedence.
    if (hopByHop) {
      return {
        kind: 'rejected',
        reason: 'hop_by_hop_header',
        detail: `Connection names the assertion header ${assertion.header}`,
      };
    }
    if (token === undefined) {
      metrics.assertionInvalid('missing');
      return ASSERTION_REFUSED;
    }
    if (assertion.bearer) {
      const match = BEARER.exec(token);
      if (match === null)
        return conclude({ kind: 'invalid', code: 'ERR_NOT_BEARER', detail: 'Authorization is not a bearer token' });
      token = match[1]!;
    }
    let outcome: MaybePromise<AssertionOutcome>;
    try {
      outcome = verifier.verify(token);
    } catch (error) {
      return conclude({ kind: 'invalid', code: 'ERR_UNEXPECTED', detail: (error as Error).message });
    }
    return outcome instanceof Promise
      ? outcome.then(conclude, (error: unknown) =>
          conclude({ kind: 'invalid', code: 'ERR_UNEXPECTED', detail: (error as Error).message }),
        )
      : conclude(outcome);
  };
  return { read, warmUp: () => verifier.warmUp() };
}
