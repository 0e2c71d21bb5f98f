import { Controller, Get, Query, UseGuards, UsePipes } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { AdminGuard } from '../admin.guard.js';
import { adminValidationPipe } from '../admin-pipes.js';
import { ExternalGroupsQueryDto } from '../dto/admin.dto.js';
import { ExternalGroupsService } from './external-groups.service.js';

@ApiTags('admin: external groups')
@Controller('external-groups')
@UseGuards(AdminGuard)
@UsePipes(adminValidationPipe)
export class ExternalGroupsController {
  constructor(private readonly externalGroups: ExternalGroupsService) {}

  @Get()
  list(@Query() query: ExternalGroupsQueryDto) {
    return this.externalGroups.list(query);
  }
}
