import { createHash } from 'node:crypto';
import type { Identity } from '../identity/identity.js';

/**
 * Key of an identity in the in-memory cache: every synced header value takes part, so a changed email, name
 * or group list is a cache miss and is synced on the very request that carries it (THREATS 5).
 */
export function identityCacheKey(identity: Identity): string {
  return JSON.stringify([identity.username, identity.email, identity.displayName, identity.groups]);
}

/** Hash of the synced values stored with the user: equal hash, nothing to write. */
export function syncFingerprint(identity: Identity): string {
  return createHash('sha256')
    .update(JSON.stringify([identity.email, identity.displayName, identity.groups]))
    .digest('hex');
}
