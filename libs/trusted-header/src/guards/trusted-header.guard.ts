import { Injectable, Logger, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { GUARDS_METADATA } from '@nestjs/common/constants.js';
import { Reflector } from '@nestjs/core';
import { LogThrottle } from '../common/log-throttle.js';
import type { MaybePromise } from '../common/maybe-promise.js';
import type { GroupRequirement } from '../decorators/groups.decorator.js';
import { httpExceptionFor } from '../errors/http-mapping.js';
import { TrustedHeaderStrategy } from '../strategy/trusted-header.strategy.js';
import type { AuthenticatedUser } from '../sync/authenticated-user.js';
import { IS_PUBLIC_KEY, REQUIRED_GROUPS_KEY } from '../trusted-header.constants.js';
import { admittedUserOf, recordAdmission } from './admitted-users.js';

/**
 * Static marker of guard classes that authenticate the routes they are attached to with more than the proxy's
 * identity (TokenOrTrustedHeaderGuard). On such a route every TrustedHeaderGuard without the marker (the global
 * one, the one @Groups() attaches) steps aside: it would refuse a token user, and the marked guard applies
 * @Public() and @Groups() itself. A marked guard never steps aside, so a route always keeps one that decides.
 */
export const AUTHENTICATES_ROUTE: unique symbol = Symbol('trusted-header:authenticates-route');

/**
 * Requests that a marked guard admitted by a credential of its own (an API token), with that user. A
 * TrustedHeaderGuard running after it on a route that does not name it (the marked guard is the APP_GUARD, and
 * @Groups() attached this one) applies its rules to that user instead of asking for identity headers, which a
 * token request does not carry. Only the marked guards write here.
 */
const admittedByToken = new WeakMap<object, AuthenticatedUser>();
/** Until a token guard has admitted someone, every request skips the lookup (most applications have none). */
let anyTokenAdmission = false;

/** Files the user a marked guard admitted for this request by a token. */
export function recordTokenAdmission(request: object, user: AuthenticatedUser): void {
  anyTokenAdmission = true;
  admittedByToken.set(request, user);
}

/** Whether a marked guard admitted this request by a token (rather than through the proxy). */
export function isTokenAdmission(request: object): boolean {
  return anyTokenAdmission && admittedByToken.has(request);
}

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
 * On a route that also takes API tokens (TokenOrTrustedHeaderGuard, marked AUTHENTICATES_ROUTE) it steps
 * aside and that guard decides, @Public() and @Groups() included.
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
  /** The route of the previous call and its rules: consecutive requests mostly hit the same few routes. */
  private lastHandler: object | undefined;
  private lastController: object | undefined;
  private lastRules: RouteRules | undefined;

  constructor(
    protected readonly reflector: Reflector,
    protected readonly strategy: TrustedHeaderStrategy,
  ) {}

  canActivate(context: ExecutionContext): boolean | Promise<boolean> {
    if (!this.supportsContext(context)) return this.admitAuthenticatedCall(context);
    // Outside HTTP, this call starts with nobody admitted, whatever an earlier call with equal arguments got.
    if (context.getType() !== 'http') recordAdmission(context, undefined);
    const rules = this.rulesOf(context);
    if (rules.isPublic || rules.leftToRouteGuard) return true;

    const request = this.getRequest(context);
    const tokenUser = anyTokenAdmission ? admittedByToken.get(request) : undefined;
    if (tokenUser !== undefined) return this.admit(context, request, rules, undefined, tokenUser);
    let outcome: MaybePromise<AuthenticatedUser>;
    try {
      outcome = this.authenticate(context, request);
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

  /**
   * Who the request is: the user, without a promise when it is already cached, or a thrown (or rejected)
   * exception. The `trusted-header` strategy by default; TokenOrTrustedHeaderGuard puts its token path here.
   */
  protected authenticate(context: ExecutionContext, request: unknown): MaybePromise<AuthenticatedUser> {
    return this.strategy.resolveUser(request, this.strategy.setsCookies ? this.getResponse(context) : undefined);
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
    // The HTTP arguments are (request, response, next). switchToHttp() would allocate an object and three
    // closures and add them to the context on every call: on a guard that runs on every request, that showed.
    return context.getArgByIndex(0);
  }

  /** Where a new session's cookie is set: the adapter's response (Express response, Fastify reply). */
  protected getResponse(context: ExecutionContext): unknown {
    return context.getType() === 'http' ? context.getArgByIndex(1) : undefined;
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
    if (handler === this.lastHandler && controller === this.lastController) return this.lastRules!;
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
        leftToRouteGuard:
          !(AUTHENTICATES_ROUTE in this.constructor) &&
          [handler, controller].some((target) =>
            (this.reflector.get<unknown[] | undefined>(GUARDS_METADATA, target) ?? []).some(authenticatesRoute),
          ),
      };
      if (byController === undefined) this.routeRules.set(handler, (byController = new WeakMap()));
      byController.set(controller, rules);
    }
    this.lastHandler = handler;
    this.lastController = controller;
    this.lastRules = rules;
    return rules;
  }
}

interface RouteRules {
  readonly isPublic: boolean;
  readonly requirement: GroupRequirement | undefined;
  /** The route carries a guard marked AUTHENTICATES_ROUTE, and this one is not: that guard decides. */
  readonly leftToRouteGuard: boolean;
}

/** A guard as @UseGuards() records it (a class or an instance) whose class bears AUTHENTICATES_ROUTE. */
function authenticatesRoute(guard: unknown): boolean {
  const type: unknown = typeof guard === 'function' ? guard : (guard as object | null | undefined)?.constructor;
  return typeof type === 'function' && AUTHENTICATES_ROUTE in type;
}
