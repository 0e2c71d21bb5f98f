import { Logger, mixin, type ExecutionContext, type Type } from '@nestjs/common';
import { AuthGuard, type IAuthGuard } from '@nestjs/passport';
import { LogThrottle } from '../common/log-throttle.js';
import type { MaybePromise } from '../common/maybe-promise.js';
import type { GroupRequirement } from '../decorators/groups.decorator.js';
import { httpExceptionFor, toHttpError } from '../errors/http-mapping.js';
import type { TrustedHeaderException } from '../errors/trusted-header.exception.js';
import { incomingMessageOf } from '../request/request-inspection.js';
import type { AuthenticatedUser } from '../sync/authenticated-user.js';
import { TRUSTED_HEADER_STRATEGY } from '../trusted-header.constants.js';
import { AUTHENTICATES_ROUTE, recordTokenAdmission, TrustedHeaderGuard } from './trusted-header.guard.js';

const guards = new Map<string, Type<TrustedHeaderGuard>>();

/**
 * A guard for routes that take an API token as well as the proxy's identity, such as `/api` routes the proxy
 * lets through unauthenticated for mobile clients: `@UseGuards(TokenOrTrustedHeaderGuard('jwt'))`, where
 * `'jwt'` is a passport strategy the application registers (passport-jwt, say). Like `AuthGuard(...)` of
 * @nestjs/passport it returns a class, the same one for the same strategy list.
 *
 * The precedence is fixed, and depends only on what the client sent, never on which check passes:
 * - a request with an `Authorization` header is decided by the token strategies alone: a token they do not
 *   accept (a bad signature, an expired token, `Basic` credentials, an empty header, two such headers) is
 *   401 `invalid_token`, even when valid identity headers come with it;
 * - a request without one is decided by the proxy's identity alone (its headers, or the session they started),
 *   exactly as TrustedHeaderGuard decides.
 * Trying one and then the other would let a client choose: a refused token would fall back to whatever
 * identity headers or session cookie it carries.
 *
 * It is a TrustedHeaderGuard, so @Public() and @Groups() apply to both kinds of user (@Groups() reads the token
 * user's `groups` array), and the user is `request.user`: what the token strategy's `validate()` returned, or
 * the proxy's user. On its routes the other TrustedHeaderGuards (the global guard, the one @Groups() attaches)
 * step aside and leave the decision to it. Registered as the APP_GUARD instead, it takes tokens on every route,
 * and the guard @Groups() attaches applies the route's groups to the token user it admitted.
 */
export function TokenOrTrustedHeaderGuard(strategies: string | readonly string[]): Type<TrustedHeaderGuard> {
  const names = typeof strategies === 'string' ? [strategies] : [...strategies];
  const key = JSON.stringify(names);
  let guard = guards.get(key);
  if (guard === undefined) {
    assertTokenStrategies(names);
    guards.set(key, (guard = createGuard(names)));
  }
  return guard;
}

function assertTokenStrategies(names: readonly string[]): void {
  if (names.length === 0 || names.some((name) => typeof name !== 'string' || name === '')) {
    throw new Error(`TokenOrTrustedHeaderGuard() needs the names of passport strategies, got ${JSON.stringify(names)}`);
  }
  if (names.includes(TRUSTED_HEADER_STRATEGY)) {
    // The identity headers are the other path of this guard; as a token strategy they would be read when an
    // Authorization header is present, which is exactly when they must not decide.
    throw new Error(
      `TokenOrTrustedHeaderGuard() takes token strategies; '${TRUSTED_HEADER_STRATEGY}' is its own other path`,
    );
  }
}

