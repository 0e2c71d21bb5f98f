import type { IdentityResult } from './identity.js';
import { ParsedIdentities } from './parsed-identities.js';

const result = (detail: string): IdentityResult => ({ kind: 'rejected', reason: 'invalid_username', detail });

describe('ParsedIdentities', () => {
  it('finds an entry only when every value matches, absent values included', () => {
    const memo = new ParsedIdentities();
    const alice = result('alice');
    memo.set('alice', 'a@example.org', undefined, 'staff', alice);
    expect(memo.get('alice', 'a@example.org', undefined, 'staff')).toBe(alice);
    expect(memo.get('alice', 'a@example.org', undefined, 'staff,admin')).toBeUndefined();
    expect(memo.get('alice', 'a@example.org', '', 'staff')).toBeUndefined();
    expect(memo.get('alice', undefined, undefined, 'staff')).toBeUndefined();
    expect(memo.get('bob', 'a@example.org', undefined, 'staff')).toBeUndefined();
  });

  it('keeps at most perUser entries for one username value', () => {
    const memo = new ParsedIdentities(100, 3);
    for (let i = 0; i < 3; i += 1) memo.set('alice', undefined, undefined, `g${i}`, result(`${i}`));
    expect(memo.get('alice', undefined, undefined, 'g0')).toBeDefined();
    memo.set('alice', undefined, undefined, 'g3', result('3'));
    expect(memo.get('alice', undefined, undefined, 'g0')).toBeUndefined();
    expect(memo.get('alice', undefined, undefined, 'g3')).toBeDefined();
  });

  it('starts over once it holds limit entries in all', () => {
    const memo = new ParsedIdentities(4, 8);
    for (let i = 0; i < 4; i += 1) memo.set(`user-${i}`, undefined, undefined, undefined, result(`${i}`));
    expect(memo.get('user-0', undefined, undefined, undefined)).toBeDefined();
    memo.set('user-4', undefined, undefined, undefined, result('4'));
    expect(memo.get('user-0', undefined, undefined, undefined)).toBeUndefined();
    expect(memo.get('user-4', undefined, undefined, undefined)).toBeDefined();
  });

  it('counts replaced per-user entries, so the overall bound is not reached early', () => {
    const memo = new ParsedIdentities(10, 2);
    // 2 + 1 (replacing 2) + 1 = 2 live entries for alice; then 8 more users fit without a reset.
    memo.set('alice', undefined, undefined, 'a', result('a'));
    memo.set('alice', undefined, undefined, 'b', result('b'));
    memo.set('alice', undefined, undefined, 'c', result('c'));
    memo.set('alice', undefined, undefined, 'd', result('d'));
    for (let i = 0; i < 8; i += 1) memo.set(`user-${i}`, undefined, undefined, undefined, result(`${i}`));
    expect(memo.get('alice', undefined, undefined, 'd')).toBeDefined();
    expect(memo.get('user-7', undefined, undefined, undefined)).toBeDefined();
  });
});
