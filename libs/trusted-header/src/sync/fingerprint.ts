import { createHash } from 'node:crypto';
import type { Identity } from '../identity/identity.js';

/**
 * Key of an identity among the loads under way: every synced header value takes part, the subject too, so
 * identities that differ in any of them never share a database round. Built on a cache miss only.
 */
export function identityCacheKey(identity: Identity): string {
  const { subject } = identity;
  return JSON.stringify([
    identity.username,
    identity.email,
    identity.displayName,
    identity.groups,
    subject === undefined ? null : [subject.issuer, subject.id],
  ]);
}

/**
 * Whether two identities assert the same synced values: username, email, display name, group list and subject
 * (what identityCacheKey is built from), so a changed email, name, group list, username or subject is a miss and
 * is synced on the very request that carries it (THREATS 5). The reader hands out one frozen object per
 * distinct header set, so the usual match is the same object.
 */
export function sameIdentity(a: Identity, b: Identity): boolean {
  if (a === b) return true;
  return (
    a.username === b.username &&
    a.email === b.email &&
    a.displayName === b.displayName &&
    sameList(a.groups, b.groups) &&
    (a.subject === undefined
      ? b.subject === undefined
      : b.subject !== undefined && a.subject.issuer === b.subject.issuer && a.subject.id === b.subject.id)
  );
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i += 1) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * The identity as it may be kept and compared later: itself when it cannot change (the reader's identities are
 * frozen, their group lists and subjects too), a frozen copy otherwise.
 */
export function frozenIdentity(identity: Identity): Identity {
  const { subject } = identity;
  if (
    Object.isFrozen(identity) &&
    Object.isFrozen(identity.groups) &&
    (subject === undefined || Object.isFrozen(subject))
  ) {
    return identity;
  }
  return Object.freeze({
    username: identity.username,
    email: identity.email,
    displayName: identity.displayName,
    groups: Object.freeze([...identity.groups]),
    ...(subject === undefined ? {} : { subject: Object.freeze({ issuer: subject.issuer, id: subject.id }) }),
  });
}

/**
 * Key of the account an identity belongs to: its subject where it carries one (the username is then an
 * attribute that may change), its canonical username otherwise. A subject's key starts with NUL, which no
 * username contains, so the two kinds never meet.
 */
export function accountKey(identity: Identity): string {
  const { subject } = identity;
  if (subject === undefined) return identity.username;
  // Built once per subject object: a token's identity (and its subject) is one frozen object per cached token,
  // and this runs on every request.
  let key = accountKeys.get(subject);
  if (key === undefined) {
    key = `\u0000${JSON.stringify([subject.issuer, subject.id])}`;
    if (Object.isFrozen(subject)) accountKeys.set(subject, key);
  }
  return key;
}

const accountKeys = new WeakMap<object, string>();

/**
 * Hash of a user's external groups, stored with the user: equal hash, no membership to rewrite. Email and display
 * name are compared with the stored columns themselves, since an absent header keeps what is stored.
 */
export function groupsFingerprint(groups: readonly string[]): string {
  return createHash('sha256').update(JSON.stringify(groups)).digest('hex');
}
