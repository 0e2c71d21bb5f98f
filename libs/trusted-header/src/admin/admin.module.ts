import { Module, type DynamicModule } from '@nestjs/common';
import { RouterModule } from '@nestjs/core';
import { AdminChanges } from './admin-context.js';
import { AdminGuard } from './admin.guard.js';
import { AuditEventsController } from './audit/audit-events.controller.js';
import { AuditEventsService } from './audit/audit-events.service.js';
import { DoctorController } from './doctor/doctor.controller.js';
import { DoctorService } from './doctor/doctor.service.js';
import { ExternalGroupsController } from './external-groups/external-groups.controller.js';
import { ExternalGroupsService } from './external-groups/external-groups.service.js';
import { GroupMappingsController } from './group-mappings/group-mappings.controller.js';
import { GroupMappingsService } from './group-mappings/group-mappings.service.js';
import { GroupsController } from './groups/groups.controller.js';
import { GroupsService } from './groups/groups.service.js';
import { UserSessionsController } from './sessions/user-sessions.controller.js';
import { UserSessionsService } from './sessions/user-sessions.service.js';
import { UsersAdminController } from './users/users-admin.controller.js';
import { UsersAdminService } from './users/users-admin.service.js';

export interface TrustedHeaderAdminOptions {
  /** Path prefix of the admin API. Default `admin`. */
  path?: string;
}

/**
 * The opt-in admin REST API: local groups, group mappings, external groups, users, their sessions, the audit
 * trail, and the doctor (GET doctor: the caller's request as the library saw it).
 * Needs TrustedHeaderModule. Only admins may call it (401 anonymous, 403 `admin_required` others).
 */
@Module({})
export class TrustedHeaderAdminModule {
  static forRoot(options: TrustedHeaderAdminOptions = {}): DynamicModule {
    const path = (options.path ?? 'admin').replace(/^\/+|\/+$/g, '');
    if (path === '' || !/^[A-Za-z0-9._~/-]+$/.test(path)) {
      throw new Error(`TrustedHeaderAdminModule: path ${JSON.stringify(options.path)} is not a usable path prefix`);
    }
    return {
      module: TrustedHeaderAdminModule,
      imports: [RouterModule.register([{ path, module: TrustedHeaderAdminModule }])],
      controllers: [
        GroupsController,
        GroupMappingsController,
        ExternalGroupsController,
        UsersAdminController,
        UserSessionsController,
        AuditEventsController,
        DoctorController,
      ],
      providers: [
        AdminGuard,
        AdminChanges,
        GroupsService,
        GroupMappingsService,
        ExternalGroupsService,
        UsersAdminService,
        UserSessionsService,
        AuditEventsService,
        DoctorService,
      ],
    };
  }
}
