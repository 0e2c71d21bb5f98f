import { Inject, Injectable, Logger, Optional } from '@nestjs/common';
import type { IncomingMessage } from 'node:http';
import { PassportStrategy } from '@nestjs/passport';
import { Strategy } from 'passport-custom';
import { LogThrottle } from '../common/log-throttle.js';
import type { MaybePromise } from '../common/maybe-promise.js';
import type { ResolvedTrustedHeaderOptions } from '../config/trusted-header-options.js';
import { httpExceptionFor, toHttpError } from '../errors/http-mapping.js';
import { TrustedHeaderException } from '../errors/trusted-header.exception.js';
import type { RejectionReason } from '../errors/rejection-reason.js';
import { crossSiteProblem } from '../request/cross-site-check.js';
import type { IdentityResult } from '../identity/identity.js';
import { incomingMessageOf, type RequestInspection } from '../request/request-inspection.js';
import { RequestInspector } from '../request/request-inspector.service.js';
import { formatRequestReport } from '../request/request-report.js';
import { readSessionCookie, type SessionCookie } from '../session/session-cookie.js';
import { SessionLogin, type SessionRequest } from '../session/session-login.service.js';
import type { AuthenticatedUser } from '../sync/authenticated-user.js';
import { UserSyncService } from '../sync/user-sync.service.js';
import { NO_METRICS, TrustedHeaderMetrics, UNEXPECTED_ERROR } from '../observability/trusted-header-metrics.js';
import { TRUSTED_HEADER_OPTIONS, TRUSTED_HEADER_STRATEGY } from '../trusted-header.constants.js';

const NO_COOKIE: SessionCookie = Object.freeze({ kind: 'none' });

function rethrowAsHttpError(error: unknown): never {
  throw toHttpError(error);
}

/** The reason code a refusal is counted under; anything but a TrustedHeaderException is a defect. */
function reasonOf(error: unknown): RejectionReason | typeof UNEXPECTED_ERROR {
  return error instanceof TrustedHeaderException ? error.reason : UNEXPECTED_ERROR;
}

/** Why passport's `fail` was called: the request asserted no identity this strategy could use. */
export interface TrustedHeaderFailure {
  readonly reason: 'missing_identity' | 'untrusted_proxy';
  readonly message: string;
}

/**
 * Passport strategy `trusted-header`: trusted peer -> identity headers (or, with persistent sessions, the
 * session cookie) -> persisted user. Usable with `AuthGuard('trusted-header')`, also in chains such as
 * `AuthGuard(['jwt', 'trusted-header'])`, or, with @Public() and @Groups() support, TrustedHeaderGuard.
 *
 * The one place where the outcomes of the layers below (inspection, identity rejections, the cross-site check,
 * sessions, domain errors of sync and persistence) become HTTP exceptions with a status and a reason.
 */
@Injectable()
export class TrustedHeaderStrategy extends PassportStrategy(Strategy, TRUSTED_HEADER_STRATEGY) {
  private readonly logger = new Logger('TrustedHeader');
  /** Rejections come through the proxy from anyone it lets in: one line per reason per second, with a count. */
  private readonly rejectionLog = new LogThrottle(1_000);
  /** The full report of a refused request, at debug level: as rare as the rejection lines, and its own budget. */
  private readonly reportLog = new LogThrottle(1_000);

  constructor(
    protected readonly inspector: RequestInspector,
    protected readonly userSync: UserSyncService,
    protected readonly sessions: SessionLogin,
    @Inject(TRUSTED_HEADER_OPTIONS) protected readonly options: ResolvedTrustedHeaderOptions,
    @Optional() protected readonly metrics: TrustedHeaderMetrics = NO_METRICS,
  ) {
    super();
  }

  /**
   * The passport verify step. A request that asserts no identity (no identity headers from a trusted peer, no
   * session cookie; an untrusted peer's headers count as none, since they were removed) makes passport `fail`,
   * so the next strategy of a chain can try; the failure's `reason` is passed as passport's info. Everything
   * else that is wrong (invalid or duplicate headers, a bad session, a disabled user, a cross-site request, a
   * database outage) is an error, which ends the chain.
   */
  async validate(request: unknown): Promise<AuthenticatedUser | [false, TrustedHeaderFailure]> {
    try {
      return await this.resolveUser(request);
    } catch (error) {
      if (error instanceof TrustedHeaderException) {
        const { reason } = error;
        const message = error.message;
        if (reason === 'missing_identity' || (reason === 'untrusted_proxy' && !this.hasSessionCookie(request))) {
          return [false, { reason, message }];
        }
      }
      throw error;
    }
  }

  /** Whether resolveUser may set a cookie, and so needs the response: only with persistent sessions. */
  get setsCookies(): boolean {
    return this.sessions.enabled;
  }

  /**
   * The user, without a promise when it is already cached; throws a TrustedHeaderException otherwise.
   * `response` is where a new session's cookie goes; by default the one the request hook recorded.
   */
  resolveUser(request: unknown, response?: unknown): MaybePromise<AuthenticatedUser> {
    let outcome: MaybePromise<AuthenticatedUser>;
    try {
      outcome = this.authenticateRequest(request, response);
    } catch (error) {
      this.metrics.authenticationRejected(reasonOf(error));
      throw error;
    }
    if (outcome instanceof Promise) return outcome.then(this.countSuccess, this.countRejection);
    this.metrics.authenticationSucceeded();
    return outcome;
  }

  private readonly countSuccess = (user: AuthenticatedUser): AuthenticatedUser => {
    this.metrics.authenticationSucceeded();
    return user;
  };

