import { HttpStatus, Inject, Injectable, Logger } from '@nestjs/common';
import { LRUCache } from 'lru-cache';
import type { QueryRunner } from 'typeorm';
import type { ResolvedTrustedHeaderOptions } from '../config/trusted-header-options.js';
import { TrustedHeaderException } from '../errors/trusted-header.exception.js';
import type { Identity } from '../identity/identity.js';
import { TRUSTED_HEADER_OPTIONS } from '../trusted-header.constants.js';
import type { AuthenticatedUser } from './authenticated-user.js';
import { PROXY_ACTOR, recordAuditEvent } from './audit.js';
import { isUniqueViolation } from './database-errors.js';
import { DatabaseGate } from './database-gate.service.js';
import { effectiveGroups } from './effective-groups.js';
import { identityCacheKey, syncFingerprint } from './fingerprint.js';
import {
  findUserByUsername,
  insertUserIfAbsent,
  isEmailHeldByAnotherUser,
  replaceExternalGroups,
  updateUserAttributes,
  type UserRow,
} from './user-sync.queries.js';

type SyncOutcome =
  | { readonly disabled: true; readonly username: string }
  | { readonly disabled: false; readonly user: AuthenticatedUser };

const EMAIL_INDEX = 'auth_proxy_users_email_key';

function userOf(outcome: SyncOutcome): AuthenticatedUser {
  if (outcome.disabled) {
    throw new TrustedHeaderException(HttpStatus.FORBIDDEN, 'user_disabled', 'This account is disabled');
  }
  return outcome.user;
}

/**
 * Turns an identity into a persisted user with effective groups.
 *
 * Steady state costs nothing: a synced identity is served from a bounded in-memory cache keyed on every synced
 * header value, for at most the sync TTL. On a miss the user is read; it is written only when a header value
 * differs from what was last stored. All writes for one user happen in one transaction behind a row lock.
 */
@Injectable()
export class UserSyncService {
  private readonly logger = new Logger('TrustedHeader');
  private readonly cache: LRUCache<string, SyncOutcome> | null;
  private readonly inFlight = new Map<string, Promise<SyncOutcome>>();
  /** Bumped by invalidate(): a sync that started before it must not refill the cache with what it read. */
  private generation = 0;

  constructor(
    @Inject(TRUSTED_HEADER_OPTIONS) private readonly options: ResolvedTrustedHeaderOptions,
    private readonly gate: DatabaseGate,
  ) {
    this.cache =
      options.cacheMaxEntries > 0 && options.syncTtlMs > 0
        ? new LRUCache({ max: options.cacheMaxEntries, ttl: options.syncTtlMs, ttlAutopurge: false })
        : null;
  }

  /**
   * Resolves the identity to a logged-in user, creating or updating it as configured.
   * Throws 401 `unknown_user`, 403 `user_disabled`, or 503 `database_unavailable` (bounded by the timeout).
   */
  async syncFromIdentity(identity: Identity): Promise<AuthenticatedUser> {
    return this.userFor(identity);
  }

  /**
   * syncFromIdentity for the hot path: a cached identity is answered at once, without a promise (or throws at
   * once when that user is disabled); anything else returns the promise of the database round.
   */
  userFor(identity: Identity): AuthenticatedUser | Promise<AuthenticatedUser> {
    const key = identityCacheKey(identity);
    const cached = this.cache?.get(key);
    if (cached !== undefined) return userOf(cached);
    return this.syncShared(key, identity).then(userOf);
  }

  /** How many identities the cache holds now (for metrics and benchmarks); 0 when caching is off. */
  get cachedIdentityCount(): number {
    return this.cache?.size ?? 0;
  }

  /**
   * Forgets every cached identity, so the next request of each user reads the database again. Loads already
   * under way are detached too: a request after this call never joins a read made before it.
   */
  invalidate(): void {
    this.generation += 1;
    this.cache?.clear();
    this.inFlight.clear();
  }

  /**
   * Concurrent requests for one identity share one database round (and one row lock wait). The shared load
   * stays registered until it settles, even when its waiters have timed out, so a slow row pins one
   * connection, not one per request; each waiter applies its own time bound.
   */
  private syncShared(key: string, identity: Identity): Promise<SyncOutcome> {
    let pending = this.inFlight.get(key);
    if (!pending) {
      const generation = this.generation;
      const load = this.load(identity);
      pending = load;
      this.inFlight.set(key, load);
      load
        .then(
          (outcome) => {
            if (this.generation === generation) this.cache?.set(key, outcome);
          },
          () => undefined,
        )
        .finally(() => {
          if (this.inFlight.get(key) === load) this.inFlight.delete(key);
        });
    }
    return this.gate.bounded(pending);
  }

