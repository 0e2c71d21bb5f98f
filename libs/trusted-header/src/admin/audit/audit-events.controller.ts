import { Controller, Get, Query, UseGuards, UsePipes } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { AdminGuard } from '../admin.guard.js';
import { adminValidationPipe } from '../admin-pipes.js';
import { AuditEventsQueryDto } from '../dto/admin.dto.js';
import { AuditEventsService } from './audit-events.service.js';

@ApiTags('admin: audit')
@Controller('audit-events')
@UseGuards(AdminGuard)
@UsePipes(adminValidationPipe)
export class AuditEventsController {
  constructor(private readonly auditEvents: AuditEventsService) {}

  @Get()
  list(@Query() query: AuditEventsQueryDto) {
    return this.auditEvents.list(query);
  }
}
