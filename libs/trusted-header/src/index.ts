// The public API of nestjs-trusted-header. Everything not exported here is private.

// Module and options
export { TrustedHeaderModule } from './trusted-header.module.js';
export {
  OPTIONS_TYPE as TrustedHeaderModuleOptions,
  ASYNC_OPTIONS_TYPE as TrustedHeaderModuleAsyncOptions,
} from './trusted-header.module-definition.js';
export type { TrustedHeaderOptions, ResolvedTrustedHeaderOptions } from './config/trusted-header-options.js';
export { trustedHeaderOptionsFromEnv } from './config/env.js';
export { resolveTrustedHeaderOptions } from './config/resolve-options.js';
export { ENV_VARIABLES } from './config/settings.js';
export { PRESETS, type PresetName } from './config/presets.js';
export { TrustedHeaderConfigError } from './config/config-error.js';
export {
  TRUSTED_HEADER_OPTIONS,
  TRUSTED_HEADER_STRATEGY,
  IS_PUBLIC_KEY,
  REQUIRED_GROUPS_KEY,
} from './trusted-header.constants.js';

// Guard, strategy, decorators
export { TrustedHeaderGuard } from './guards/trusted-header.guard.js';
export { TrustedHeaderStrategy } from './strategy/trusted-header.strategy.js';
export { Public } from './decorators/public.decorator.js';
export { CurrentUser } from './decorators/current-user.decorator.js';
export { Groups, type GroupsOptions, type GroupRequirement } from './decorators/groups.decorator.js';

// Errors
export {
  TrustedHeaderException,
  DatabaseUnavailableException,
  type TrustedHeaderErrorBody,
} from './errors/trusted-header.exception.js';
export type { RejectionReason } from './errors/rejection-reason.js';
export { TrustedHeaderErrorShapeFilter } from './errors/error-shape.filter.js';

// Users, groups and schema
export type { AuthenticatedUser } from './sync/authenticated-user.js';
export { UserSyncService } from './sync/user-sync.service.js';
export { TRUSTED_HEADER_ENTITIES, TRUSTED_HEADER_MIGRATIONS } from './sync/schema.js';
export { TrustedHeaderUser } from './sync/user.entity.js';
export { TrustedHeaderGroup } from './sync/group.entity.js';
export { TrustedHeaderGroupMapping } from './sync/group-mapping.entity.js';
export { TrustedHeaderUserExternalGroup } from './sync/user-external-group.entity.js';
export { TrustedHeaderUserGroupGrant } from './sync/user-group-grant.entity.js';

// Audit trail (the admin API itself is the separate entry point nestjs-trusted-header/admin)
export { TrustedHeaderAuditEvent } from './sync/audit-event.entity.js';
export { AUDIT_EVENT_TYPES, PROXY_ACTOR, type AuditEventType } from './sync/audit.js';
export { DatabaseGate } from './sync/database-gate.service.js';

// Pure building blocks, for custom integrations
export { RequestInspector } from './request/request-inspector.service.js';
export type { RequestInspection } from './request/request-inspection.js';
export { parseTrustList, TrustList } from './trust/trust-list.js';
export { parseTrustEntry, TrustEntryError } from './trust/trust-entry.js';
export { compileIdentityReader, type IdentityReader } from './identity/read-identity.js';
export { canonicaliseUsername } from './identity/username.js';
export type { Identity, IdentityResult, IdentityRules, IdentityHeaderNames } from './identity/identity.js';
