// The public API of nestjs-trusted-header: what applications use. Building blocks for custom integrations are
// in nestjs-trusted-header/building-blocks, the admin REST API in nestjs-trusted-header/admin.

// Module and options
export { TrustedHeaderModule } from './trusted-header.module.js';
export type {
  TrustedHeaderModuleOptions,
  TrustedHeaderModuleAsyncOptions,
} from './trusted-header.module-definition.js';
export type { TrustedHeaderOptions, ResolvedTrustedHeaderOptions } from './config/trusted-header-options.js';
export { trustedHeaderOptionsFromEnv } from './config/env.js';
export { ENV_VARIABLES } from './config/settings.js';
export { PRESETS, type PresetName } from './config/presets.js';
export { TrustedHeaderConfigError } from './config/config-error.js';
export { clientCertificateServerOptions, type ResolvedClientCertificateOptions } from './trust/client-certificate.js';

// Guard, strategy, decorators
export { TrustedHeaderGuard } from './guards/trusted-header.guard.js';
export { TokenOrTrustedHeaderGuard } from './guards/token-or-trusted-header.guard.js';
export { TrustedHeaderStrategy } from './strategy/trusted-header.strategy.js';
export { Public } from './decorators/public.decorator.js';
export { CurrentUser } from './decorators/current-user.decorator.js';
export { Groups, type GroupsOptions, type GroupRequirement } from './decorators/groups.decorator.js';

// Errors
export { TrustedHeaderException, type TrustedHeaderErrorBody } from './errors/trusted-header.exception.js';
export type { RejectionReason } from './errors/rejection-reason.js';
export { TrustedHeaderErrorShapeFilter } from './errors/error-shape.filter.js';
export { fastifyFrameworkErrors } from './errors/fastify-framework-errors.js';
export { shapeClientErrors } from './errors/client-errors.js';

// Users and schema
export type { AuthenticatedUser } from './sync/authenticated-user.js';
export { UserSyncService } from './sync/user-sync.service.js';
export { TRUSTED_HEADER_ENTITIES, TRUSTED_HEADER_MIGRATIONS } from './persistence/schema.js';
