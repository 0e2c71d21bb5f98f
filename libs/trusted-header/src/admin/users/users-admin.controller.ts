import { Body, Controller, Delete, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { CurrentUser } from '../../decorators/current-user.decorator.js';
import type { AuthenticatedUser } from '../../sync/authenticated-user.js';
import { AdminApi } from '../admin-api.decorator.js';
import { uuidParam } from '../admin-pipes.js';
import { GrantDto, UsersQueryDto } from '../dto/admin.dto.js';
import { UsersAdminService } from './users-admin.service.js';

@ApiTags('admin: users')
@Controller('users')
@AdminApi()
export class UsersAdminController {
  constructor(private readonly users: UsersAdminService) {}

  @Get()
  list(@Query() query: UsersQueryDto) {
    return this.users.list(query);
  }

  @Get(':id')
  get(@Param('id', uuidParam('id')) id: string) {
    return this.users.get(id);
  }

  @Post(':id/disable')
  @HttpCode(200)
  disable(@Param('id', uuidParam('id')) id: string, @CurrentUser() actor: AuthenticatedUser) {
    return this.users.setDisabled(id, true, actor);
  }

  @Post(':id/enable')
  @HttpCode(200)
  enable(@Param('id', uuidParam('id')) id: string, @CurrentUser() actor: AuthenticatedUser) {
    return this.users.setDisabled(id, false, actor);
  }

  /** Grants a local group by hand; sync never removes it. */
  @Post(':id/grants')
  grant(@Param('id', uuidParam('id')) id: string, @Body() body: GrantDto, @CurrentUser('username') actor: string) {
    return this.users.grant(id, body.group, actor);
  }

  @Delete(':id/grants/:groupId')
  @HttpCode(204)
  async revoke(
    @Param('id', uuidParam('id')) id: string,
    @Param('groupId', uuidParam('groupId')) groupId: string,
    @CurrentUser('username') actor: string,
  ): Promise<void> {
    await this.users.revoke(id, groupId, actor);
  }
}
