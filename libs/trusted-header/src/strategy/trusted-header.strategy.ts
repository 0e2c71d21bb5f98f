import { Injectable, Logger } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import { Strategy } from 'passport-custom';
import { LogThrottle } from '../common/log-throttle.js';
import { httpExceptionFor, toHttpError } from '../errors/http-mapping.js';
import { RequestInspector } from '../request/request-inspector.service.js';
import type { AuthenticatedUser } from '../sync/authenticated-user.js';
import { UserSyncService } from '../sync/user-sync.service.js';
import { TRUSTED_HEADER_STRATEGY } from '../trusted-header.constants.js';

/**
 * Passport strategy `trusted-header`: trusted peer -> identity headers -> persisted user.
 * Usable with `AuthGuard('trusted-header')` or, with @Public() and @Groups() support, TrustedHeaderGuard.
 *
 * The one place where the outcomes of the layers below (inspection, identity rejections, domain errors of sync
 * and persistence) become HTTP exceptions with a status and a reason.
 */
@Injectable()
export class TrustedHeaderStrategy extends PassportStrategy(Strategy, TRUSTED_HEADER_STRATEGY) {
  private readonly logger = new Logger('TrustedHeader');
  /** Rejections come through the proxy from anyone it lets in: one line per reason per second, with a count. */
  private readonly rejectionLog = new LogThrottle(1_000);

  constructor(
    protected readonly inspector: RequestInspector,
    protected readonly userSync: UserSyncService,
  ) {
    super();
  }

  /** The user, without a promise when it is already cached; throws a TrustedHeaderException otherwise. */
  validate(request: unknown): AuthenticatedUser | Promise<AuthenticatedUser> {
    const inspection = this.inspector.inspect(request);
    if (!inspection.trusted) {
      if (inspection.strippedHeaders.length > 0) {
        throw httpExceptionFor('untrusted_proxy', 'Identity headers are only accepted from a trusted proxy');
      }
      throw httpExceptionFor('missing_identity', 'Not logged in');
    }
    const result = this.inspector.identityOf(request);
    if (result.kind === 'anonymous') throw httpExceptionFor('missing_identity', 'Not logged in');
    if (result.kind === 'rejected') {
      const skipped = this.rejectionLog.admit(result.reason);
      if (skipped !== null) {
        const more = skipped > 0 ? ` (${skipped} more since the last line)` : '';
        this.logger.warn(`${result.reason}: request from proxy ${inspection.peer} rejected: ${result.detail}${more}`);
      }
      throw httpExceptionFor(result.reason, result.detail);
    }
    let user: AuthenticatedUser | Promise<AuthenticatedUser>;
    try {
      user = this.userSync.userFor(result.identity);
    } catch (error) {
      throw toHttpError(error);
    }
    return user instanceof Promise
      ? user.catch((error: unknown) => {
          throw toHttpError(error);
        })
      : user;
  }
}
