import { Controller, Get, Query } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { AdminApi } from '../admin-api.decorator.js';
import { AuditEventsQueryDto } from '../dto/admin.dto.js';
import { AuditEventsService } from './audit-events.service.js';

@ApiTags('admin: audit')
@Controller('audit-events')
@AdminApi()
export class AuditEventsController {
  constructor(private readonly auditEvents: AuditEventsService) {}

  @Get()
  list(@Query() query: AuditEventsQueryDto) {
    return this.auditEvents.list(query);
  }
}
