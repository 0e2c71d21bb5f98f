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
 *
 * It sits on every route, so its steady state is kept cheap: a user already in the cache is admitted without a
 * promise (`canActivate` then returns `true` directly), and @Public()/@Groups() are read once per route.
 */
@Injectable()
export class TrustedHeaderGuard implements CanActivate {
  private readonly logger = new Logger('TrustedHeader');
  private readonly unsupportedContextLog = new LogThrottle(60_000);
  /** @Public() and @Groups() of each route (handler, then controller), read on its first request. */
  private readonly routeRules = new WeakMap<object, WeakMap<object, RouteRules>>();

  constructor(
    private readonly reflector: Reflector,
    private readonly strategy: TrustedHeaderStrategy,
  ) {}

  canActivate(context: ExecutionContext): boolean | Promise<boolean> {
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
    const rules = this.rulesOf(context);
    if (rules.isPublic) return true;

    const request = this.getRequest(context);
    let outcome: AuthenticatedUser | Promise<AuthenticatedUser>;
    try {
      outcome = this.strategy.validate(request);
    } catch (error) {
      return this.admit(request, rules, error, undefined);
    }
    if (outcome instanceof Promise) {
      return outcome.then(
        (user) => this.admit(request, rules, undefined, user),
        (error: unknown) => this.admit(request, rules, error, undefined),
      );
    }
    return this.admit(request, rules, undefined, outcome);
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

  private admit(
    request: { user?: AuthenticatedUser },
    rules: RouteRules,
    error: unknown,
    user: AuthenticatedUser | undefined,
  ): true {
    request.user = this.handleRequest(error, user);
    if (rules.requirement && !this.hasRequiredGroups(request.user, rules.requirement)) {
      throw new TrustedHeaderException(
        HttpStatus.FORBIDDEN,
        'missing_group',
        'You are not in a group this route requires',
      );
    }
    return true;
  }

  /**
   * Route metadata is fixed once the application has started, so it is read through the Reflector once per
   * (handler, controller) pair; a controller subclass inheriting a handler gets its own entry.
   */
  private rulesOf(context: ExecutionContext): RouteRules {
    const handler = context.getHandler();
    const controller = context.getClass();
    let byController = this.routeRules.get(handler);
    let rules = byController?.get(controller);
    if (rules === undefined) {
      const targets = [handler, controller];
      rules = {
        isPublic: Boolean(this.reflector.getAllAndOverride<boolean | undefined>(IS_PUBLIC_KEY, targets)),
        requirement: this.reflector.getAllAndOverride<GroupRequirement | undefined>(REQUIRED_GROUPS_KEY, targets),
      };
      if (byController === undefined) this.routeRules.set(handler, (byController = new WeakMap()));
      byController.set(controller, rules);
    }
    return rules;
  }
}

interface RouteRules {
  readonly isPublic: boolean;
  readonly requirement: GroupRequirement | undefined;
}
