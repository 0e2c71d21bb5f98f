import { Inject, Injectable, Logger, Optional } from '@nestjs/common';
import type { QueryRunner } from 'typeorm';
import type { ResolvedTrustedHeaderOptions } from '../config/trusted-header-options.js';
import { TrustedHeaderError, UnknownUserError, UserDisabledError } from '../errors/domain-errors.js';
import type { Identity } from '../identity/identity.js';
import { PROXY_ACTOR, recordAuditEvents, type AuditEntry } from '../persistence/audit.js';
import { isUniqueViolation } from '../persistence/database-errors.js';
import { announceChange } from '../persistence/change-notifications/announce-change.js';
import { DatabaseGate } from '../persistence/database-gate.service.js';
import {
  EMAIL_INDEX,
  findUserWithExternalGroups,
  isEmailHeldByAnotherUser,
  replaceExternalGroups,
  SUBJECT_INDEX,
  updateUserAttributes,
  USERNAME_INDEX,
  type UserRow,
} from '../persistence/user-sync.queries.js';
import { TRUSTED_HEADER_OPTIONS } from '../trusted-header.constants.js';
import { NO_METRICS, TrustedHeaderMetrics, type SyncResult } from '../observability/trusted-header-metrics.js';
import { LRUCache } from 'lru-cache';
import { sharedGroupList } from '../common/group-lists.js';
import type { AuthenticatedUser } from './authenticated-user.js';
import { effectiveGroups } from './effective-groups.js';
import { accountKey, groupsFingerprint, identityCacheKey } from './fingerprint.js';
import { IdentityCache } from './identity-cache.js';
import { SharedLoads } from '../common/shared-loads.js';
import { lockAccount, readAccount, usernameTaken } from './user-accounts.js';
import { EXPIRING_CACHE } from '../common/expiring-cache.js';

/** A disabled user, by id: a change announced for that user finds what is remembered of it. */
class DisabledUser {
  constructor(readonly userId: string) {
    Object.freeze(this);
  }
}

/**
 * What a load found: the user as logged in, held as itself (no wrapper object per cached identity), or a
 * disabled user. Both name the user, so that a change announced for one user finds what is remembered of it.
 */
type SyncOutcome = AuthenticatedUser | DisabledUser;

/** What one database round did: `wrote` when it changed the stored user (or created it). */
interface LoadResult {
  readonly outcome: SyncOutcome;
  readonly wrote: boolean;
  /** A username whose logins without a subject may be cached as another state of the account (user-accounts.ts). */
  readonly staleUsername?: string;
}

const userIdOf = (outcome: SyncOutcome): string => (outcome instanceof DisabledUser ? outcome.userId : outcome.id);
/** A write that ran into a unique index another login had just claimed is retried (see load). */
const MAX_WRITE_ATTEMPTS = 3;

function syncResultOf({ outcome, wrote }: LoadResult): SyncResult {
  if (outcome instanceof DisabledUser) return 'disabled';
  return wrote ? 'written' : 'unchanged';
}

function syncFailureOf(error: unknown): SyncResult {
  if (error instanceof TrustedHeaderError && (error.reason === 'unknown_user' || error.reason === 'username_taken')) {
    return error.reason;
  }
  return 'failed';
}

function assertEnabled(outcome: SyncOutcome): AuthenticatedUser {
  if (outcome instanceof DisabledUser) throw new UserDisabledError();
  return outcome;
}

/**
 * Turns an identity into a persisted user with effective groups.
 *
 * Steady state costs nothing: a synced identity is served from a bounded in-memory cache (IdentityCache) for at
 * most the sync TTL. On a miss the user is read; it is written only when an asserted value differs from what
 * is stored. An absent email or display-name header keeps what is stored (as Django's RemoteUserBackend and
 * Grafana do); an absent groups header means no external groups, so privileges drop and never linger. All
 * writes for one user happen in one transaction behind a row lock, and this instance runs the syncs of one user
 * one after another, so what it caches follows the order of the writes.
 *
 * Errors are domain errors (UnknownUserError, UserDisabledError, DatabaseUnavailableError): the strategy maps
 * them to a status and a reason.
 */
