import { createHash } from 'node:crypto';
import type { Identity } from '../identity/identity.js';

const cacheKeys = new WeakMap<Identity, string>();

/**
 * Key of an identity among the cached variants of its user: every synced header value takes part, so a changed
 * email, name or group list is a miss and is synced on the very request that carries it (THREATS 5).
 */
export function identityCacheKey(identity: Identity): string {
  let key = cacheKeys.get(identity);
  if (key === undefined) {
    key = JSON.stringify([identity.username, identity.email, identity.displayName, identity.groups]);
    // The identity reader hands out the same frozen object for the same headers, so its key is built once.
    // Objects that could still change are never remembered.
    if (Object.isFrozen(identity) && Object.isFrozen(identity.groups)) cacheKeys.set(identity, key);
  }
  return key;
}

/**
 * Hash of a user's external groups, stored with the user: equal hash, no membership to rewrite. Email and display
 * name are compared with the stored columns themselves, since an absent header keeps what is stored.
 */
export function groupsFingerprint(groups: readonly string[]): string {
  return createHash('sha256').update(JSON.stringify(groups)).digest('hex');
}
