import { Inject, Injectable, Logger, Optional } from '@nestjs/common';
import { LRUCache } from 'lru-cache';
import type { QueryRunner } from 'typeorm';
import { LogThrottle } from '../common/log-throttle.js';
import { SharedLoads } from '../common/shared-loads.js';
import type { ResolvedSessionOptions, ResolvedTrustedHeaderOptions } from '../config/trusted-header-options.js';
import { InvalidSessionError, UserDisabledError } from '../errors/domain-errors.js';
import { PROXY_ACTOR, recordAuditEvent, type AuditActorType } from '../persistence/audit.js';
import { announceChange } from '../persistence/change-notifications/announce-change.js';
import { DatabaseGate } from '../persistence/database-gate.service.js';
import {
  deleteEndedSessions,
  findSessionByTokenHash,
  insertSession,
  revokeSession,
  touchSession,
  type SessionEndReason,
  type SessionRecord,
} from '../persistence/session.queries.js';
import { NO_METRICS, TrustedHeaderMetrics } from '../observability/trusted-header-metrics.js';
import { UserSyncService } from '../sync/user-sync.service.js';
import { TRUSTED_HEADER_OPTIONS } from '../trusted-header.constants.js';
import { newSessionToken, sessionTokenHash } from './session-token.js';
import { EXPIRING_CACHE } from '../common/expiring-cache.js';

/** last_seen_at is written at most this often per session and instance. */
export const LAST_SEEN_WRITE_INTERVAL_MS = 60_000;

/**
 * How far the stored last use may lag the real one: a use within a minute of the last write is not written. A
 * session read from the database is therefore given that minute: it ends between AUTH_PROXY_SESSION_IDLE_SECONDS
 * and a minute more after its last use, never before (ending early would log out a user in the middle of work:
 * with the shortest idle timeout, every session would end a minute after login however busy it was).
 */
export const IDLE_PRECISION_MS = LAST_SEEN_WRITE_INTERVAL_MS;

/** A live session as this instance knows it; `lastSeenAt` and `lastWrittenAt` move as it is used. */
export interface LiveSession {
  readonly id: string;
  readonly userId: string;
  readonly username: string;
  readonly expiresAt: number;
  lastSeenAt: number;
  lastWrittenAt: number;
}

/** Who is asking for a session: the user agent and the TCP peer, stored for the admin API's session list. */
export interface SessionOrigin {
  readonly userAgent: string | undefined;
  readonly peer: string | undefined;
}

/** Who ends a session, for the audit trail. */
export interface SessionEnder {
  readonly actorType: AuditActorType;
  readonly actor: string;
}

const MAX_USER_AGENT = 512;

/**
 * Sessions in PostgreSQL, with the live ones of recent use in a bounded cache, so a request with a session
 * cookie costs no database statement in the steady state: the session is read once per AUTH_PROXY_SYNC_TTL_SECONDS
 * (which is also how long another instance may take to see a revocation), and last-seen is written at most
 * once a minute. This instance forgets a session the moment it ends one, the sessions of a user whenever that
 * user is invalidated (a change of the user here, or announced by another instance), and all of them whenever
 * the whole user cache is.
 */
@Injectable()
export class SessionStore {
  private readonly logger = new Logger('TrustedHeader');
  private readonly touchErrors = new LogThrottle(5_000);
  private readonly cache: LRUCache<string, LiveSession> | null;
  private readonly loads = new SharedLoads<string, LiveSession>();
  readonly settings: ResolvedSessionOptions | null;

  constructor(
    @Inject(TRUSTED_HEADER_OPTIONS) private readonly options: ResolvedTrustedHeaderOptions,
    private readonly gate: DatabaseGate,
    userSync: UserSyncService,
    @Optional() private readonly metrics: TrustedHeaderMetrics = NO_METRICS,
  ) {
    this.settings = options.session;
    this.cache =
      options.session !== null && options.cacheMaxEntries > 0 && options.syncTtlMs > 0
        ? new LRUCache({ max: options.cacheMaxEntries, ttl: options.syncTtlMs, ...EXPIRING_CACHE })
        : null;
    userSync.onInvalidate((userIds) => (userIds === undefined ? this.invalidate() : this.forgetUsers(userIds)));
  }