@Injectable()
export class UserSyncService {
  private readonly logger = new Logger('TrustedHeader');
  private readonly cache: IdentityCache<SyncOutcome> | null;
  /** Loads under way, by identity: concurrent requests for one identity share one database round. */
  private readonly loads = new SharedLoads<string, LoadResult>();
  /** The last load queued for each user: the next one of that user starts after it has settled. */
  private readonly queues = new Map<string, Promise<unknown>>();
  /**
   * Users of persistent sessions, by id, as stored (the external groups of their last sync): a session carries
   * no headers. Same bounds as the identity cache; dropped with it, and per user when a sync rewrites the user
   * (a read by id under way may have been made before the write, a group the proxy has just removed: it is let go).
   */
  private readonly byId: LRUCache<string, SyncOutcome> | null;
  private readonly byIdLoads = new SharedLoads<string, SyncOutcome>();
  private readonly invalidationListeners: ((userIds: ReadonlySet<string> | undefined) => void)[] = [];

  constructor(
    @Inject(TRUSTED_HEADER_OPTIONS) private readonly options: ResolvedTrustedHeaderOptions,
    private readonly gate: DatabaseGate,
    @Optional() private readonly metrics: TrustedHeaderMetrics = NO_METRICS,
  ) {
    this.cache =
      options.cacheMaxEntries > 0 && options.syncTtlMs > 0
        ? new IdentityCache(options.cacheMaxEntries, options.syncTtlMs)
        : null;
    this.byId =
      options.session !== null && options.cacheMaxEntries > 0 && options.syncTtlMs > 0
        ? new LRUCache({ max: options.cacheMaxEntries, ttl: options.syncTtlMs, ...EXPIRING_CACHE })
        : null;
  }

  /**
   * Resolves the identity to a logged-in user, creating or updating it as configured. Rejects with
   * UnknownUserError, UserDisabledError or DatabaseUnavailableError (bounded by AUTH_PROXY_DB_TIMEOUT_MS).
   */
  async syncFromIdentity(identity: Identity): Promise<AuthenticatedUser> {
    return this.userFor(identity);
  }

  /**
   * syncFromIdentity for the hot path: a cached identity is answered at once, without a promise (or throws
   * UserDisabledError at once); anything else returns the promise of the database round.
   */
  userFor(identity: Identity): AuthenticatedUser | Promise<AuthenticatedUser> {
    const cached = this.cache?.get(identity);
    if (cached !== undefined) {
      this.metrics.identityCacheHit();
      return assertEnabled(cached);
    }
    this.metrics.identityCacheMiss();
    return this.syncShared(identity).then(assertEnabled);
  }

  /**
   * The user behind a persistent session, by id, as last synced (stored external groups, current mappings and
   * grants). Answers at once from memory within the sync TTL; rejects with UserDisabledError, UnknownUserError
   * (the user is gone) or DatabaseUnavailableError.
   */
  userById(id: string): AuthenticatedUser | Promise<AuthenticatedUser> {
    const cached = this.byId?.get(id);
    if (cached !== undefined) return assertEnabled(cached);
    const pending = this.byIdLoads.load(
      id,
      () =>
        this.gate.withRunner(async (runner) => {
          const user = await findUserWithExternalGroups(runner, id);
          if (!user) throw new UnknownUserError();
          if (user.disabled) return new DisabledUser(user.id);
          return this.enabled(runner, user, { groups: user.external_groups });
        }),
      (outcome) => this.byId?.set(id, outcome),
    );
    return this.gate.bounded(pending).then(assertEnabled);
  }

  /**
   * Called after every invalidate() (without a user id) and invalidateUser(id) (with it): the session store drops
   * its cached sessions with the users.
   */
  onInvalidate(listener: (userIds: ReadonlySet<string> | undefined) => void): void {
    this.invalidationListeners.push(listener);
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
    this.cache?.clear();
    this.loads.forget();
    this.byId?.clear();
    this.byIdLoads.forget();
    for (const listener of this.invalidationListeners) listener(undefined);
  }

  /**
   * Forgets what is cached of one user (every header variant, by subject or by a username it held, and its
   * sessions), after a change of that user here or on another instance. Loads under way are detached as in
   * invalidate(): they are keyed by identity, not by user, and one of them may have read the user before the
   * change.
   */
  invalidateUser(userId: string): void {
    this.invalidateUsers(new Set([userId]));
  }

  /** invalidateUser for several users in one pass over the caches (a pass costs the same for one user or many). */
  invalidateUsers(userIds: ReadonlySet<string>): void {
    if (userIds.size === 0) return;
    this.cache?.forgetWhere((outcome) => userIds.has(userIdOf(outcome)));
    this.loads.forget();
    for (const userId of userIds) this.byId?.delete(userId);
    this.byIdLoads.forget();
    for (const listener of this.invalidationListeners) listener(userIds);
  }

