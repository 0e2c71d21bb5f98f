import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { ArrayMaxSize, IsArray, IsIn, IsOptional, ValidateIf } from 'class-validator';
import {
  AUDIT_ACTOR_TYPES,
  AUDIT_EVENT_TYPES,
  type AuditActorType,
  type AuditEventType,
} from '../../persistence/audit.js';
import { BOOLEAN_STRINGS, IsBooleanString, PageQueryDto, SearchPageQueryDto } from './page.dto.js';
import { IsGroupName, IsText, IsTimestamp } from './validation.js';

export class CreateGroupDto {
  @ApiProperty({ example: 'reports', maxLength: 256 })
  @IsGroupName()
  name!: string;

  @ApiPropertyOptional({ example: 'Can read the reports', maxLength: 1000, nullable: true })
  @IsOptional()
  @IsText(1000)
  description?: string | null;
}

export class UpdateGroupDto {
  @ApiPropertyOptional({ example: 'reports', maxLength: 256 })
  @ValidateIf((_, value) => value !== undefined)
  @IsGroupName()
  name?: string;

  @ApiPropertyOptional({ maxLength: 1000, nullable: true })
  @IsOptional()
  @IsText(1000)
  description?: string | null;
}

export class CreateMappingDto {
  @ApiProperty({
    example: 'cn=analysts,ou=groups,dc=example,dc=org',
    description: 'External group, exactly as the proxy asserts it',
  })
  @IsGroupName()
  externalGroup!: string;

  @ApiProperty({ example: 'reports', description: 'Name of an existing local group' })
  @IsGroupName()
  group!: string;
}

export class PreviewMappingDto {
  @ApiProperty({ type: [String], example: ['cn=analysts,ou=groups,dc=example,dc=org'] })
  @IsArray({ message: 'must be an array of group names' })
  @ArrayMaxSize(1000, { message: 'must have at most 1000 items' })
  @IsGroupName({ each: true })
  externalGroups!: string[];
}

export class GrantDto {
  @ApiProperty({ example: 'reports', description: 'Name of an existing local group' })
  @IsGroupName()
  group!: string;
}

export class MappingsQueryDto extends PageQueryDto {
  @ApiPropertyOptional({ description: 'Only mappings of this external group (exact)' })
  @IsOptional()
  @IsGroupName()
  externalGroup?: string;

  @ApiPropertyOptional({ description: 'Only mappings to this local group name (exact)' })
  @IsOptional()
  @IsGroupName()
  group?: string;
}

export class ExternalGroupsQueryDto extends SearchPageQueryDto {
  @ApiPropertyOptional({ enum: BOOLEAN_STRINGS })
  @IsOptional()
  @IsBooleanString()
  mapped?: 'true' | 'false';
}

export class UsersQueryDto extends SearchPageQueryDto {
  @ApiPropertyOptional({ enum: BOOLEAN_STRINGS })
  @IsOptional()
  @IsBooleanString()
  disabled?: 'true' | 'false';
}

export class AuditEventsQueryDto extends PageQueryDto {
  @ApiPropertyOptional({ enum: AUDIT_EVENT_TYPES })
  @IsOptional()
  @IsIn(AUDIT_EVENT_TYPES, { message: `must be one of ${AUDIT_EVENT_TYPES.join(', ')}` })
  type?: AuditEventType;

  @ApiPropertyOptional({ enum: AUDIT_ACTOR_TYPES, description: '`proxy` (assertions, logins), `admin` (the admin API) or `user` (logout)' })
  @IsOptional()
  @IsIn(AUDIT_ACTOR_TYPES, { message: `must be one of ${AUDIT_ACTOR_TYPES.join(', ')}` })
  actorType?: AuditActorType;

  @ApiPropertyOptional({ description: 'Username of the admin, or `proxy` (with actorType to tell them apart)' })
  @IsOptional()
  @IsText(255)
  actor?: string;

  @ApiPropertyOptional({ description: 'Username the event is about' })
  @IsOptional()
  @IsText(255)
  user?: string;

  @ApiPropertyOptional({ format: 'date-time' })
  @IsOptional()
  @IsTimestamp()
  since?: string;

  @ApiPropertyOptional({ format: 'date-time' })
  @IsOptional()
  @IsTimestamp()
  until?: string;
}
