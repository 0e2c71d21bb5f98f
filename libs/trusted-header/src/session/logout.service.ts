import { Inject, Injectable, Logger } from '@nestjs/common';
import type { ResolvedTrustedHeaderOptions } from '../config/trusted-header-options.js';
import { TrustedHeaderError } from '../errors/domain-errors.js';
import { STATUS_OF_REASON } from '../errors/http-mapping.js';
import type { TrustedHeaderErrorBody } from '../errors/trusted-header.exception.js';
import { crossSiteProblem } from '../request/cross-site-check.js';
import { incomingMessageOf } from '../request/request-inspection.js';
import { RequestInspector } from '../request/request-inspector.service.js';
import { TRUSTED_HEADER_OPTIONS } from '../trusted-header.constants.js';
import { readSessionCookie } from './session-cookie.js';
import { SessionLogin } from './session-login.service.js';
import { SessionStore } from './session-store.service.js';

/** What the logout endpoint answers; the route writes it with the adapter's own response methods. */
export type LogoutAnswer =
  | { readonly status: 303; readonly location: string }
  | { readonly status: 204 }
  | { readonly status: number; readonly body: TrustedHeaderErrorBody };

/**
 * `POST AUTH_PROXY_LOGOUT_PATH`: ends the browser's session, if it has one, clears the cookie and sends the
 * browser to AUTH_PROXY_LOGOUT_URL (303), the proxy's sign-out, or answers 204 without one. The target comes from
 * the configuration only: nothing in the request can choose where the browser goes.
 *
 * A session cookie counts only from a trusted peer, as everywhere; from anyone else the cookie is cleared and
 * nothing is ended. A logout from another site is refused (403 `cross_site_request`): it would end the user's
 * session without their doing.
 */
@Injectable()
export class LogoutService {
  private readonly logger = new Logger('TrustedHeader');

  constructor(
    @Inject(TRUSTED_HEADER_OPTIONS) private readonly options: ResolvedTrustedHeaderOptions,
    private readonly inspector: RequestInspector,
    private readonly sessions: SessionLogin,
    private readonly store: SessionStore,
  ) {}

  async logOut(request: unknown, response: unknown): Promise<LogoutAnswer> {
    const message = incomingMessageOf(request);
    if (message === undefined) return refusal('missing_identity', 'Not an HTTP request');
    const inspection = this.inspector.inspect(request);
    const crossSite = crossSiteProblem(message, this.options.csrf);
    if (crossSite !== null) {
      this.logger.warn(`cross_site_request: logout refused: ${crossSite}`);
      return refusal('cross_site_request', 'Cross-site request refused');
    }
    const settings = this.options.session;
    if (settings !== null) {
      const cookie = readSessionCookie(message.rawHeaders, settings.cookieName);
      if (cookie.kind !== 'none') {
        if (inspection.trusted) {
          try {
            const session = await this.sessions.sessionOf(cookie);
            if (session !== null) {
              await this.store.end(session, 'logout', { actorType: 'user', actor: session.username });
            }
          } catch (error) {
            // The session could not be ended: say so, and keep the cookie so that a retry can end it.
            if (error instanceof TrustedHeaderError) return refusal(error.reason, error.message);
            throw error;
          }
        }
        this.sessions.clearCookie(response);
      }
    }
    const target = this.options.logout?.redirectTo ?? null;
    return target === null ? { status: 204 } : { status: 303, location: target };
  }
}

function refusal(reason: TrustedHeaderError['reason'], message: string): LogoutAnswer {
  const status = STATUS_OF_REASON[reason];
  return { status, body: { statusCode: status, message, reason } };
}
