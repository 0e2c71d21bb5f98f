import fc from 'fast-check';
import { findIdentityHeaderProblems, REDACTED, watchedHeaders } from './header-findings.js';
import type { IdentityRules } from './identity.js';
import { compileIdentityReader } from './read-identity.js';

const RULES: IdentityRules = {
  headers: { user: 'Remote-User', email: 'Remote-Email', name: 'Remote-Name', groups: 'Remote-Groups' },
  groupsSeparator: ',',
  maxGroups: 100,
  caseFoldUsername: true,
  subject: { header: 'Remote-Uid', issuer: 'profile:default' },
};
const watched = watchedHeaders(RULES, null);
const find = (...pairs: [string, string][]) => findIdentityHeaderProblems(watched, pairs.flat());

describe('findIdentityHeaderProblems', () => {
  it('lists every identity header seen, with only the username shown', () => {
    const { seen, findings } = find(
      ['Host', 'app.example.com'],
      ['Remote-User', 'alice'],
      ['remote-email', 'alice@example.com'],
      ['Remote-Groups', 'staff,ops'],
      ['Remote-Uid', 'u-123'],
      ['Cookie', 'sid=secret'],
    );
    expect(seen).toEqual([
      { name: 'Remote-User', role: 'user', value: 'alice' },
      { name: 'remote-email', role: 'email', value: REDACTED },
      { name: 'Remote-Groups', role: 'groups', value: REDACTED },
      { name: 'Remote-Uid', role: 'subject', value: REDACTED },
    ]);
    expect(findings).toEqual([]);
  });

  it('lists every problem rather than the first: duplicates once per header, twins, Connection tokens', () => {
    const { findings } = find(
      ['Connection', 'keep-alive, Remote-Groups'],
      ['Remote-User', 'alice'],
      ['Remote-User', 'admin'],
      ['Remote-User', 'root'],
      ['Remote_Email', 'x@example.com'],
      ['Remote-Name', 'A'],
      ['remote-name', 'B'],
    );
    expect(findings.map((finding) => [finding.reason, finding.header])).toEqual([
      ['duplicate_header', 'Remote-User'],
      ['header_twin', 'Remote-Email'],
      ['duplicate_header', 'Remote-Name'],
      ['hop_by_hop_header', 'Remote-Groups'],
    ]);
    expect(findings[1]!.detail).toBe('Header Remote_Email imitates Remote-Email');
  });

  it('redacts a twin of the groups header, shows a twin of the user header', () => {
    expect(find(['Remote.User', 'mallory'], ['remote_groups', 'admin']).seen).toEqual([
      { name: 'Remote.User', role: 'user', value: 'mallory' },
      { name: 'remote_groups', role: 'groups', value: REDACTED },
    ]);
  });

  it('watches only the token header of a signed assertion, and never shows the token', () => {
    const assertion = watchedHeaders(RULES, 'X-Jwt-Assertion');
    const result = findIdentityHeaderProblems(assertion, ['X-Jwt-Assertion', 'eyJ.a.b', 'x_jwt_assertion', 'eyJ.c.d']);
    expect(result.seen.map((line) => line.value)).toEqual([REDACTED, REDACTED]);
    expect(result.findings.map((finding) => finding.reason)).toEqual(['header_twin']);
  });

  // The identity reader stops at the first problem; the findings must name that same problem first, and find
  // one exactly when the reader refuses for one of these reasons.
  it('agrees with the identity reader on the first problem of any header list', () => {
    const read = compileIdentityReader(RULES);
    const name = fc.constantFrom(
      'Remote-User',
      'remote-user',
      'Remote_User',
      'Remote-Email',
      'Remote.Email',
      'Remote-Groups',
      'Remote-Uid',
      'remote_uid',
      'Connection',
      'Accept',
      'X-Other',
    );
    const value = fc.constantFrom('alice', 'keep-alive', 'Remote-User', 'close, remote_groups', 'staff', 'u-1');
    fc.assert(
      fc.property(fc.array(fc.tuple(name, value), { maxLength: 10 }), (pairs) => {
        const raw = pairs.flat();
        const result = read(raw);
        const { findings } = findIdentityHeaderProblems(watched, raw);
        const ambiguous =
          result.kind === 'rejected' &&
          ['duplicate_header', 'header_twin', 'hop_by_hop_header'].includes(result.reason);
        if (!ambiguous) return findings.length === 0;
        return findings[0]?.reason === result.reason && findings[0].detail === result.detail;
      }),
      { numRuns: 2000 },
    );
  });
});
