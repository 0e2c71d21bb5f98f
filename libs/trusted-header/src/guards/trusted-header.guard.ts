import { HttpStatus, Injectable, Logger, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { LogThrottle } from '../common/log-throttle.js';
import type { GroupRequirement } from '../decorators/groups.decorator.js';
import { TrustedHeaderException } from '../errors/trusted-header.exception.js';
import { TrustedHeaderStrategy } from '../strategy/trusted-header.strategy.js';
import type { AuthenticatedUser } from '../sync/authenticated-user.js';
import { IS_PUBLIC_KEY, REQUIRED_GROUPS_KEY } from '../trusted-header.constants.js';

/**
 * Logs the request in with the `trusted-header` strategy, honours @Public() and enforces @Groups().
 * Use it per route with @UseGuards(TrustedHeaderGuard) or globally with
 * `{ provide: APP_GUARD, useExisting: TrustedHeaderGuard }`.
 *
 * It calls its own module's strategy instead of `passport.authenticate('trusted-header')`: passport keeps
 * strategies in one process-wide registry, so with two Nest applications in one process (tests, workers) the
 * last one registered would authenticate for both, with its options and its database. The strategy stays
 * registered with passport for `AuthGuard('trusted-header')` users.
 *
 * It understands HTTP only and refuses every other execution context (fails closed, unlike guards that wave
 * WebSocket or RPC calls through). Subclass and override `supportsContext` and `getRequest` to add one.
 */
@Injectable()
export class TrustedHeaderGuard implements CanActivate {
  private readonly logger = new Logger('TrustedHeader');
  private readonly unsupportedContextLog = new LogThrottle(60_000);

  constructor(
    private readonly reflector: Reflector,
    private readonly strategy: TrustedHeaderStrategy,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    if (!this.supportsContext(context)) {
      if (this.unsupportedContextLog.admit(context.getType()) !== null) {
        this.logger.warn(`unsupported_context: refused a '${context.getType()}' execution context`);
      }
      throw new TrustedHeaderException(
        HttpStatus.FORBIDDEN,
        'unsupported_context',
        `TrustedHeaderGuard cannot authenticate a '${context.getType()}' context`,
      );
    }
    const targets = [context.getHandler(), context.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(IS_PUBLIC_KEY, targets)) return true;

    const request = this.getRequest(context);
    let user: AuthenticatedUser | undefined;
    let failure: unknown;
    try {
      user = await this.strategy.validate(request);
    } catch (error) {
      failure = error;
    }
    request.user = this.handleRequest(failure, user);

    const requirement = this.reflector.getAllAndOverride<GroupRequirement | undefined>(REQUIRED_GROUPS_KEY, targets);
    if (requirement && !this.hasRequiredGroups(request.user, requirement)) {
      throw new TrustedHeaderException(
        HttpStatus.FORBIDDEN,
        'missing_group',
        'You are not in a group this route requires',
      );
    }
    return true;
  }

  /** Which execution contexts this guard can authenticate. HTTP only by default. */
  protected supportsContext(context: ExecutionContext): boolean {
    return context.getType() === 'http';
  }

  /** The request object carrying the socket and headers (Express request, Fastify request). */
  protected getRequest(context: ExecutionContext): { user?: AuthenticatedUser } {
    return context.switchToHttp().getRequest();
  }

  /** Turns the strategy's outcome into the user or an exception. Override to customise errors. */
  protected handleRequest(error: unknown, user: AuthenticatedUser | undefined): AuthenticatedUser {
    if (error) throw error;
    if (!user) throw new TrustedHeaderException(HttpStatus.UNAUTHORIZED, 'missing_identity', 'Not logged in');
    return user;
  }

  protected hasRequiredGroups(user: AuthenticatedUser, requirement: GroupRequirement): boolean {
    const held = new Set(user.groups);
    return requirement.mode === 'all'
      ? requirement.groups.every((group) => held.has(group))
      : requirement.groups.some((group) => held.has(group));
  }
}
