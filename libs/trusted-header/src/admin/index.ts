// The public API of nestjs-trusted-header/admin: the opt-in admin REST module. It needs @nestjs/swagger,
// class-validator and class-transformer, which the core entry point does not.
export { TrustedHeaderAdminModule, type TrustedHeaderAdminOptions } from './admin.module.js';
export { AdminGuard } from './admin.guard.js';
export type { Page } from './dto/page.dto.js';
export type { FieldProblem } from './admin-errors.js';