function createGuard(strategies: readonly string[]): Type<TrustedHeaderGuard> {
  const PassportGuard = AuthGuard(strategies.length === 1 ? strategies[0] : [...strategies]);

  class TokenOrTrustedHeader extends TrustedHeaderGuard {
    static readonly [AUTHENTICATES_ROUTE] = true;
    private readonly tokenLogger = new Logger('TrustedHeader');
    /** Anyone can send a bad token: one line per second, with a count of the lines skipped. */
    private readonly invalidTokenLog = new LogThrottle(1_000);
    private readonly tokenGuard: IAuthGuard = this.createTokenGuard();

    protected override authenticate(context: ExecutionContext, request: unknown): MaybePromise<AuthenticatedUser> {
      const lines = authorizationLinesOf(request);
      if (lines === 0) return super.authenticate(context, request);
      // Node keeps the first of two Authorization lines and the token strategy would never see the second:
      // which credential was meant is ambiguous, so neither is used.
      if (lines > 1) throw this.invalidToken(context, `${lines} Authorization headers`);
      // AuthGuard's canActivate is async; it stores the user the strategies accepted as request.user.
      return (this.tokenGuard.canActivate(context) as Promise<boolean>).then(() => {
        const user = (request as { user: AuthenticatedUser }).user;
        recordTokenAdmission(request as object, user);
        return user;
      });
    }

    protected override hasRequiredGroups(
      user: AuthenticatedUser,
      requirement: GroupRequirement,
      context: ExecutionContext,
    ): boolean {
      // A token user is whatever the application's strategy made of the token: only an array holds groups
      // (a string would be read as a set of its letters).
      return Array.isArray(user.groups) && super.hasRequiredGroups(user, requirement, context);
    }

    /** @nestjs/passport's AuthGuard for the token strategies, reading the request this guard reads. */
    private createTokenGuard(): IAuthGuard {
      const requestOf = (context: ExecutionContext) => this.getRequest(context);
      const accept = (error: unknown, user: unknown, info: unknown, context: ExecutionContext) =>
        this.acceptToken(error, user, info, context);
      return new (class extends PassportGuard {
        override getRequest(context: ExecutionContext) {
          return requestOf(context);
        }
        override handleRequest<TUser>(error: unknown, user: unknown, info: unknown, context: ExecutionContext): TUser {
          return accept(error, user, info, context) as TUser;
        }
      })();
    }

    /**
     * A strategy's error (its `validate()` threw, say) is the application's own answer and passes through;
     * a failure (no token it accepts) is 401 `invalid_token`.
     */
    private acceptToken(error: unknown, user: unknown, info: unknown, context: ExecutionContext): unknown {
      if (error) throw toHttpError(error);
      if (!user) throw this.invalidToken(context, describeFailure(info));
      return user;
    }

    private invalidToken(context: ExecutionContext, detail: string): TrustedHeaderException {
      const skipped = this.invalidTokenLog.admit('invalid_token');
      if (skipped !== null) {
        const peer = incomingMessageOf(this.getRequest(context))?.socket?.remoteAddress;
        const more = skipped > 0 ? ` (${skipped} more since the last line)` : '';
        this.tokenLogger.warn(`invalid_token: request from ${peer ?? 'unknown peer'} refused: ${detail}${more}`);
      }
      return httpExceptionFor('invalid_token', 'The Authorization header holds no valid token');
    }
  }
  return mixin(TokenOrTrustedHeader);
}

/**
 * How many `Authorization` lines the request has, counted in the header lines Node received: `headers`
 * keeps only the first and can be rewritten by middleware. Runs on every request of the route, so it
 * allocates nothing.
 */
function authorizationLinesOf(request: unknown): number {
  const raw = incomingMessageOf(request)?.rawHeaders;
  if (raw === undefined) return 0;
  let lines = 0;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    if (name.length === 13 && AUTHORIZATION.test(name)) lines++;
  }
  return lines;
}

const AUTHORIZATION = /^authorization$/i;

/**
 * What passport's failure info says (jsonwebtoken's error, "No auth token", one entry per strategy of a list),
 * for the log line: printable ASCII only and bounded, since parts of it can come from the client's token.
 */
function describeFailure(info: unknown): string {
  const parts = (Array.isArray(info) ? info : [info]).map((one: unknown) => {
    if (one instanceof Error) return `${one.name}: ${one.message}`;
    if (typeof one === 'string') return one;
    const message = (one as { message?: unknown } | null | undefined)?.message;
    return typeof message === 'string' ? message : 'no detail';
  });
  const text = parts.join('; ').replace(/[^\x20-\x7e]/g, '?');
  return text.length > 200 ? `${text.slice(0, 200)}…` : text;
}
