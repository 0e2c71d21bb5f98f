import { HttpStatus, Inject, Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { LRUCache } from 'lru-cache';
import type { DataSource, QueryRunner } from 'typeorm';
import { LogThrottle } from '../common/log-throttle.js';
import type { ResolvedTrustedHeaderOptions } from '../config/trusted-header-options.js';
import { DatabaseUnavailableException, TrustedHeaderException } from '../errors/trusted-header.exception.js';
import type { Identity } from '../identity/identity.js';
import { TRUSTED_HEADER_OPTIONS } from '../trusted-header.constants.js';
import type { AuthenticatedUser } from './authenticated-user.js';
import { identityCacheKey, syncFingerprint } from './fingerprint.js';
import {
  findLocalGroups,
  findUserByUsername,
  insertUserIfAbsent,
  isEmailHeldByAnotherUser,
  replaceExternalGroups,
  updateUserAttributes,
  type UserRow,
} from './user-sync.queries.js';

type SyncOutcome = { readonly disabled: true; readonly username: string } | { readonly disabled: false; readonly user: AuthenticatedUser };

const UNIQUE_VIOLATION = '23505';
const EMAIL_INDEX = 'auth_proxy_users_email_key';

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
  private readonly databaseErrors = new LogThrottle(5_000);
  /** Bumped by invalidate(): a sync that started before it must not refill the cache with what it read. */
  private generation = 0;

  constructor(
    @Inject(TRUSTED_HEADER_OPTIONS) private readonly options: ResolvedTrustedHeaderOptions,
    @InjectDataSource() private readonly dataSource: DataSource,
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
    const key = identityCacheKey(identity);
    const outcome = this.cache?.get(key) ?? (await this.syncShared(key, identity));
    if (outcome.disabled) {
      throw new TrustedHeaderException(HttpStatus.FORBIDDEN, 'user_disabled', 'This account is disabled');
    }
    return outcome.user;
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

  /** Number of cached identities (bounded by cacheMaxEntries). */
  get cachedIdentities(): number {
    return this.cache?.size ?? 0;
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
    return this.withTimeout(pending);
  }

  private async withTimeout<T>(work: Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new DatabaseTimeoutError(this.options.databaseTimeoutMs)), this.options.databaseTimeoutMs);
    });
    try {
      return await Promise.race([work, timeout]);
    } catch (error) {
      if (error instanceof TrustedHeaderException) throw error;
      // Never a 500 and never a login: whatever went wrong below, the request gets a 503 with a reason.
      const skipped = this.databaseErrors.admit('database');
      if (skipped !== null) {
        const more = skipped > 0 ? ` (${skipped} similar errors not logged)` : '';
        this.logger.error(`database_unavailable: ${error instanceof Error ? error.message : String(error)}${more}`);
      }
      throw new DatabaseUnavailableException();
    } finally {
      clearTimeout(timer);
    }
  }

  private async load(identity: Identity): Promise<SyncOutcome> {
    const runner = this.dataSource.createQueryRunner();
    let broken: unknown;
    try {
      const existing = await findUserByUsername(runner, identity.username);
      if (existing?.disabled) return { disabled: true, username: existing.username };
      if (existing && existing.sync_fingerprint === syncFingerprint(identity)) {
        return { disabled: false, user: await this.toAuthenticatedUser(runner, existing, identity) };
      }
      if (!existing && !this.options.createUnknownUser) {
        throw new TrustedHeaderException(HttpStatus.UNAUTHORIZED, 'unknown_user', 'Unknown user');
      }
      try {
        return await this.writeInTransaction(runner, identity, true);
      } catch (error) {
        // Two new users racing for one email: the loser retries without it instead of failing the login.
        if (!isEmailConflict(error)) throw error;
        return await this.writeInTransaction(runner, identity, false);
      }
    } catch (error) {
      if (!(error instanceof TrustedHeaderException)) broken = error;
      throw error;
    } finally {
      await releaseRunner(runner, broken);
    }
  }

  private async writeInTransaction(runner: QueryRunner, identity: Identity, copyEmail: boolean): Promise<SyncOutcome> {
    // READ COMMITTED whatever the DataSource's default: under REPEATABLE READ, ON CONFLICT DO NOTHING and the
    // locking re-read fail with serialization errors when first logins race.
    await runner.startTransaction('READ COMMITTED');
    try {
      const outcome = await this.write(runner, identity, copyEmail);
      await runner.commitTransaction();
      return outcome;
    } catch (error) {
      // A rollback that fails leaves the session inside the transaction; the error it throws marks the
      // connection as broken, so it is destroyed instead of being handed to the next request.
      if (runner.isTransactionActive) await runner.rollbackTransaction();
      throw error;
    }
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
      if (created) this.logger.log(`user_created: ${JSON.stringify(identity.username)}`);
    }
    if (user.disabled) return { disabled: true, username: user.username };

    const fingerprint = syncFingerprint(identity);
    if (user.sync_fingerprint !== fingerprint) {
      const email = copyEmail ? await this.emailToStore(runner, user, identity) : user.email;
      await updateUserAttributes(runner, user.id, { email, displayName: identity.displayName, fingerprint });
      await replaceExternalGroups(runner, user.id, identity.groups);
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

  private async toAuthenticatedUser(runner: QueryRunner, user: UserRow, identity: Identity): Promise<AuthenticatedUser> {
    const groups = new Set(await findLocalGroups(runner, user.id, identity.groups));
    if (identity.groups.some((group) => this.options.adminGroups.includes(group))) {
      groups.add(this.options.adminLocalGroup);
    }
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

/**
 * Returns the connection to the pool only when nothing went wrong. After a failed or timed-out statement the
 * session may still be inside a transaction (a ROLLBACK queued behind a hung statement is dropped by the
 * driver); handing it to the next request would let that request commit this one's half-written changes.
 */
async function releaseRunner(runner: QueryRunner, broken: unknown): Promise<void> {
  const postgres = runner as QueryRunner & { releasePostgresConnection?: (error?: unknown) => Promise<void> };
  if (broken !== undefined && typeof postgres.releasePostgresConnection === 'function') {
    await postgres.releasePostgresConnection(broken instanceof Error ? broken : new Error(String(broken)));
  } else {
    await runner.release();
  }
}

class DatabaseTimeoutError extends Error {
  constructor(ms: number) {
    super(`database did not answer within ${ms} ms`);
  }
}

function isEmailConflict(error: unknown): boolean {
  const driverError = (error as { driverError?: { code?: string; constraint?: string } })?.driverError ?? error;
  const { code, constraint } = (driverError ?? {}) as { code?: string; constraint?: string };
  return code === UNIQUE_VIOLATION && constraint === EMAIL_INDEX;
}
