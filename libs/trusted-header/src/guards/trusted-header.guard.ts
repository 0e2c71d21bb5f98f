import { HttpStatus, Injectable, Logger, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { AuthGuard } from '@nestjs/passport';
import type { GroupRequirement } from '../decorators/groups.decorator.js';
import { TrustedHeaderException } from '../errors/trusted-header.exception.js';
import type { AuthenticatedUser } from '../sync/authenticated-user.js';
import { IS_PUBLIC_KEY, REQUIRED_GROUPS_KEY, TRUSTED_HEADER_STRATEGY } from '../trusted-header.constants.js';

/**
 * Logs the request in through the `trusted-header` strategy, honours @Public() and enforces @Groups().
 * Use it per route with @UseGuards(TrustedHeaderGuard) or globally with
 * `{ provide: APP_GUARD, useExisting: TrustedHeaderGuard }`.
 *
 * It understands HTTP only and refuses every other execution context (fails closed, unlike guards that wave
 * WebSocket or RPC calls through). Subclass and override `supportsContext` and `getRequest` to add one.
 */
@Injectable()
export class TrustedHeaderGuard extends AuthGuard(TRUSTED_HEADER_STRATEGY) {
  private readonly logger = new Logger('TrustedHeader');

  constructor(private readonly reflector: Reflector) {
    super();
  }

  override async canActivate(context: ExecutionContext): Promise<boolean> {
    if (!this.supportsContext(context)) {
      this.logger.warn(`unsupported_context: refused a '${context.getType()}' execution context`);
      return false;
    }
    const targets = [context.getHandler(), context.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(IS_PUBLIC_KEY, targets)) return true;

    await super.canActivate(context);

    const requirement = this.reflector.getAllAndOverride<GroupRequirement | undefined>(REQUIRED_GROUPS_KEY, targets);
    if (requirement) {
      const user = this.getRequest(context).user as AuthenticatedUser;
      const held = new Set(user.groups);
      const allowed =
        requirement.mode === 'all'
          ? requirement.groups.every((group) => held.has(group))
          : requirement.groups.some((group) => held.has(group));
      if (!allowed) {
        throw new TrustedHeaderException(HttpStatus.FORBIDDEN, 'missing_group', 'You are not in a group this route requires');
      }
    }
    return true;
  }

  /** Which execution contexts this guard can authenticate. HTTP only by default. */
  protected supportsContext(context: ExecutionContext): boolean {
    return context.getType() === 'http';
  }

  override handleRequest<TUser = AuthenticatedUser>(error: unknown, user: TUser | false): TUser {
    if (error) throw error;
    if (!user) throw new TrustedHeaderException(HttpStatus.UNAUTHORIZED, 'missing_identity', 'Not logged in');
    return user;
  }
}
