import type { IdentityResult, IdentityRules } from './identity.js';
import { compileIdentityReader } from './read-identity.js';

const RULES: IdentityRules = {
  headers: { user: 'Remote-User', email: 'Remote-Email', name: 'Remote-Name', groups: 'Remote-Groups' },
  groupsSeparator: ',',
  maxGroups: 100,
  caseFoldUsername: true,
  subject: { header: 'Remote-Id', issuer: 'proxy' },
};

/** Every way a read stops before the end of the header list, each leaving some values read. */
const CUT_SHORT: [what: string, lines: string[]][] = [
  ['a duplicate', ['Remote-Id', 'admin-sub', 'Remote-Groups', 'admins', 'Remote-Email', 'a@x', 'Remote-Email', 'b@x']],
  ['a twin', ['Remote-Id', 'admin-sub', 'Remote-Groups', 'admins', 'Remote-Name', 'Admin', 'Remote_User', 'x']],
  ['a hop-by-hop name', ['Remote-Id', 'admin-sub', 'Remote-Groups', 'admins', 'Connection', 'Remote-User']],
];

function identityOf(result: IdentityResult) {
  if (result.kind !== 'identity') throw new Error(`expected an identity, got ${JSON.stringify(result)}`);
  return result.identity;
}

/**
 * The reader refills one array of values on every call: nothing a refused request asserted may reach the next
 * request (a stable id from one request beside another's username would be another person's account).
 */
describe('identity reader: one request never lends values to the next', () => {
  it.each(CUT_SHORT)('after a read refused for %s, the next read sees only its own lines', (_what, lines) => {
    const read = compileIdentityReader(RULES);
    expect(read(lines).kind).toBe('rejected');
    expect(read(['Remote-User', 'mallory'])).toMatchObject({ kind: 'rejected', reason: 'missing_identity' });
    expect(read(lines).kind).toBe('rejected');
    const own = identityOf(read(['Remote-User', 'mallory', 'Remote-Id', 'mallory-sub']));
    expect(own).toEqual({
      username: 'mallory',
      email: null,
      displayName: null,
      groups: [],
      subject: { issuer: 'proxy', id: 'mallory-sub' },
    });
    expect(read(lines).kind).toBe('rejected');
    expect(read([])).toEqual({ kind: 'anonymous' });
  });

  it('after a full identity, a request with fewer headers keeps none of the earlier ones', () => {
    const read = compileIdentityReader(RULES);
    const full = [
      'Remote-User',
      'alice',
      'Remote-Id',
      's1',
      'Remote-Email',
      'a@x',
      'Remote-Name',
      'A',
      'Remote-Groups',
      'g',
    ];
    expect(identityOf(read(full)).groups).toEqual(['g']);
    expect(identityOf(read(['Remote-User', 'bob', 'Remote-Id', 's2']))).toEqual({
      username: 'bob',
      email: null,
      displayName: null,
      groups: [],
      subject: { issuer: 'proxy', id: 's2' },
    });
  });
});
