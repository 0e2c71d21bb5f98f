import { applyDecorators, UseGuards, UseInterceptors, UsePipes } from '@nestjs/common';
import { DomainErrorsInterceptor } from '../errors/http-mapping.js';
import { AdminGuard } from './admin.guard.js';
import { adminValidationPipe } from './admin-pipes.js';

/**
 * What every admin controller needs: admins only (AdminGuard), validated input (fields named in errors), and the
 * services' domain errors (not found, conflict, database unavailable) answered with their status and reason.
 */
export function AdminApi(): ClassDecorator {
  return applyDecorators(
    UseGuards(AdminGuard),
    UsePipes(adminValidationPipe),
    UseInterceptors(DomainErrorsInterceptor),
  ) as ClassDecorator;
}