  private forgetUserById(id: string): void {
    this.byId?.delete(id);
    this.byIdLoads.forget();
  }

  /** One database round per identity at a time, shared by the requests that carry it (see SharedLoads). */
  private async syncShared(identity: Identity): Promise<SyncOutcome> {
    const pending = this.loads.load(
      identityCacheKey(identity),
      () => this.queued(accountKey(identity), () => this.timedLoad(identity)),
      ({ outcome, wrote, staleUsername }) => {
        if (!wrote) {
          this.cache?.add(identity, outcome);
          return;
        }
        this.cache?.replace(identity, outcome);
        if (staleUsername !== undefined) {
          this.cache?.forgetUsername(staleUsername);
          // A rename: this instance's sessions of the user still carry the old name (others hear the notice).
          if (!(outcome instanceof DisabledUser))
            for (const listener of this.invalidationListeners) listener(new Set([outcome.id]));
        }
        // A session of this user must see what the sync just stored, not what was stored before.
        if (!(outcome instanceof DisabledUser)) this.forgetUserById(outcome.id);
      },
    );
    return (await this.gate.bounded(pending)).outcome;
  }

  /** Runs `work` after every earlier load of the same user (accountKey) has settled, whatever its outcome. */
  private queued<T>(user: string, work: () => Promise<T>): Promise<T> {
    const previous = this.queues.get(user);
    const run = previous === undefined ? work() : previous.then(work, work);
    const settled = run.then(
      () => undefined,
      () => undefined,
    );
    this.queues.set(user, settled);
    void settled.then(() => {
      if (this.queues.get(user) === settled) this.queues.delete(user);
    });
    return run;
  }

  /** One load, its duration recorded by result (the database round, whether or not the request still waits). */
  private timedLoad(identity: Identity): Promise<LoadResult> {
    const started = performance.now();
    const elapsed = () => (performance.now() - started) / 1000;
    return this.load(identity).then(
      (result) => {
        this.metrics.syncFinished(syncResultOf(result), elapsed());
        return result;
      },
      (error: unknown) => {
        this.metrics.syncFinished(syncFailureOf(error), elapsed());
        throw error;
      },
    );
  }

  private load(identity: Identity): Promise<LoadResult> {
    return this.gate.withRunner(async (runner) => {
      const resolution = await readAccount(runner, identity, false);
      if (resolution.kind !== 'create' && resolution.account?.disabled) {
        return { outcome: new DisabledUser(resolution.account.id), wrote: false };
      }
      if (resolution.kind === 'taken') throw usernameTaken(identity, resolution, this.logger);
      if (resolution.kind === 'account' && !(await this.differs(runner, resolution.account, identity))) {
        return { outcome: await this.enabled(runner, resolution.account, identity), wrote: false };
      }
      if (resolution.kind === 'create' && !this.options.createUnknownUser) throw new UnknownUserError();
      let copyEmail = true;
      for (let attempt = 1; ; attempt += 1) {
        try {
          return await this.gate.inTransaction(runner, () =>
            this.write(runner, identity, copyEmail, resolution.kind === 'create'),
          );
        } catch (error) {
          if (attempt === MAX_WRITE_ATTEMPTS) throw error;
          // Two new users racing for one email: the loser retries without it instead of failing the login.
          if (isUniqueViolation(error, EMAIL_INDEX)) copyEmail = false;
          // A username or subject another login claimed meanwhile: the retry reads it and decides again (a rename
          // onto a username just created elsewhere ends as username_taken, never as a 500).
          else if (!isUniqueViolation(error, USERNAME_INDEX) && !isUniqueViolation(error, SUBJECT_INDEX)) throw error;
        }
      }
    });
  }

  /** Whether the asserted values would change what is stored. Reads only. */
  private async differs(runner: QueryRunner, user: UserRow, identity: Identity): Promise<boolean> {
    if (user.sync_fingerprint !== groupsFingerprint(identity.groups)) return true;
    if (identity.displayName !== null && identity.displayName !== user.display_name) return true;
    if (identity.email === null || identity.email === user.email) return false;
    return !(await isEmailHeldByAnotherUser(runner, identity.email, user.id));
  }

