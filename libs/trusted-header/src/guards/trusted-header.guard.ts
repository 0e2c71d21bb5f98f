import { Injectable, Logger, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { LogThrottle } from '../common/log-throttle.js';
import type { GroupRequirement } from '../decorators/groups.decorator.js';
import { httpExceptionFor } from '../errors/http-mapping.js';
import { TrustedHeaderStrategy } from '../strategy/trusted-header.strategy.js';
import type { AuthenticatedUser } from '../sync/authenticated-user.js';
import { IS_PUBLIC_KEY, REQUIRED_GROUPS_KEY } from '../trusted-header.constants.js';
import { admittedUserOf, recordAdmission } from './admitted-users.js';

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
 * It authenticates HTTP only and fails closed on every other execution context (unlike guards that wave
 * WebSocket or RPC calls through). To add one, subclass it and override `supportsContext` and `getRequest`
 * (the object carrying the peer's socket and raw header lines); the hooks `handleRequest`,
 * `hasRequiredGroups`, `throwMissingGroup` and `throwUnsupportedContext` all receive the context and can be
 * overridden too. The subclass, bound as APP_GUARD, records whom it admitted for each such call, so that
 * @CurrentUser() finds the user and the TrustedHeaderGuard that @Groups() attaches applies the route's groups
 * to that user instead of refusing the context. A context no guard admitted stays refused
 * (403 `unsupported_context`), @Public() or not.
 *
 * It sits on every route, so its steady state is kept cheap: a user already in the cache is admitted without a
 * promise (`canActivate` then returns `true` directly), @Public()/@Groups() are read once per route, and an
 * HTTP request records nothing beyond `request.user`.
 */
@Injectable()
export class TrustedHeaderGuard implements CanActivate {
  private readonly logger = new Logger('TrustedHeader');
  private readonly unsupportedContextLog = new LogThrottle(60_000);
  /** @Public() and @Groups() of each route (handler, then controller), read on its first request. */
  private readonly routeRules = new WeakMap<object, WeakMap<object, RouteRules>>();

  constructor(
    protected readonly reflector: Reflector,
    protected readonly strategy: TrustedHeaderStrategy,
  ) {}

  canActivate(context: ExecutionContext): boolean | Promise<boolean> {
    if (!this.supportsContext(context)) return this.admitAuthenticatedCall(context);
    // Outside HTTP, this call starts with nobody admitted, whatever an earlier call with equal arguments got.
    if (context.getType() !== 'http') recordAdmission(context, undefined);
    const rules = this.rulesOf(context);
    if (rules.isPublic) return true;

    const request = this.getRequest(context);
    let outcome: AuthenticatedUser | Promise<AuthenticatedUser>;
    try {
      outcome = this.strategy.resolveUser(request, this.getResponse(context));
    } catch (error) {
      return this.admit(context, request, rules, error, undefined);
    }
    if (outcome instanceof Promise) {
      return outcome.then(
        (user) => this.admit(context, request, rules, undefined, user),
        (error: unknown) => this.admit(context, request, rules, error, undefined),
      );
    }
    return this.admit(context, request, rules, undefined, outcome);
  }

  /** Which execution contexts this guard can authenticate. HTTP only by default. */
  protected supportsContext(context: ExecutionContext): boolean {
    return context.getType() === 'http';
  }

  /**
   * The object the strategy reads the peer's socket and raw header lines from (Express request, Fastify
   * request); the admitted user is put on it as `user`.
   */
  protected getRequest(context: ExecutionContext): { user?: AuthenticatedUser } {
    return context.switchToHttp().getRequest();
  }

  /** Where a new session's cookie is set: the adapter's response (Express response, Fastify reply). */
  protected getResponse(context: ExecutionContext): unknown {
    return context.getType() === 'http' ? context.switchToHttp().getResponse() : undefined;
  }

  /** Turns the strategy's outcome into the user or an exception. Override to customise errors. */
  protected handleRequest(
    error: unknown,
    user: AuthenticatedUser | undefined,
    _context: ExecutionContext,
  ): AuthenticatedUser {
    if (error) throw error;
    if (!user) throw httpExceptionFor('missing_identity', 'Not logged in');
    return user;
  }

  /** Whether the user meets the route's @Groups() requirement. */
  protected hasRequiredGroups(
    user: AuthenticatedUser,
    requirement: GroupRequirement,
    _context: ExecutionContext,
  ): boolean {
    const held = new Set(user.groups);
    return requirement.mode === 'all'
      ? requirement.groups.every((group) => held.has(group))
      : requirement.groups.some((group) => held.has(group));
  }

  /** The refusal of a user who lacks the route's groups: 403 `missing_group`. */
  protected throwMissingGroup(
    _context: ExecutionContext,
    _requirement: GroupRequirement,
    _user: AuthenticatedUser,
  ): never {
    throw httpExceptionFor('missing_group', 'You are not in a group this route requires');
  }

  /** The refusal of a context this guard cannot authenticate and no guard admitted: 403 `unsupported_context`. */
  protected throwUnsupportedContext(context: ExecutionContext): never {
    throw httpExceptionFor(
      'unsupported_context',
      `TrustedHeaderGuard cannot authenticate a '${context.getType()}' context`,
    );
  }

  private admit(
    context: ExecutionContext,
    request: { user?: AuthenticatedUser },
    rules: RouteRules,
    error: unknown,
    user: AuthenticatedUser | undefined,
  ): true {
    const admitted = this.handleRequest(error, user, context);
    request.user = admitted;
    if (rules.requirement && !this.hasRequiredGroups(admitted, rules.requirement, context)) {
      this.throwMissingGroup(context, rules.requirement, admitted);
    }
    // Over HTTP, @CurrentUser() and every guard read request.user: nothing else to record on the hot path.
    if (context.getType() !== 'http') recordAdmission(context, admitted);
    return true;
  }

  /**
   * A context this guard cannot authenticate passes only when a TrustedHeaderGuard that can (a subclass bound
   * as APP_GUARD) admitted this very call; the route's @Groups() then applies to that user. That is how
   * @Groups(), which attaches this class, works beside a subclass for another transport. Without such an
   * admission nobody vouched for the caller, and @Public() does not change that: the context is refused.
   */
  private admitAuthenticatedCall(context: ExecutionContext): true {
    const user = admittedUserOf(context);
    if (user === undefined) {
      if (this.unsupportedContextLog.admit(context.getType()) !== null) {
        this.logger.warn(`unsupported_context: refused a '${context.getType()}' execution context`);
      }
      this.throwUnsupportedContext(context);
    }
    const { requirement } = this.rulesOf(context);
    if (requirement && !this.hasRequiredGroups(user, requirement, context)) {
      this.throwMissingGroup(context, requirement, user);
    }
    return true;
  }

  /**
   * Route metadata is fixed once the application has started, so it is read through the Reflector once per
   * (handler, controller) pair; a controller subclass inheriting a handler gets its own entry.
   *
   * The handler's decorators override the controller's. Within one level a group requirement wins over
   * @Public(): a route that names groups is never public, so `@Public()` on a controller cannot switch off
   * `@Groups()` on its handler, nor `@Public() @Groups(...)` on one handler.
   */
  private rulesOf(context: ExecutionContext): RouteRules {
    const handler = context.getHandler();
    const controller = context.getClass();
    let byController = this.routeRules.get(handler);
    let rules = byController?.get(controller);
    if (rules === undefined) {
      // eslint-disable-next-line @typescript-eslint/no-unsafe-function-type -- what the Reflector takes
      type Target = Function;
      const publicOf = (target: Target) => Boolean(this.reflector.get<boolean | undefined>(IS_PUBLIC_KEY, target));
      const groupsOf = (target: Target) =>
        this.reflector.get<GroupRequirement | undefined>(REQUIRED_GROUPS_KEY, target);
      const handlerGroups = groupsOf(handler);
      const controllerGroups = groupsOf(controller);
      rules = {
        isPublic:
          handlerGroups === undefined &&
          (publicOf(handler) || (controllerGroups === undefined && publicOf(controller))),
        requirement: handlerGroups ?? controllerGroups,
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