  /**
   * The live session a token names, without a promise when it is cached. Throws (or rejects with)
   * InvalidSessionError when it is unknown, revoked or expired, UserDisabledError when its user is disabled,
   * DatabaseUnavailableError when the database cannot say.
   */
  find(token: string): LiveSession | Promise<LiveSession> {
    // Cached by the token itself, so the steady state hashes nothing; only the database sees the hash.
    const cached = this.cache?.get(token);
    if (cached !== undefined) return this.checkLive(token, cached);
    const pending = this.loads.load(
      token,
      () =>
        this.gate
          .withRunner((runner) => findSessionByTokenHash(runner, sessionTokenHash(token)))
          .then((record) => this.liveOf(record)),
      (live) => this.cache?.set(token, live),
    );
    return this.gate.bounded(pending).then((session) => this.checkLive(token, session));
  }

  /**
   * Starts a session for the user and returns its token (the only copy: only the hash is stored). `replacing`,
   * the session of another user the same browser still held, is ended in the same transaction.
   */
  async start(
    user: { id: string; username: string },
    origin: SessionOrigin,
    replacing: LiveSession | null,
  ): Promise<string> {
    const settings = this.requireSettings();
    const token = newSessionToken();
    const hash = sessionTokenHash(token);
    let replaced = false;
    const committed = this.inTransaction(async (runner) => {
      if (replacing !== null && (await revokeSession(runner, replacing.id, 'replaced'))) {
        replaced = true;
        await recordAuditEvent(runner, {
          type: 'session_revoked',
          actorType: 'proxy',
          actor: PROXY_ACTOR,
          userId: replacing.userId,
          username: replacing.username,
          details: { sessionId: replacing.id, reason: 'replaced', by: user.username },
        });
        // Other instances may hold the replaced session in memory: they drop it when this commits.
        await announceChange(runner, { kind: 'user', userId: replacing.userId });
      }
      await deleteEndedSessions(runner, user.id, (settings.idleMs + IDLE_PRECISION_MS) / 1000);
      const created = await insertSession(runner, {
        tokenHash: hash,
        userId: user.id,
        maxSeconds: settings.maxMs / 1000,
        userAgent: cleanUserAgent(origin.userAgent),
        peer: origin.peer ?? null,
      });
      // Disabled since the login read the user: no session (the transaction, a replacement included, rolls back).
      if (created === undefined) throw new UserDisabledError();
      await recordAuditEvent(runner, {
        type: 'session_created',
        actorType: 'proxy',
        actor: PROXY_ACTOR,
        userId: user.id,
        username: user.username,
        details: { sessionId: created.id, peer: origin.peer ?? null },
      });
      return created;
    });
    if (replacing !== null) this.forgetOnCommit(committed, replacing.id);
    const record = await this.gate.bounded(committed);
    if (replaced) this.metrics.sessionsRevoked('replaced');
    this.metrics.sessionStarted();
    this.cache?.set(token, this.liveOf(record));
    this.logger.log(`session_created: ${JSON.stringify(user.username)} through ${origin.peer ?? 'unknown'}`);
    return token;
  }

  /** Ends a session (logout); returns whether this call ended it. */
  async end(session: LiveSession, reason: SessionEndReason, by: SessionEnder): Promise<boolean> {
    const committed = this.inTransaction(async (runner) => {
      if (!(await revokeSession(runner, session.id, reason))) return false;
      await recordAuditEvent(runner, {
        type: 'session_revoked',
        actorType: by.actorType,
        actor: by.actor,
        userId: session.userId,
        username: session.username,
        details: { sessionId: session.id, reason },
      });
      await announceChange(runner, { kind: 'user', userId: session.userId });
      return true;
    });
    this.forgetOnCommit(committed, session.id);
    const ended = await this.gate.bounded(committed);
    if (ended) this.metrics.sessionsRevoked(reason);
    if (ended) this.logger.log(`session_revoked: ${JSON.stringify(session.username)} (${reason})`);
    return ended;
  }

  /** Forgets every cached session: the next request of each reads its session again. */
  invalidate(): void {
    this.cache?.clear();
    this.loads.forget();
  }

