import type { Identity } from '../identity/identity.js';
import { IdentityCache } from './identity-cache.js';

const identity = (username: string, groups: string[], email: string | null = null): Identity =>
  Object.freeze({ username, email, displayName: null, groups: Object.freeze([...groups]) });

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('IdentityCache', () => {
  it('answers the variant of exactly this identity, by reference or by value', () => {
    const cache = new IdentityCache<string>(100, 60_000);
    const a = identity('ann', ['g1', 'g2']);
    cache.replace(a, 'A');
    expect(cache.get(a)).toBe('A');
    expect(cache.get(identity('ann', ['g1', 'g2']))).toBe('A');
    expect(cache.get(identity('ann', ['g1']))).toBeUndefined();
    expect(cache.get(identity('ben', ['g1', 'g2']))).toBeUndefined();
  });

  it('keeps what a mutable identity asserted when it was cached, not what it asserts later', () => {
    const cache = new IdentityCache<string>(100, 60_000);
    const groups = ['g1'];
    const mutable: { username: string; email: string | null; displayName: null; groups: string[] } = {
      username: 'ann',
      email: 'ann@example.org',
      displayName: null,
      groups,
    };
    cache.replace(mutable, 'A');
    mutable.email = 'other@example.org';
    groups.push('admins');
    expect(cache.get(mutable)).toBeUndefined();
    expect(cache.get(identity('ann', ['g1'], 'ann@example.org'))).toBe('A');
  });

  it('tells identities with and without a subject, or with different subjects, apart', () => {
    const cache = new IdentityCache<string>(100, 60_000);
    const withSubject = (id: string): Identity =>
      Object.freeze({ ...identity('ann', []), subject: Object.freeze({ issuer: 'idp', id }) });
    cache.replace(withSubject('1'), 'one');
    expect(cache.get(withSubject('1'))).toBe('one');
    expect(cache.get(withSubject('2'))).toBeUndefined();
    expect(cache.get(identity('ann', []))).toBeUndefined();
  });

  it('forgets every variant of the users a predicate picks, and nobody else', () => {
    const cache = new IdentityCache<string>(100, 60_000);
    cache.replace(identity('ann', ['g1']), 'user-1');
    cache.add(identity('ann', ['g1'], 'ann@example.org'), 'user-1');
    cache.replace(identity('ann-old', []), 'user-1');
    cache.replace(identity('ben', ['g1']), 'user-2');
    cache.forgetWhere((value) => value === 'user-1');
    expect(cache.get(identity('ann', ['g1']))).toBeUndefined();
    expect(cache.get(identity('ann', ['g1'], 'ann@example.org'))).toBeUndefined();
    expect(cache.get(identity('ann-old', []))).toBeUndefined();
    expect(cache.get(identity('ben', ['g1']))).toBe('user-2');
    expect(cache.size).toBe(1);
  });

  it('keeps variants that read one stored state side by side', () => {
    const cache = new IdentityCache<string>(100, 60_000);
    const withEmail = identity('ann', ['g1'], 'ann@example.org');
    const withoutEmail = identity('ann', ['g1']);
    cache.replace(withEmail, 'with');
    cache.add(withoutEmail, 'without');
    expect(cache.get(withEmail)).toBe('with');
    expect(cache.get(withoutEmail)).toBe('without');
    expect(cache.size).toBe(2);
  });

  it('drops every other variant of the user on a write: g1,g2 then g1 then g1,g2 misses', () => {
    const cache = new IdentityCache<string>(100, 60_000);
    const both = identity('ann', ['g1', 'g2']);
    const one = identity('ann', ['g1']);
    cache.replace(both, 'both');
    cache.add(identity('ann', ['g1', 'g2'], 'x@example.org'), 'both+email');
    cache.replace(one, 'one');
    expect(cache.get(both)).toBeUndefined();
    expect(cache.get(identity('ann', ['g1', 'g2'], 'x@example.org'))).toBeUndefined();
    expect(cache.get(one)).toBe('one');
    expect(cache.size).toBe(1);
  });

  it('holds at most 8 variants per user, the newest', () => {
    const cache = new IdentityCache<number>(100, 60_000);
    const variants = Array.from({ length: 12 }, (_, i) => identity('ann', [`g${i}`]));
    cache.replace(variants[0]!, 0);
    variants.slice(1).forEach((variant, i) => cache.add(variant, i + 1));
    expect(cache.size).toBe(8);
    expect(cache.get(variants[11]!)).toBe(11);
    expect(cache.get(variants[3]!)).toBeUndefined();
  });

  it('bounds the variants held in all, evicting the least recently used user', () => {
    const cache = new IdentityCache<string>(3, 60_000);
    cache.replace(identity('ann', []), 'ann');
    cache.add(identity('ann', ['x']), 'ann-x');
    cache.replace(identity('ben', []), 'ben');
    cache.replace(identity('cid', []), 'cid');
    expect(cache.size).toBeLessThanOrEqual(3);
    expect(cache.get(identity('cid', []))).toBe('cid');
    expect(cache.get(identity('ann', []))).toBeUndefined();
  });

  it('expires a user TTL after its oldest variant: adding one does not extend it', async () => {
    // TTL 1 s; the second variant arrives at 0.5 s; at 1.3 s both are gone (extended, they would live to 1.5 s).
    const cache = new IdentityCache<string>(100, 1_000);
    const first = identity('ann', []);
    cache.replace(first, 'first');
    await sleep(500);
    const second = identity('ann', ['g']);
    cache.add(second, 'second');
    expect(cache.get(second)).toBe('second');
    await sleep(800);
    expect(cache.get(first)).toBeUndefined();
    expect(cache.get(second)).toBeUndefined();
  });

  it('forgets everything on clear', () => {
    const cache = new IdentityCache<string>(100, 60_000);
    cache.replace(identity('ann', []), 'ann');
    cache.clear();
    expect(cache.get(identity('ann', []))).toBeUndefined();
    expect(cache.size).toBe(0);
  });
});
