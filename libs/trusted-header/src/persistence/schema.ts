import { TrustedHeaderAuditEvent } from './audit-event.entity.js';
import { TrustedHeaderGroupMapping } from './group-mapping.entity.js';
import { TrustedHeaderGroup } from './group.entity.js';
import { CreateTrustedHeaderTables1732300000000 } from './migrations/1732300000000-create-trusted-header-tables.js';
import { CreateAuditEvents1732400000000 } from './migrations/1732400000000-create-audit-events.js';
import { AddAuditActorType1732500000000 } from './migrations/1732500000000-add-audit-actor-type.js';
import { CreateSessions1732600000000 } from './migrations/1732600000000-create-sessions.js';
import { AddUserSubjects1732700000000 } from './migrations/1732700000000-add-user-subjects.js';
import { TrustedHeaderSession } from './session.entity.js';
import { TrustedHeaderUserExternalGroup } from './user-external-group.entity.js';
import { TrustedHeaderUserGroupGrant } from './user-group-grant.entity.js';
import { TrustedHeaderUser } from './user.entity.js';

/** Add these to your TypeORM DataSource `entities`. */
export const TRUSTED_HEADER_ENTITIES = [
  TrustedHeaderUser,
  TrustedHeaderGroup,
  TrustedHeaderUserExternalGroup,
  TrustedHeaderGroupMapping,
  TrustedHeaderUserGroupGrant,
  TrustedHeaderAuditEvent,
  TrustedHeaderSession,
];

/** Add these to your TypeORM DataSource `migrations`; the schema is never synchronised. */
export const TRUSTED_HEADER_MIGRATIONS = [
  CreateTrustedHeaderTables1732300000000,
  CreateAuditEvents1732400000000,
  AddAuditActorType1732500000000,
  CreateSessions1732600000000,
  AddUserSubjects1732700000000,
];
