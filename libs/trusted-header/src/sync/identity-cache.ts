import { LRUCache } from 'lru-cache';
import type { Identity } from '../identity/identity.js';
import { identityCacheKey } from './fingerprint.js';

/** Most header variants (identities differing in email, name or groups) remembered per user. */
const MAX_VARIANTS_PER_USER = 8;

interface Variant<T> {
  readonly identity: Identity;
  readonly key: string;
  readonly value: T;
}

/** All variants of one user, each computed from the same stored state of that user. Replaced, never mutated. */
interface UserEntry<T> {
  readonly variants: readonly Variant<T>[];
}

/**
 * Synced identities in memory, grouped by user. Every variant of a user was computed from one stored state of
 * that user: when a sync writes the user, `replace` drops every other variant, so a header set seen before the
 * write can never be answered from memory with what was stored before it (a group removed at the proxy, or an
 * email another user has claimed since, would otherwise come back from an old entry). Variants that only read
 * the same state (a request without an email header beside one with it) are added beside each other, so users
 * whose requests alternate between header sets cost no database work in the steady state.
 *
 * Bounded by the number of variants held in all (`maxEntries`) and by time: a user's entry expires `ttlMs` after
 * its oldest variant was read, never later, so another instance's change shows within the TTL.
 */
export class IdentityCache<T> {
  private readonly users: LRUCache<string, UserEntry<T>>;

  constructor(maxEntries: number, ttlMs: number) {
    this.users = new LRUCache<string, UserEntry<T>>({
      maxSize: maxEntries,
      sizeCalculation: (entry) => entry.variants.length,
      ttl: ttlMs,
      ttlAutopurge: false,
    });
  }

  /** The value remembered for exactly this identity, if any. */
  get(identity: Identity): T | undefined {
    const entry = this.users.get(identity.username);
    if (entry === undefined) return undefined;
    // The identity reader hands out one frozen object per distinct header set: a reference match is the rule.
    for (const variant of entry.variants) if (variant.identity === identity) return variant.value;
    const key = identityCacheKey(identity);
    for (const variant of entry.variants) if (variant.key === key) return variant.value;
    return undefined;
  }

  /** After a read that changed nothing: one more variant of the user's current stored state. */
  add(identity: Identity, value: T): void {
    const entry = this.users.get(identity.username);
    if (entry === undefined) {
      this.replace(identity, value);
      return;
    }
    const key = identityCacheKey(identity);
    const others = entry.variants.filter((variant) => variant.key !== key);
    const variants = [...others.slice(-(MAX_VARIANTS_PER_USER - 1)), { identity, key, value }];
    const remaining = this.users.getRemainingTTL(identity.username);
    if (remaining <= 0) return;
    this.users.set(identity.username, { variants }, { ttl: remaining });
  }

  /** After a write: this variant is the only one that describes the user's stored state now. */
  replace(identity: Identity, value: T): void {
    this.users.set(identity.username, { variants: [{ identity, key: identityCacheKey(identity), value }] });
  }

  clear(): void {
    this.users.clear();
  }

  /** How many variants are held in all. */
  get size(): number {
    return this.users.calculatedSize;
  }
}
