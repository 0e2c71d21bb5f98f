// nestjs-trusted-header/building-blocks: the parts the module is made of, for custom integrations (another
// transport, a custom guard, tests). Applications normally need only the main entry point.

// Constants and option resolution
export {
  TRUSTED_HEADER_OPTIONS,
  TRUSTED_HEADER_STRATEGY,
  IS_PUBLIC_KEY,
  REQUIRED_GROUPS_KEY,
} from './trusted-header.constants.js';
export { resolveTrustedHeaderOptions } from './config/resolve-options.js';

// Trust and identity (pure)
export { RequestInspector } from './request/request-inspector.service.js';
export type { RequestInspection } from './request/request-inspection.js';
export { parseTrustList, TrustList } from './trust/trust-list.js';
export { parseTrustEntry, TrustEntryError } from './trust/trust-entry.js';
export { compileIdentityReader, type IdentityReader } from './identity/read-identity.js';
export { canonicaliseUsername, type UsernameResult } from './identity/username.js';
export type { Identity, IdentityResult, IdentityRules, IdentityHeaderNames } from './identity/identity.js';
export { crossSiteProblem } from './request/cross-site-check.js';

// Sessions
export {
  SessionStore,
  type LiveSession,
  type SessionOrigin,
  type SessionEnder,
} from './session/session-store.service.js';
export { SessionLogin, type SessionRequest } from './session/session-login.service.js';
export { readSessionCookie, type SessionCookie } from './session/session-cookie.js';

// Domain errors and their HTTP answer
export {
  TrustedHeaderError,
  UnknownUserError,
  UserDisabledError,
  DatabaseUnavailableError,
  NotFoundError,
  ConflictError,
  InvalidSessionError,
  CrossSiteRequestError,
  UsernameTakenError,
} from './errors/domain-errors.js';
export { STATUS_OF_REASON, httpExceptionFor, toHttpError, DomainErrorsInterceptor } from './errors/http-mapping.js';

// Persistence
export { DatabaseGate } from './persistence/database-gate.service.js';
export {
  ChangeListener,
  type ChangeListenerState,
} from './persistence/change-notifications/change-listener.service.js';
export { CHANGE_CHANNEL, type ChangeNotice } from './persistence/change-notifications/change-notice.js';
export { TrustedHeaderUser } from './persistence/user.entity.js';
export { TrustedHeaderGroup } from './persistence/group.entity.js';
export { TrustedHeaderGroupMapping } from './persistence/group-mapping.entity.js';
export { TrustedHeaderUserExternalGroup } from './persistence/user-external-group.entity.js';
export { TrustedHeaderUserGroupGrant } from './persistence/user-group-grant.entity.js';
export { TrustedHeaderAuditEvent } from './persistence/audit-event.entity.js';
export { TrustedHeaderSession } from './persistence/session.entity.js';
export {
  AUDIT_EVENT_TYPES,
  AUDIT_ACTOR_TYPES,
  PROXY_ACTOR,
  type AuditEventType,
  type AuditActorType,
} from './persistence/audit.js';
