import type { ResolvedAssertionOptions } from '../trust/assertion/assertion-options.js';
import type { IdentityResult, IdentityRules } from './identity.js';
import { identityFromValues, type AssertedValues } from './identity-values.js';

type Claims = Readonly<Record<string, unknown>>;

function reject(
  reason: 'invalid_username' | 'invalid_email' | 'invalid_display_name' | 'invalid_groups',
  detail: string,
): IdentityResult {
  return { kind: 'rejected', reason, detail };
}

/**
 * The identity a verified token asserts, through the same rules as headers. Claims of the wrong type are
 * refused rather than coerced (a number for a username, an object for groups): the token is signed, but what
 * the identity provider put in it is still data. The token's `sub` is the stable subject, namespaced by the
 * issuer, so a renamed user keeps the account.
 */
export function identityFromClaims(
  claims: Claims,
  assertion: ResolvedAssertionOptions,
  rules: IdentityRules,
): IdentityResult {
  const names = assertion.claims;
  const user = claims[names.username];
  if (typeof user !== 'string') {
    return reject('invalid_username', `Claim ${names.username} is missing or not a string`);
  }
  const optional = (claim: string | null): string | undefined | null => {
    if (claim === null || claims[claim] === undefined || claims[claim] === null) return undefined;
    return typeof claims[claim] === 'string' ? (claims[claim] as string) : null;
  };
  const email = optional(names.email);
  if (email === null) return reject('invalid_email', `Claim ${names.email} is not a string`);
  const name = optional(names.name);
  if (name === null) return reject('invalid_display_name', `Claim ${names.name} is not a string`);

  let groups: AssertedValues['groups'];
  const groupsClaim = names.groups === null ? undefined : claims[names.groups];
  if (groupsClaim === undefined || groupsClaim === null) {
    groups = undefined;
  } else if (typeof groupsClaim === 'string') {
    groups = groupsClaim;
  } else if (Array.isArray(groupsClaim) && groupsClaim.every((group) => typeof group === 'string')) {
    // Never cut short: repeats count once, so the first entries need not hold every group the token asserts (a
    // group that denies access could sit past them). identityFromValues stops at the first group past the
    // limit, and the header that carried the token bounds the list's length.
    groups = groupsClaim;
  } else {
    return reject('invalid_groups', `Claim ${names.groups} is neither a list of strings nor a string`);
  }

  // Every account a token logs in is keyed on its subject: a token without one would reach an account by its
  // username alone, which any subject could later adopt (a header profile refuses a missing id the same way).
  const sub = claims.sub;
  if (typeof sub !== 'string' || sub === '') {
    return { kind: 'rejected', reason: 'missing_identity', detail: 'The token has no subject (sub)' };
  }
  return identityFromValues(
    {
      user,
      email,
      name,
      groups,
      subject: { issuer: assertion.issuer, id: sub },
    },
    rules,
    {
      user: `Claim ${names.username}`,
      email: `Claim ${names.email ?? 'email'}`,
      name: `Claim ${names.name ?? 'name'}`,
      groups: `Claim ${names.groups ?? 'groups'}`,
    },
  );
}
