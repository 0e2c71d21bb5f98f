import { createHash } from 'node:crypto';
import type { Identity } from '../identity/identity.js';

const cacheKeys = new WeakMap<Identity, string>();

/**
 * Key of an identity among the cached variants of its user: every synced header value takes part, the subject
 * too, so a changed email, name, group list, username or subject is a miss and is synced on the very request
 * that carries it (THREATS 5).
 */
export function identityCacheKey(identity: Identity): string {
  let key = cacheKeys.get(identity);
  if (key === undefined) {
    const { subject } = identity;
    key = JSON.stringify([
      identity.username,
      identity.email,
      identity.displayName,
      identity.groups,
      subject === undefined ? null : [subject.issuer, subject.id],
    ]);
    // The identity reader hands out the same frozen object for the same headers, so its key is built once.
    // Objects that could still change are never remembered.
    if (
      Object.isFrozen(identity) &&
      Object.isFrozen(identity.groups) &&
      (subject === undefined || Object.isFrozen(subject))
    ) {
      cacheKeys.set(identity, key);
    }
  }
  return key;
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
