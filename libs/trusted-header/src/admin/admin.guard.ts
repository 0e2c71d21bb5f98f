import { HttpStatus, Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { TrustedHeaderException } from '../errors/trusted-header.exception.js';
import { TrustedHeaderGuard } from '../guards/trusted-header.guard.js';
import type { AuthenticatedUser } from '../sync/authenticated-user.js';

/**
 * Admin API access: logged in (401 otherwise) and an admin (403 `admin_required` otherwise), that is a member
 * of AUTH_PROXY_ADMIN_GROUPS through the proxy or of the local admin group. Authenticates by itself, so the
 * admin API is protected even in an application without a global guard.
 */
@Injectable()
export class AdminGuard implements CanActivate {
  constructor(private readonly authentication: TrustedHeaderGuard) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<{ user?: AuthenticatedUser }>();
    if (context.getType() !== 'http' || !request.user) await this.authentication.canActivate(context);
    if (!request.user?.isAdmin) {
      throw new TrustedHeaderException(HttpStatus.FORBIDDEN, 'admin_required', 'Only admins may use the admin API');
    }
    return true;
  }
}
