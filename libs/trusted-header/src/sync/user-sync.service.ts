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

  /** Forgets every cached identity, so the next request of each user reads the database again. */
  invalidate(): void {
    this.generation += 1;
    this.cache?.clear();
  }

  /** Number of cached identities (bounded by cacheMaxEntries). */
  get cachedIdentities(): number {
    return this.cache?.size ?? 0;
  }

  /** Concurrent requests for one identity share one database round (and one row lock wait). */
  private syncShared(key: string, identity: Identity): Promise<SyncOutcome> {
    let pending = this.inFlight.get(key);
    if (!pending) {
      const generation = this.generation;
      pending = this.withTimeout(this.load(identity))
        .then((outcome) => {
          if (this.generation === generation) this.cache?.set(key, outcome);
          return outcome;
        })
        .finally(() => this.inFlight.delete(key));
      this.inFlight.set(key, pending);
    }
    return pending;
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
    } finally {
      await runner.release();
    }
  }

  private async writeInTransaction(runner: QueryRunner, identity: Identity, copyEmail: boolean): Promise<SyncOutcome> {
    await runner.startTransaction();
    try {
      const outcome = await this.write(runner, identity, copyEmail);
      await runner.commitTransaction();
      return outcome;
    } catch (error) {
      if (runner.isTransactionActive) await runner.rollbackTransaction().catch(() => undefined);
      throw error;
    }
  }

  private async write(runner: QueryRunner, identity: Identity, copyEmail: boolean): Promise<SyncOutcome> {
    let user = await findUserByUsername(runner, identity.username, true);
    if (!user) {
      if (!this.options.createUnknownUser) {
        throw new TrustedHeaderException(HttpStatus.UNAUTHORIZED, 'unknown_user', 'Unknown user');
      }
      await insertUserIfAbsent(runner, identity.username);
      user = (await findUserByUsername(runner, identity.username, true))!;
      this.logger.log(`user_created: ${JSON.stringify(identity.username)}`);
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
