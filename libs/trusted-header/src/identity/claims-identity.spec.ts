import type { ResolvedAssertionOptions } from '../trust/assertion/assertion-options.js';
import { identityFromClaims } from './claims-identity.js';
import type { IdentityRules } from './identity.js';

const RULES: IdentityRules = {
  headers: { user: 'Remote-User', email: 'Remote-Email', name: 'Remote-Name', groups: 'Remote-Groups' },
  subject: null,
  groupsSeparator: ',',
  maxGroups: 3,
  caseFoldUsername: true,
};
const ASSERTION = {
  issuer: 'https://idp.example.com',
  claims: { username: 'email', email: 'email', name: 'name', groups: 'groups' },
} as unknown as ResolvedAssertionOptions;

const claims = (extra: Record<string, unknown>) => ({ sub: 'user-1', email: 'Alice@Example.com', ...extra });

describe('identityFromClaims', () => {
  it('maps the claims through the identity rules, keyed on the issuer and sub', () => {
    expect(identityFromClaims(claims({ name: 'Alice', groups: ['ops', 'devs'] }), ASSERTION, RULES)).toEqual({
      kind: 'identity',
      identity: {
        username: 'alice@example.com',
        email: 'alice@example.com',
        displayName: 'Alice',
        groups: ['devs', 'ops'],
        subject: { issuer: 'https://idp.example.com', id: 'user-1' },
      },
    });
  });

  it('splits a string groups claim by the separator', () => {
    expect(identityFromClaims(claims({ groups: 'ops, devs' }), ASSERTION, RULES)).toMatchObject({
      identity: { groups: ['devs', 'ops'] },
    });
  });

  it.each([
    ['no sub', { sub: undefined }, 'missing_identity'],
    ['an empty sub', { sub: '' }, 'missing_identity'],
    ['a numeric sub', { sub: 42 }, 'missing_identity'],
    ['a username that is not a string', { email: ['alice@example.com'] }, 'invalid_username'],
    ['no username', { email: undefined }, 'invalid_username'],
    ['a look-alike username', { email: 'r\u0585\u0585t' }, 'invalid_username'],
    ['a display name that is a number', { name: 7 }, 'invalid_display_name'],
    ['groups that are an object', { groups: { ops: true } }, 'invalid_groups'],
    ['nested group lists', { groups: [['ops']] }, 'invalid_groups'],
    ['more groups than allowed', { groups: ['a', 'b', 'c', 'd', 'e'] }, 'too_many_groups'],
    ['a subject with a control character', { sub: 'user\u0000' }, 'invalid_username'],
  ])('refuses %s', (_what, extra, reason) => {
    expect(identityFromClaims(claims(extra), ASSERTION, RULES)).toMatchObject({ kind: 'rejected', reason });
  });
});
