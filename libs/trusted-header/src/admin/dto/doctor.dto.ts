import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

// Response shapes of GET /admin/doctor, for the OpenAPI document; the service returns plain objects of this shape.

export class ProfileCheckDto {
  @ApiProperty({ enum: ['peer_address', 'shared_secret', 'client_certificate', 'signed_assertion'] })
  check!: string;

  @ApiProperty({
    type: Boolean,
    nullable: true,
    description: 'null: cannot be told afterwards (a removed secret line beside another failed check)',
  })
  passed!: boolean | null;

  @ApiProperty({ example: 'peer 10.0.0.7 is in 10.0.0.7/32' })
  detail!: string;
}

export class ProfileReportDto {
  @ApiProperty({ example: 'default' })
  profile!: string;

  @ApiProperty({
    enum: ['accepted', 'refused', 'not_consulted'],
    description: '`not_consulted`: an earlier profile accepted the request',
  })
  outcome!: string;

  @ApiProperty({ type: [ProfileCheckDto] })
  checks!: ProfileCheckDto[];
}

export class SeenHeaderDto {
  @ApiProperty({ example: 'Remote-User', description: 'The name as sent' })
  name!: string;

  @ApiProperty({ enum: ['user', 'email', 'name', 'groups', 'subject', 'assertion'] })
  role!: string;

  @ApiProperty({ example: 'alice', description: 'The username as sent; every other value is `[redacted]`' })
  value!: string;
}

export class HeaderFindingDto {
  @ApiProperty({ enum: ['duplicate_header', 'header_twin', 'hop_by_hop_header'] })
  reason!: string;

  @ApiProperty({ example: 'Remote-Groups', description: 'The configured header concerned' })
  header!: string;

  @ApiProperty({ example: 'Connection names the identity header Remote-Groups' })
  detail!: string;
}

export class RemovedHeaderDto {
  @ApiProperty({ example: 'X-Proxy-Secret' })
  name!: string;

  @ApiProperty({
    enum: ['shared_secret', 'untrusted_peer', 'not_read'],
    description: '`not_read`: an identity header the accepting profile does not read (another profile’s)',
  })
  why!: string;
}

export class HeadersReportDto {
  @ApiProperty({ type: [SeenHeaderDto] })
  seen!: SeenHeaderDto[];

  @ApiProperty({ type: [HeaderFindingDto] })
  findings!: HeaderFindingDto[];

  @ApiProperty({ type: [RemovedHeaderDto], description: 'Removed before routing; names only' })
  removed!: RemovedHeaderDto[];
}

export class IdentityReportDto {
  @ApiProperty({ enum: ['identity', 'anonymous', 'rejected', 'not_read'] })
  outcome!: string;

  @ApiPropertyOptional({ example: 'alice' })
  username?: string;

  @ApiPropertyOptional({
    type: String,
    nullable: true,
    description: 'Namespace of the stable subject, never the subject',
  })
  subjectIssuer?: string | null;

  @ApiPropertyOptional()
  emailAsserted?: boolean;

  @ApiPropertyOptional()
  displayNameAsserted?: boolean;

  @ApiPropertyOptional({ example: 3 })
  externalGroupCount?: number;

  @ApiPropertyOptional({ description: 'Reason code of a rejection' })
  reason?: string;

  @ApiPropertyOptional()
  detail?: string;
}

export class AssertionFactsDto {
  @ApiProperty({ type: String, nullable: true, example: 'https://team.cloudflareaccess.com' })
  issuer!: string | null;

  @ApiProperty({ type: String, nullable: true })
  kid!: string | null;

  @ApiProperty({ type: String, nullable: true, example: 'RS256' })
  alg!: string | null;

  @ApiProperty({ type: String, nullable: true, format: 'date-time' })
  expiresAt!: string | null;
}

export class RequestReportDto {
  @ApiProperty({ type: String, nullable: true, example: '10.0.0.7', description: 'The TCP peer' })
  peer!: string | null;

  @ApiProperty()
  trusted!: boolean;

  @ApiProperty({ type: String, nullable: true, example: 'default', description: 'The profile that accepted it' })
  profile!: string | null;

  @ApiProperty({ type: [ProfileReportDto], description: 'Every check of every profile' })
  profiles!: ProfileReportDto[];

  @ApiProperty({ type: HeadersReportDto })
  headers!: HeadersReportDto;

  @ApiProperty({ type: IdentityReportDto })
  identity!: IdentityReportDto;

  @ApiProperty({ type: AssertionFactsDto, nullable: true, description: 'Signed assertions only; never the token' })
  assertion!: AssertionFactsDto | null;
}

export class GroupSourceDto {
  @ApiProperty({ enum: ['mapping', 'manual', 'bootstrap'] })
  type!: string;

  @ApiPropertyOptional({ example: 'idp-admins', description: 'mapping and bootstrap: the external group' })
  externalGroup?: string;

  @ApiPropertyOptional({ format: 'uuid', description: 'mapping: the mapping' })
  mappingId?: string;
}

export class EffectiveGroupDto {
  @ApiProperty({ example: 'admin' })
  name!: string;

  @ApiProperty({ type: [GroupSourceDto] })
  sources!: GroupSourceDto[];
}

export class DoctorUserDto {
  @ApiProperty({ format: 'uuid' })
  id!: string;

  @ApiProperty({ example: 'alice' })
  username!: string;

  @ApiProperty()
  isAdmin!: boolean;

  @ApiProperty({ enum: ['headers', 'assertion', 'session'], description: 'What said who the user is' })
  authenticatedBy!: string;

  @ApiProperty({ type: [EffectiveGroupDto], description: 'Effective local groups and where each comes from' })
  groups!: EffectiveGroupDto[];
}

export class ConfigurationWarningDto {
  @ApiProperty({
    enum: [
      'trust_list_wide',
      'session_cookie_not_secure',
      'sync_ttl_long',
      'listener_not_connected',
      'no_admin_groups',
      'cross_site_check_off',
    ],
    description: 'Stable code',
  })
  code!: string;

  @ApiProperty({ example: 'Proxy default trusts 10.0.0.0/24: every host in that range can assert any identity' })
  message!: string;
}

export class DoctorReportDto {
  @ApiProperty({ type: RequestReportDto, description: 'This request as the library saw it' })
  request!: RequestReportDto;

  @ApiProperty({ type: DoctorUserDto })
  user!: DoctorUserDto;

  @ApiProperty({ type: [ConfigurationWarningDto] })
  warnings!: ConfigurationWarningDto[];
}
