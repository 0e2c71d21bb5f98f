import { Controller, Delete, Get, HttpCode, Param } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { CurrentUser } from '../../decorators/current-user.decorator.js';
import { AdminApi } from '../admin-api.decorator.js';
import { uuidParam } from '../admin-pipes.js';
import { UserSessionsService } from './user-sessions.service.js';

/** A user's persistent sessions (AUTH_PROXY_SESSION=persistent): list them, end one or all. */
@ApiTags('admin: sessions')
@Controller('users/:id/sessions')
@AdminApi()
export class UserSessionsController {
  constructor(private readonly sessions: UserSessionsService) {}

  @Get()
  list(@Param('id', uuidParam('id')) id: string) {
    return this.sessions.list(id);
  }

  /** Ends every live session of the user at once on this instance, on others within AUTH_PROXY_SYNC_TTL_SECONDS. */
  @Delete()
  @HttpCode(200)
  revokeAll(@Param('id', uuidParam('id')) id: string, @CurrentUser('username') actor: string) {
    return this.sessions.revokeAll(id, actor);
  }

  @Delete(':sessionId')
  @HttpCode(204)
  async revoke(
    @Param('id', uuidParam('id')) id: string,
    @Param('sessionId', uuidParam('sessionId')) sessionId: string,
    @CurrentUser('username') actor: string,
  ): Promise<void> {
    await this.sessions.revoke(id, sessionId, actor);
  }
}
