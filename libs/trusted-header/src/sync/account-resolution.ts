import type { Identity, IdentitySubject } from '../identity/identity.js';

/** What the decision reads of a stored account. */
export interface StoredAccount {
  readonly id: string;
  readonly username: string;
  readonly subject_issuer: string | null;
  readonly subject: string | null;
}

/**
 * Which account an identity logs in as, and what must change for it:
 * - `account`: this one, keyed as it is;
 * - `rename`: the account keyed on the identity's subject, whose username the identity provider has changed;
 * - `adopt`: a username-only account, keyed on the identity's subject from now on;
 * - `create`: none yet;
 * - `taken`: the asserted username belongs to another account (`holder`) than the identity's own (`account`,
 *   when it has one). Never resolved by merging or handing the account over.
 */
export type AccountResolution<T extends StoredAccount> =
  | { readonly kind: 'account' | 'rename' | 'adopt'; readonly account: T }
  | { readonly kind: 'create' }
  | { readonly kind: 'taken'; readonly account: T | undefined; readonly holder: T };

const CREATE = Object.freeze({ kind: 'create' }) as { readonly kind: 'create' };

/** Whether the decision needs the account holding the asserted username, given the one keyed on the subject. */
export function needsUsernameLookup(identity: Identity, bySubject: StoredAccount | undefined): boolean {
  return identity.subject === undefined || bySubject === undefined || bySubject.username !== identity.username;
}

function hasSubject(account: StoredAccount, subject: IdentitySubject): boolean {
  return account.subject_issuer === subject.issuer && account.subject === subject.id;
}

/**
 * The account key is the stable subject where the identity carries one, and the canonical username otherwise.
 * An account keyed on a subject is never reached by its username alone: a profile that stops asserting subjects
 * (or a second profile without them) could otherwise log anyone the identity provider now calls `alice` into the
 * account of the person it called `alice` before.
 *
 * `bySubject` is the account keyed on the identity's subject (undefined without one); `byUsername` the account
 * holding the asserted username, when needsUsernameLookup says it was read.
 */
export function resolveAccount<T extends StoredAccount>(
  identity: Identity,
  bySubject: T | undefined,
  byUsername: T | undefined,
): AccountResolution<T> {
  const subject = identity.subject;
  if (subject === undefined) {
    if (byUsername === undefined) return CREATE;
    if (byUsername.subject === null) return { kind: 'account', account: byUsername };
    return { kind: 'taken', account: undefined, holder: byUsername };
  }
  if (bySubject !== undefined) {
    if (bySubject.username === identity.username) return { kind: 'account', account: bySubject };
    if (byUsername !== undefined && byUsername.id !== bySubject.id) {
      return { kind: 'taken', account: bySubject, holder: byUsername };
    }
    return { kind: 'rename', account: bySubject };
  }
  if (byUsername === undefined) return CREATE;
  if (byUsername.subject === null) return { kind: 'adopt', account: byUsername };
  // Keyed on this very subject: another login adopted or created it after the subject was looked up.
  if (hasSubject(byUsername, subject)) return { kind: 'account', account: byUsername };
  return { kind: 'taken', account: undefined, holder: byUsername };
}