  /** `expectNew`: the read before the transaction found no account (see AccountContext). */
  private async write(
    runner: QueryRunner,
    identity: Identity,
    copyEmail: boolean,
    expectNew: boolean,
  ): Promise<LoadResult> {
    const { user, changed, created, staleUsername, events } = await lockAccount(runner, identity, {
      createUnknownUser: this.options.createUnknownUser,
      logger: this.logger,
      expectNew,
    });
    if (user.disabled) return { outcome: new DisabledUser(user.id), wrote: changed, staleUsername };

    const displayName = identity.displayName ?? user.display_name;
    const fingerprint = groupsFingerprint(identity.groups);
    const groupsChanged = fingerprint !== user.sync_fingerprint;
    const email = await this.storeAttributes(runner, user, identity, copyEmail, { displayName, fingerprint });
    const subject = { actorType: 'proxy', actor: PROXY_ACTOR, userId: user.id, username: user.username } as const;
    const changes: Record<string, { from: string | null; to: string | null }> = {};
    if (email !== user.email) changes.email = { from: user.email, to: email };
    if (displayName !== user.display_name) changes.displayName = { from: user.display_name, to: displayName };
    // The events of one sync go in one statement at the end, in the order of the changes.
    const audit: AuditEntry[] = [...events];
    if (Object.keys(changes).length > 0) {
      audit.push({ type: 'user_attributes_changed', ...subject, details: { changes } });
    }
    if (groupsChanged) {
      const { added, removed } = await replaceExternalGroups(runner, user.id, identity.groups, created === true);
      if (added.length > 0 || removed.length > 0) {
        audit.push({ type: 'user_groups_changed', ...subject, details: { source: 'proxy', added, removed } });
      }
    }
    await recordAuditEvents(runner, audit);
    const stored = { ...user, email, display_name: displayName, sync_fingerprint: fingerprint };
    const wrote = changed || groupsChanged || Object.keys(changes).length > 0;
    // Other instances may hold this user as it was (a rename, new groups): they drop it when this commits.
    if (wrote && created !== true) await announceChange(runner, { kind: 'user', userId: user.id });
    return { outcome: await this.enabled(runner, stored, identity), wrote, staleUsername };
  }

  /**
   * Writes the attributes when any of them changes; returns the email stored. The email is the asserted one,
   * unless none was asserted (or `copyEmail` is off: keep what is stored) or another user holds it. Never link
   * accounts by email (Grafana CVE-2022-31107): an email another user holds is not copied. When the display name
   * or the groups change, the row is written anyway and the UPDATE checks the email itself; an email alone is
   * checked first, so that a held one writes nothing.
   */
  private async storeAttributes(
    runner: QueryRunner,
    user: UserRow,
    identity: Identity,
    copyEmail: boolean,
    { displayName, fingerprint }: { displayName: string | null; fingerprint: string },
  ): Promise<string | null> {
    const asserted = copyEmail && identity.email !== null && identity.email !== user.email ? identity.email : null;
    const rowChanges = displayName !== user.display_name || fingerprint !== user.sync_fingerprint;
    const stored =
      !rowChanges && (asserted === null || (await isEmailHeldByAnotherUser(runner, asserted, user.id)))
        ? user.email
        : await updateUserAttributes(runner, user.id, {
            email: asserted ?? user.email,
            emailUnlessHeld: asserted !== null,
            displayName,
            fingerprint,
          });
    if (asserted !== null && stored !== asserted) {
      this.logger.warn(
        `email_conflict: ${JSON.stringify(identity.username)} asserted an email another user holds; not copied`,
      );
    }
    return stored;
  }

  /** `identity`: what was asserted (a session carries only the stored external groups). */
  private async enabled(
    runner: QueryRunner,
    user: UserRow,
    identity: Pick<Identity, 'groups'> & Partial<Pick<Identity, 'username' | 'email'>>,
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
    // Frozen: one cached object serves many requests, so no handler may change it for the others. A stored value
    // equal to the asserted one is taken from the identity, which the identity cache holds too: one copy each.
    return Object.freeze({
      id: user.id,
      username: user.username === identity.username ? identity.username : user.username,
      email: user.email === identity.email ? identity.email : user.email,
      displayName: user.display_name,
      groups: sharedGroupList([...groups].sort()),
      externalGroups: sharedGroupList(identity.groups),
      isAdmin: groups.has(this.options.adminLocalGroup),
    });
  }
}
