import { Controller, Get } from '@nestjs/common';
import { CurrentUser, Groups } from 'nestjs-trusted-header';

/** A route for members of the local group `reports` (or admins): shows @Groups in use. */
@Controller('reports')
@Groups('reports', 'admin')
export class ReportsController {
  @Get()
  list(@CurrentUser('username') username: string) {
    return { reports: [], requestedBy: username };
  }
}