  private load(identity: Identity): Promise<SyncOutcome> {
    return this.gate.withRunner(async (runner) => {
      const existing = await findUserByUsername(runner, identity.username);
      if (existing?.disabled) return { disabled: true, username: existing.username };
      if (existing && existing.sync_fingerprint === syncFingerprint(identity)) {
        return { disabled: false, user: await this.toAuthenticatedUser(runner, existing, identity) };
      }
      if (!existing && !this.options.createUnknownUser) {
        throw new TrustedHeaderException(HttpStatus.UNAUTHORIZED, 'unknown_user', 'Unknown user');
      }
      try {
        return await this.gate.inTransaction(runner, () => this.write(runner, identity, true));
      } catch (error) {
        // Two new users racing for one email: the loser retries without it instead of failing the login.
        if (!isUniqueViolation(error, EMAIL_INDEX)) throw error;
        return await this.gate.inTransaction(runner, () => this.write(runner, identity, false));
      }
    });
  }

  private async write(runner: QueryRunner, identity: Identity, copyEmail: boolean): Promise<SyncOutcome> {
    let user = await findUserByUsername(runner, identity.username, true);
    if (!user) {
      if (!this.options.createUnknownUser) {
        throw new TrustedHeaderException(HttpStatus.UNAUTHORIZED, 'unknown_user', 'Unknown user');
      }
      const created = await insertUserIfAbsent(runner, identity.username);
      user = await findUserByUsername(runner, identity.username, true);
      if (!user) throw new Error(`user ${JSON.stringify(identity.username)} vanished during its first login`);
      if (created) {
        await recordAuditEvent(runner, {
          type: 'user_created',
          actor: PROXY_ACTOR,
          userId: user.id,
          username: user.username,
        });
        this.logger.log(`user_created: ${JSON.stringify(identity.username)}`);
      }
    }
    if (user.disabled) return { disabled: true, username: user.username };

    const fingerprint = syncFingerprint(identity);
    if (user.sync_fingerprint !== fingerprint) {
      const email = copyEmail ? await this.emailToStore(runner, user, identity) : user.email;
      await updateUserAttributes(runner, user.id, { email, displayName: identity.displayName, fingerprint });
      const changes: Record<string, { from: string | null; to: string | null }> = {};
      if (email !== user.email) changes.email = { from: user.email, to: email };
      if (identity.displayName !== user.display_name)
        changes.displayName = { from: user.display_name, to: identity.displayName };
      const subject = { actor: PROXY_ACTOR, userId: user.id, username: user.username };
      if (Object.keys(changes).length > 0) {
        await recordAuditEvent(runner, { type: 'user_attributes_changed', ...subject, details: { changes } });
      }
      const { added, removed } = await replaceExternalGroups(runner, user.id, identity.groups);
      if (added.length > 0 || removed.length > 0) {
        await recordAuditEvent(runner, {
          type: 'user_groups_changed',
          ...subject,
          details: { source: 'proxy', added, removed },
        });
      }
      user = { ...user, email, display_name: identity.displayName, sync_fingerprint: fingerprint };
    }
    return { disabled: false, user: await this.toAuthenticatedUser(runner, user, identity) };
  }

  /** Never link accounts by email (Grafana CVE-2022-31107): an email another user holds is not copied. */
  private async emailToStore(runner: QueryRunner, user: UserRow, identity: Identity): Promise<string | null> {
    if (identity.email === null || identity.email === user.email) return identity.email;
    if (await isEmailHeldByAnotherUser(runner, identity.email, user.id)) {
      this.logger.warn(
        `email_conflict: ${JSON.stringify(identity.username)} asserted an email another user holds; not copied`,
      );
      return user.email;
    }
    return identity.email;
  }

  private async toAuthenticatedUser(
    runner: QueryRunner,
    user: UserRow,
    identity: Identity,
  ): Promise<AuthenticatedUser> {
    const groups = new Set(
      (
        await effectiveGroups(
          (sql: string, parameters: unknown[]) => runner.query(sql, parameters),
          this.options,
          identity.groups,
          user.id,
        )
      ).map((group) => group.name),
    );
    // Frozen: one cached object serves many requests, so no handler may change it for the others.
    return Object.freeze({
      id: user.id,
      username: user.username,
      email: user.email,
      displayName: user.display_name,
      groups: Object.freeze([...groups].sort()),
      externalGroups: Object.freeze([...identity.groups]),
      isAdmin: groups.has(this.options.adminLocalGroup),
    });
  }
}
