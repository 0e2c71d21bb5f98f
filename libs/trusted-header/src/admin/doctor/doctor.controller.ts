import { Controller, Get, Req } from '@nestjs/common';
import { ApiForbiddenResponse, ApiOkResponse, ApiOperation, ApiTags, ApiUnauthorizedResponse } from '@nestjs/swagger';
import { CurrentUser } from '../../decorators/current-user.decorator.js';
import type { AuthenticatedUser } from '../../sync/authenticated-user.js';
import { AdminApi } from '../admin-api.decorator.js';
import { DoctorReportDto } from '../dto/doctor.dto.js';
import { DoctorService, type DoctorReport } from './doctor.service.js';

@ApiTags('admin: doctor')
@Controller('doctor')
@AdminApi()
export class DoctorController {
  constructor(private readonly doctor: DoctorService) {}

  @Get()
  @ApiOperation({
    summary: 'This request as the library saw it',
    description:
      'Peer, proxy profiles and their checks, identity headers (values redacted but the username), headers ' +
      'removed before routing, the identity, your effective groups with their sources, and configuration ' +
      'warnings. Never a secret, token, cookie or session id.',
  })
  @ApiOkResponse({ type: DoctorReportDto })
  @ApiUnauthorizedResponse({ description: 'Not logged in (`missing_identity`, ...)' })
  @ApiForbiddenResponse({ description: '`admin_required`' })
  diagnose(@Req() request: unknown, @CurrentUser() user: AuthenticatedUser): Promise<DoctorReport> {
    return this.doctor.diagnose(request, user);
  }
}