  private readonly countRejection = (error: unknown): never => {
    this.metrics.authenticationRejected(reasonOf(error));
    throw error;
  };

  private authenticateRequest(request: unknown, response: unknown): MaybePromise<AuthenticatedUser> {
    // Through the inspector's public methods, which an integration may override (building blocks).
    const inspection = this.inspector.inspect(request);
    // Found once and handed on: every lookup of it tests the request's prototype chain.
    const message = incomingMessageOf(request);
    const cookie = this.sessions.enabled && message ? this.cookieOf(message.rawHeaders) : NO_COOKIE;
    if (!inspection.trusted) {
      if (cookie.kind !== 'none') {
        this.metrics.sessionRefused('untrusted_proxy');
        this.logRejection('untrusted_proxy', `session cookie from untrusted peer ${inspection.peer} refused`);
        this.reportRefusal('untrusted_proxy', request);
        throw httpExceptionFor('untrusted_proxy', 'Sessions are only accepted through a trusted proxy');
      }
      if (inspection.strippedHeaders.length > 0) {
        this.reportRefusal('untrusted_proxy', request);
        throw httpExceptionFor('untrusted_proxy', 'Identity headers are only accepted from a trusted proxy');
      }
      throw httpExceptionFor('missing_identity', 'Not logged in');
    }
    // Anything but a request Node's server made asserts nobody (incomingMessageOf), whatever an inspector says.
    if (message === undefined) throw httpExceptionFor('missing_identity', 'Not logged in');
    const result = this.inspector.identityOf(request);
    return result instanceof Promise
      ? result.then((settled) => this.userFor(settled, message, request, response, inspection, cookie))
      : this.userFor(result, message, request, response, inspection, cookie);
  }

  /** The user for what the request asserted (headers, verified claims or nothing) and its session cookie. */
  private userFor(
    result: IdentityResult,
    message: IncomingMessage,
    request: unknown,
    response: unknown,
    inspection: RequestInspection,
    cookie: SessionCookie,
  ): MaybePromise<AuthenticatedUser> {
    if (result.kind === 'rejected') {
      this.logRejection(result.reason, `request from proxy ${inspection.peer} rejected: ${result.detail}`);
      this.reportRefusal(result.reason, request);
      throw httpExceptionFor(result.reason, result.detail);
    }
    if (result.kind === 'anonymous') {
      if (cookie.kind === 'none') throw httpExceptionFor('missing_identity', 'Not logged in');
      // Email, name or groups headers without the user header assert nobody: never the session's user instead,
      // with the groups of its last login beside the groups the proxy has just asserted.
      if (result.withoutUser) {
        const detail = `Identity headers without ${inspection.profile!.identity.headers.user} beside a session cookie`;
        this.logRejection('invalid_username', `request from proxy ${inspection.peer} rejected: ${detail}`);
        this.reportRefusal('invalid_username', request);
        throw httpExceptionFor('invalid_username', detail);
      }
    }

    // Authenticated by headers or by a session from here on: an unsafe method must come from this site.
    const crossSite = crossSiteProblem(message, this.options.csrf);
    if (crossSite !== null) {
      this.logRejection('cross_site_request', `${message.method} ${message.url ?? ''} refused: ${crossSite}`);
      throw httpExceptionFor('cross_site_request', 'Cross-site request refused');
    }

    // Without sessions, a cached user is answered without a promise or a closure: this is every request's path.
    const session: SessionRequest | null = this.sessions.enabled
      ? {
          message,
          response: response ?? this.inspector.responseOf(request),
          peer: inspection.peer,
          cookie,
        }
      : null;
    let outcome: MaybePromise<AuthenticatedUser>;
    try {
      if (result.kind === 'anonymous') {
        outcome = this.sessions.userOfSession(session!);
      } else {
        outcome = this.userSync.userFor(result.identity);
        if (session !== null) {
          outcome =
            outcome instanceof Promise
              ? outcome.then((user) => this.sessions.afterHeaderLogin(session, user))
              : this.sessions.afterHeaderLogin(session, outcome);
        }
      }
    } catch (error) {
      throw toHttpError(error);
    }
    return outcome instanceof Promise ? outcome.catch(rethrowAsHttpError) : outcome;
  }

  private cookieOf(rawHeaders: readonly string[]): SessionCookie {
    return readSessionCookie(rawHeaders, this.options.session!.cookieName);
  }

  private hasSessionCookie(request: unknown): boolean {
    const message = incomingMessageOf(request);
    return this.sessions.enabled && message !== undefined && this.cookieOf(message.rawHeaders).kind !== 'none';
  }

  /**
   * Logs, at debug level, what the library saw of a refused request (the report GET /admin/doctor gives for an
   * admitted one): the doctor cannot explain a request that never reaches it. Skipped unless debug logging is
   * on, and at most one report per reason a second, so a flood of bad requests costs nothing more.
   */
  private reportRefusal(reason: string, request: unknown): void {
    if (!Logger.isLevelEnabled('debug') || this.reportLog.admit(reason) === null) return;
    this.inspector.report(request).then(
      (report) => {
        if (report !== null) this.logger.debug(`${reason}: ${formatRequestReport(report)}`);
      },
      () => undefined,
    );
  }

  private logRejection(reason: string, line: string): void {
    const skipped = this.rejectionLog.admit(reason);
    if (skipped !== null) {
      const more = skipped > 0 ? ` (${skipped} more since the last line)` : '';
      this.logger.warn(`${reason}: ${line}${more}`);
    }
  }
}
