import { Body, Controller, Delete, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { CurrentUser } from '../../decorators/current-user.decorator.js';
import { AdminApi } from '../admin-api.decorator.js';
import { uuidParam } from '../admin-pipes.js';
import { CreateMappingDto, MappingsQueryDto, PreviewMappingDto } from '../dto/admin.dto.js';
import { GroupMappingsService } from './group-mappings.service.js';

/** External group names travel in bodies and query strings only: LDAP DNs contain `/`, `,` and `=`. */
@ApiTags('admin: group mappings')
@Controller('group-mappings')
@AdminApi()
export class GroupMappingsController {
  constructor(private readonly mappings: GroupMappingsService) {}

  @Get()
  list(@Query() query: MappingsQueryDto) {
    return this.mappings.list(query);
  }

  @Post()
  create(@Body() body: CreateMappingDto, @CurrentUser('username') actor: string) {
    return this.mappings.create(body, actor);
  }

  @Post('preview')
  @HttpCode(200)
  preview(@Body() body: PreviewMappingDto) {
    return this.mappings.preview(body.externalGroups);
  }

  @Delete(':id')
  @HttpCode(204)
  async remove(@Param('id', uuidParam('id')) id: string, @CurrentUser('username') actor: string): Promise<void> {
    await this.mappings.remove(id, actor);
  }
}
