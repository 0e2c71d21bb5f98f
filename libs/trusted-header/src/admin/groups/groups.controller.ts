import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Query } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { CurrentUser } from '../../decorators/current-user.decorator.js';
import { AdminApi } from '../admin-api.decorator.js';
import { uuidParam } from '../admin-pipes.js';
import { CreateGroupDto, UpdateGroupDto } from '../dto/admin.dto.js';
import { SearchPageQueryDto } from '../dto/page.dto.js';
import { GroupsService } from './groups.service.js';

@ApiTags('admin: groups')
@Controller('groups')
@AdminApi()
export class GroupsController {
  constructor(private readonly groups: GroupsService) {}

  @Get()
  list(@Query() query: SearchPageQueryDto) {
    return this.groups.list(query);
  }

  @Post()
  create(@Body() body: CreateGroupDto, @CurrentUser('username') actor: string) {
    return this.groups.create(body, actor);
  }

  @Get(':id')
  get(@Param('id', uuidParam('id')) id: string) {
    return this.groups.get(id);
  }

  @Patch(':id')
  update(
    @Param('id', uuidParam('id')) id: string,
    @Body() body: UpdateGroupDto,
    @CurrentUser('username') actor: string,
  ) {
    return this.groups.update(id, body, actor);
  }

  @Delete(':id')
  @HttpCode(204)
  async remove(@Param('id', uuidParam('id')) id: string, @CurrentUser('username') actor: string): Promise<void> {
    await this.groups.remove(id, actor);
  }
}