  /** How many sessions the cache holds now (benchmarks). */
  get cachedSessionCount(): number {
    return this.cache?.size ?? 0;
  }

  /** One transaction, not bounded: the caller bounds its wait, and the work may still commit after that. */
  private inTransaction<T>(work: (runner: QueryRunner) => Promise<T>): Promise<T> {
    return this.gate.withRunner((runner) => this.gate.inTransaction(runner, () => work(runner)));
  }

  /**
   * Forgets the session once the transaction that ends it has committed, before the request that ended it
   * answers, and also when that request stopped waiting first (503): a commit that came late must not leave
   * the ended session in memory for the rest of its cache lifetime.
   */
  private forgetOnCommit(committed: Promise<unknown>, id: string): void {
    committed.then(
      () => this.forgetSession(id),
      () => undefined,
    );
  }

  private forgetSession(id: string): void {
    this.forgetWhere((session) => session.id === id);
  }

  /** The user's sessions: ended, or their user disabled, here or on another instance. */
  private forgetUsers(userIds: ReadonlySet<string>): void {
    this.forgetWhere((session) => userIds.has(session.userId));
  }

  private forgetWhere(matches: (session: LiveSession) => boolean): void {
    // A read of the session under way may have been made before it ended: it must not be cached, nor be
    // joined by a request that comes after the end (its loads are keyed by token, so all of them are let go).
    this.loads.forget();
    if (this.cache === null) return;
    for (const [token, session] of this.cache.entries()) {
      if (matches(session)) this.cache.delete(token);
    }
  }

  /** Live now? Also records the use, writing last_seen_at when the last write is a minute old. */
  private checkLive(token: string, session: LiveSession): LiveSession {
    const settings = this.requireSettings();
    const now = Date.now();
    if (now >= session.expiresAt || now - session.lastSeenAt >= settings.idleMs) {
      this.cache?.delete(token);
      throw new InvalidSessionError('The session has expired; log in again');
    }
    session.lastSeenAt = now;
    if (now - session.lastWrittenAt >= LAST_SEEN_WRITE_INTERVAL_MS) {
      session.lastWrittenAt = now;
      // Off the request's path: the request does not wait for bookkeeping, and a failed write costs only
      // precision of the idle timeout on other instances.
      void this.gate
        .bounded(this.gate.withRunner((runner) => touchSession(runner, session.id)))
        .catch((error: unknown) => {
          if (this.touchErrors.admit('touch') !== null) {
            this.logger.warn(
              `session last-seen not written: ${error instanceof Error ? error.message : String(error)}`,
            );
          }
        });
    }
    return session;
  }

  private liveOf(record: SessionRecord | undefined): LiveSession {
    const settings = this.requireSettings();
    const now = Date.now();
    if (record === undefined) throw new InvalidSessionError('The session is unknown; log in again');
    if (now >= record.expiresAt || now - record.lastSeenAt >= settings.idleMs + IDLE_PRECISION_MS) {
      throw new InvalidSessionError('The session has expired; log in again');
    }
    if (record.userDisabled) throw new UserDisabledError();
    if (record.revokedAt !== null) throw new InvalidSessionError('The session has ended; log in again');
    return {
      id: record.id,
      userId: record.userId,
      username: record.username,
      expiresAt: record.expiresAt,
      // The latest the last use can have been (see IDLE_PRECISION_MS); this request counts from now on anyway.
      lastSeenAt: Math.min(now, record.lastSeenAt + IDLE_PRECISION_MS),
      lastWrittenAt: record.lastSeenAt,
    };
  }

  private requireSettings(): ResolvedSessionOptions {
    if (this.settings === null) throw new Error('persistent sessions are off (AUTH_PROXY_SESSION=off)');
    return this.settings;
  }
}

/** Stored for people to read in the admin API: printable ASCII only, bounded. */
function cleanUserAgent(userAgent: string | undefined): string | null {
  if (userAgent === undefined) return null;
  const clean = userAgent.replace(/[^\x20-\x7e]/g, '?').slice(0, MAX_USER_AGENT);
  return clean === '' ? null : clean;
}
