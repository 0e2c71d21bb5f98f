import { HttpStatus, Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { TrustedHeaderException } from '../errors/trusted-header.exception.js';
import { isTokenAdmission, TrustedHeaderGuard } from '../guards/trusted-header.guard.js';
import type { AuthenticatedUser } from '../sync/authenticated-user.js';

/**
 * Admin API access: logged in (401 otherwise) and an admin (403 `admin_required` otherwise), that is a member
 * of AUTH_PROXY_ADMIN_GROUPS through the proxy or of the local admin group. A user admitted by an API token
 * (TokenOrTrustedHeaderGuard) is never an admin here, whatever its token says.
 *
 * It always authenticates itself, whatever `request.user` already holds (a session middleware may have put a
 * stale or forged user there); after a global TrustedHeaderGuard that second pass is a cache hit.
 *
 * State-changing POSTs must be `application/json` (415 `unsupported_media_type` otherwise): identity rides on
 * the proxy's session cookie, and a cross-site HTML form can send a form-encoded or body-less POST without a
 * CORS preflight, but not a JSON one. PATCH and DELETE always need a preflight.
 */
@Injectable()
export class AdminGuard implements CanActivate {
  constructor(private readonly authentication: TrustedHeaderGuard) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context
      .switchToHttp()
      .getRequest<{ user?: AuthenticatedUser; method?: string; headers?: Record<string, unknown> }>();
    request.user = undefined;
    await this.authentication.canActivate(context);
    const user = request.user as AuthenticatedUser | undefined;
    // A token user is whatever the application's token strategy made of a token (its claims, an `isAdmin` field
    // among them): admin rights come only from the library's own users, logged in through the proxy.
    if (isTokenAdmission(request)) {
      throw new TrustedHeaderException(
        HttpStatus.FORBIDDEN,
        'admin_required',
        'The admin API takes logins through the proxy, not API tokens',
      );
    }
    if (!user?.isAdmin) {
      throw new TrustedHeaderException(HttpStatus.FORBIDDEN, 'admin_required', 'Only admins may use the admin API');
    }
    if (request.method === 'POST' && !isJson(request.headers?.['content-type'])) {
      throw new TrustedHeaderException(
        HttpStatus.UNSUPPORTED_MEDIA_TYPE,
        'unsupported_media_type',
        'Admin API changes must be sent as application/json',
      );
    }
    return true;
  }
}

function isJson(contentType: unknown): boolean {
  return typeof contentType === 'string' && /^application\/json\s*(;|$)/i.test(contentType.trim());
}
