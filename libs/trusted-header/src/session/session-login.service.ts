import { Injectable, Optional } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { IncomingMessage } from 'node:http';
import { settle, type MaybePromise } from '../common/maybe-promise.js';
import { InvalidSessionError, TrustedHeaderError, UnknownUserError } from '../errors/domain-errors.js';
import { NO_METRICS, TrustedHeaderMetrics, UNEXPECTED_ERROR } from '../observability/trusted-header-metrics.js';
import type { AuthenticatedUser } from '../sync/authenticated-user.js';
import { UserSyncService } from '../sync/user-sync.service.js';
import { clearedSessionCookieHeader, sessionCookieHeader, type SessionCookie } from './session-cookie.js';
import { SessionStore, type LiveSession } from './session-store.service.js';
import { isWellFormedSessionToken } from './session-token.js';

function reasonOf(error: unknown): TrustedHeaderError['reason'] | typeof UNEXPECTED_ERROR {
  return error instanceof TrustedHeaderError ? error.reason : UNEXPECTED_ERROR;
}

/** The request as the session rules need it. */
export interface SessionRequest {
  readonly message: IncomingMessage;
  readonly response: unknown;
  readonly peer: string | undefined;
  readonly cookie: SessionCookie;
}

/**
 * Django's persistent-session rules, for requests from a trusted proxy:
 * - identity headers and the browser's session of the same user: the session goes on (no write);
 * - identity headers of another user: that session ends and a new one starts for the asserted user, never a mix;
 * - identity headers and no live session: a new session starts. Its token is always new: a cookie the browser
 *   brought (planted before login, unknown, ended) is never adopted (no fixation);
 * - no identity headers: the session alone decides.
 * A cookie sent twice is ambiguous and refused, as every doubled credential is.
 */
@Injectable()
export class SessionLogin {
  /**
   * The session each request started: a route can run the login twice (the global guard, then the one @Groups()
   * attaches, or AdminGuard), and the second run must continue the first one's session, not start another.
   */
  private readonly started = new WeakMap<IncomingMessage, Promise<AuthenticatedUser>>();

  constructor(
    private readonly store: SessionStore,
    private readonly userSync: UserSyncService,
    private readonly adapterHost: HttpAdapterHost,
    @Optional() private readonly metrics: TrustedHeaderMetrics = NO_METRICS,
  ) {}

  get enabled(): boolean {
    return this.store.settings !== null;
  }

  /** After the headers' user was resolved: continue the browser's session, or start one. */
  afterHeaderLogin(request: SessionRequest, user: AuthenticatedUser): MaybePromise<AuthenticatedUser> {
    const { cookie } = request;
    if (cookie.kind === 'many') {
      this.metrics.sessionRefused('invalid_session');
      this.refuse(request, 'The request carries the session cookie more than once');
    }
    const started = this.started.get(request.message);
    if (started !== undefined) return started;
    if (cookie.kind === 'none' || !isWellFormedSessionToken(cookie.value)) return this.startFor(request, user, null);
    return settle(
      () => this.store.find(cookie.value),
      (session) => {
        if (session.userId !== user.id) return this.startFor(request, user, session);
        this.metrics.sessionContinued();
        return user;
      },
      (error) => {
        // Ended, unknown or a disabled user's: not this login's concern, a new session replaces it.
        if (error instanceof TrustedHeaderError && error.reason !== 'database_unavailable') {
          return this.startFor(request, user, null);
        }
        throw error;
      },
    );
  }

  /** No identity headers: the user of the browser's session, or InvalidSessionError / UserDisabledError. */
  userOfSession(request: SessionRequest): MaybePromise<AuthenticatedUser> {
    let user: MaybePromise<AuthenticatedUser>;
    try {
      user = this.resumeSession(request);
    } catch (error) {
      this.metrics.sessionRefused(reasonOf(error));
      throw error;
    }
    if (user instanceof Promise) return user.then(this.countResumed, this.countRefusal);
    this.metrics.sessionContinued();
    return user;
  }

  private readonly countResumed = (user: AuthenticatedUser): AuthenticatedUser => {
    this.metrics.sessionContinued();
    return user;
  };

  private readonly countRefusal = (error: unknown): never => {
    this.metrics.sessionRefused(reasonOf(error));
    throw error;
  };

  private resumeSession(request: SessionRequest): MaybePromise<AuthenticatedUser> {
    const { cookie } = request;
    if (cookie.kind === 'none') throw new InvalidSessionError('No session');
    if (cookie.kind === 'many') this.refuse(request, 'The request carries the session cookie more than once');
    if (!isWellFormedSessionToken(cookie.value)) this.refuse(request, 'The session cookie is malformed');
    return settle(
      () => this.store.find(cookie.value),
      (session) =>
        settle(
          () => this.userSync.userById(session.userId),
          (user) => user,
          (error) => {
            if (error instanceof UnknownUserError) this.refuse(request, 'The session has ended; log in again');
            throw error;
          },
        ),
      (error) => {
        if (error instanceof InvalidSessionError) this.refuse(request, error.message);
        throw error;
      },
    );
  }

  /** The browser's live session, if its cookie names one (for logout); null otherwise. */
  async sessionOf(cookie: SessionCookie): Promise<LiveSession | null> {
    if (cookie.kind !== 'one' || !isWellFormedSessionToken(cookie.value)) return null;
    try {
      return await this.store.find(cookie.value);
    } catch (error) {
      if (error instanceof TrustedHeaderError && error.reason !== 'database_unavailable') return null;
      throw error;
    }
  }

  /** Tells the browser to drop the session cookie. */
  clearCookie(response: unknown): void {
    if (this.store.settings !== null) this.appendSetCookie(response, clearedSessionCookieHeader(this.store.settings));
  }

  private startFor(
    request: SessionRequest,
    user: AuthenticatedUser,
    replacing: LiveSession | null,
  ): Promise<AuthenticatedUser> {
    const started = this.store
      .start(user, { userAgent: request.message.headers['user-agent'], peer: request.peer }, replacing)
      .then((token) => {
        this.appendSetCookie(request.response, sessionCookieHeader(this.store.settings!, token));
        return user;
      });
    this.started.set(request.message, started);
    return started;
  }

  /**
   * Beside the cookies the application sets itself, through the adapter's own appendHeader (Fastify's keeps the
   * reply's and the raw response's Set-Cookie lines together).
   */
  private appendSetCookie(response: unknown, value: string): void {
    this.adapterHost.httpAdapter?.appendHeader(response, 'Set-Cookie', value);
  }

  private refuse(request: SessionRequest, detail: string): never {
    this.clearCookie(request.response);
    throw new InvalidSessionError(detail);
  }
}
