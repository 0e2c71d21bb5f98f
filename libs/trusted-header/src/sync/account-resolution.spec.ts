import fc from 'fast-check';
import type { Identity } from '../identity/identity.js';
import { needsUsernameLookup, resolveAccount, type StoredAccount } from './account-resolution.js';

const identity = (username: string, subject?: [string, string]): Identity => ({
  username,
  email: null,
  displayName: null,
  groups: [],
  ...(subject === undefined ? {} : { subject: { issuer: subject[0], id: subject[1] } }),
});

const account = (id: string, username: string, subject?: [string, string]): StoredAccount => ({
  id,
  username,
  subject_issuer: subject?.[0] ?? null,
  subject: subject?.[1] ?? null,
});

describe('resolveAccount', () => {
  const alice = account('1', 'alice', ['idp', 's1']);
  const plain = account('2', 'alice');

  it('keys on the username without a subject, and never reaches an account keyed on one', () => {
    expect(resolveAccount(identity('alice'), undefined, undefined)).toEqual({ kind: 'create' });
    expect(resolveAccount(identity('alice'), undefined, plain)).toEqual({ kind: 'account', account: plain });
    expect(resolveAccount(identity('alice'), undefined, alice)).toEqual({
      kind: 'taken',
      account: undefined,
      holder: alice,
    });
  });

  it('follows a rename of the subject unless another account holds the new username', () => {
    expect(resolveAccount(identity('alice', ['idp', 's1']), alice, undefined)).toEqual({
      kind: 'account',
      account: alice,
    });
    expect(resolveAccount(identity('ally', ['idp', 's1']), alice, undefined)).toEqual({
      kind: 'rename',
      account: alice,
    });
    const ally = account('3', 'ally');
    expect(resolveAccount(identity('ally', ['idp', 's1']), alice, ally)).toEqual({
      kind: 'taken',
      account: alice,
      holder: ally,
    });
  });

  it('adopts a username-only account, and refuses one keyed on another subject or issuer', () => {
    expect(resolveAccount(identity('alice', ['idp', 's2']), undefined, plain)).toEqual({
      kind: 'adopt',
      account: plain,
    });
    for (const other of [identity('alice', ['idp', 's2']), identity('alice', ['other', 's1'])]) {
      expect(resolveAccount(other, undefined, alice)).toEqual({ kind: 'taken', account: undefined, holder: alice });
    }
    expect(resolveAccount(identity('alice', ['idp', 's1']), undefined, alice)).toEqual({
      kind: 'account',
      account: alice,
    });
  });

  it('never logs anyone into an account keyed on another subject, nor a subject into another account', () => {
    const subject = fc.option(fc.tuple(fc.constantFrom('idp', 'kc'), fc.constantFrom('s1', 's2')), {
      nil: undefined,
    });
    const name = fc.constantFrom('alice', 'bob');
    const stored = fc.tuple(fc.constantFrom('1', '2'), name, subject);
    fc.assert(
      fc.property(
        name,
        subject,
        fc.option(stored, { nil: undefined }),
        fc.option(stored, { nil: undefined }),
        (username, asserted, s, u) => {
          const who = identity(username, asserted);
          const sameSubject = (row: StoredAccount | undefined) =>
            row !== undefined &&
            asserted !== undefined &&
            row.subject_issuer === asserted[0] &&
            row.subject === asserted[1];
          // What the database could answer: the account keyed on the subject, and the one holding the username.
          const bySubject = s && asserted ? account(s[0], s[1], asserted) : undefined;
          const byUsername = u ? account(bySubject && u[0] === bySubject.id ? '9' : u[0], username, u[2]) : undefined;
          if (sameSubject(byUsername) && bySubject !== undefined) return;
          const resolution = resolveAccount(
            who,
            bySubject,
            needsUsernameLookup(who, bySubject) ? byUsername : undefined,
          );
          if (resolution.kind === 'create' || resolution.kind === 'taken') return;
          const chosen = resolution.account;
          if (asserted === undefined) expect(chosen.subject).toBeNull();
          else if (resolution.kind === 'adopt') expect(chosen.subject).toBeNull();
          else expect(sameSubject(chosen)).toBe(true);
          if (resolution.kind !== 'rename') expect(chosen.username).toBe(username);
        },
      ),
    );
  });
});
