import { createHash } from 'node:crypto';
import type { Identity } from '../identity/identity.js';

const cacheKeys = new WeakMap<Identity, string>();

/**
 * Key of an identity in the in-memory cache: every synced header value takes part, so a changed email, name
 * or group list is a cache miss and is synced on the very request that carries it (THREATS 5).
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

/** Hash of the synced values stored with the user: equal hash, nothing to write. */
export function syncFingerprint(identity: Identity): string {
  return createHash('sha256')
    .update(JSON.stringify([identity.email, identity.displayName, identity.groups]))
    .digest('hex');
}
