import { Controller, Get, Query } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { AdminApi } from '../admin-api.decorator.js';
import { ExternalGroupsQueryDto } from '../dto/admin.dto.js';
import { ExternalGroupsService } from './external-groups.service.js';

@ApiTags('admin: external groups')
@Controller('external-groups')
@AdminApi()
export class ExternalGroupsController {
  constructor(private readonly externalGroups: ExternalGroupsService) {}

  @Get()
  list(@Query() query: ExternalGroupsQueryDto) {
    return this.externalGroups.list(query);
  }
}
