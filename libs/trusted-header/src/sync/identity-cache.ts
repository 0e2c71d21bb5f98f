import { LRUCache } from 'lru-cache';
import type { Identity } from '../identity/identity.js';
import { accountKey, frozenIdentity, sameIdentity } from './fingerprint.js';
import { EXPIRING_CACHE } from '../common/expiring-cache.js';

/** Most header variants (identities differing in email, name or groups) remembered per user. */
const MAX_VARIANTS_PER_USER = 8;

interface Variant<T> {
  /** Frozen, so it still asserts what it asserted when the value was computed. */
  readonly identity: Identity;
  readonly value: T;
}

/**
 * All variants of one user, each computed from the same stored state of that user. Replaced, never mutated.
 * The usual case, one variant, is stored as itself: no wrapper or array per cached user.
 */
type UserEntry<T> = Variant<T> | readonly Variant<T>[];

/** Array.isArray does not narrow a readonly array type. */
function isMany<T>(entry: UserEntry<T>): entry is readonly Variant<T>[] {
  return Array.isArray(entry);
}

const variantsOf = <T>(entry: UserEntry<T>): readonly Variant<T>[] => (isMany(entry) ? entry : [entry]);

/**
 * Synced identities in memory, grouped by user (accountKey: the subject where the identity carries one, so the
 * variants of a user renamed at the identity provider stay together, the username otherwise). Every variant of
 * a user was computed from one stored state of that user: when a sync writes the user, `replace` drops every
 * other variant, so a header set seen before the write can never be answered from memory with what was stored
 * before it (a group removed at the proxy, an email another user has claimed since, or the username before a
 * rename, would otherwise come back from an old entry). Variants that only read the same state (a request
 * without an email header beside one with it) are added beside each other, so users whose requests alternate
 * between header sets cost no database work in the steady state.
 *
 * Bounded by the number of variants held in all (`maxEntries`) and by time: a user's entry expires `ttlMs` after
 * its oldest variant was read, never later, so another instance's change shows within the TTL.
 */
export class IdentityCache<T> {
  private readonly users: LRUCache<string, UserEntry<T>>;

  constructor(maxEntries: number, ttlMs: number) {
    this.users = new LRUCache<string, UserEntry<T>>({
      maxSize: maxEntries,
      sizeCalculation: (entry) => (isMany(entry) ? entry.length : 1),
      ttl: ttlMs,
      ...EXPIRING_CACHE,
    });
  }

  /** The value remembered for exactly this identity, if any. */
  get(identity: Identity): T | undefined {
    const entry = this.users.get(accountKey(identity));
    if (entry === undefined) return undefined;
    if (!isMany(entry)) return sameIdentity(entry.identity, identity) ? entry.value : undefined;
    for (const variant of entry) if (sameIdentity(variant.identity, identity)) return variant.value;
    return undefined;
  }

  /** After a read that changed nothing: one more variant of the user's current stored state. */
  add(identity: Identity, value: T): void {
    const user = accountKey(identity);
    const entry = this.users.get(user);
    if (entry === undefined) {
      this.replace(identity, value);
      return;
    }
    const others = variantsOf(entry).filter((variant) => !sameIdentity(variant.identity, identity));
    // concat: an array of exactly this length (a spread would make room for 17).
    const variants = others.slice(-(MAX_VARIANTS_PER_USER - 1)).concat({ identity: frozenIdentity(identity), value });
    const remaining = this.users.getRemainingTTL(user);
    if (remaining <= 0) return;
    this.users.set(user, variants.length === 1 ? variants[0]! : variants, { ttl: remaining });
  }

  /** After a write: this variant is the only one that describes the user's stored state now. */
  replace(identity: Identity, value: T): void {
    this.users.set(accountKey(identity), { identity: frozenIdentity(identity), value });
  }

  /**
   * Drops what was remembered for logins by this username alone (without a subject): after the account of that
   * username was renamed or keyed on a subject, such a login must read the database again.
   */
  forgetUsername(username: string): void {
    this.users.delete(username);
  }

  /**
   * Drops every user whose remembered values `matches` (a change announced by user id, which is not the key).
   * Walks the whole cache: announced changes are rare, and an index by id would be one more structure to keep
   * in step with every write.
   */
  forgetWhere(matches: (value: T) => boolean): void {
    const stale: string[] = [];
    for (const [user, entry] of this.users.entries()) {
      if (variantsOf(entry).some((variant) => matches(variant.value))) stale.push(user);
    }
    for (const user of stale) this.users.delete(user);
  }

  clear(): void {
    this.users.clear();
  }

  /** How many variants are held in all. */
  get size(): number {
    return this.users.calculatedSize;
  }
}
