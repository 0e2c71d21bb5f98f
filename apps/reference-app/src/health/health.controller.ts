import { Controller, Get, ServiceUnavailableException } from '@nestjs/common';
import { HealthCheckService } from '@nestjs/terminus';
import { Public } from 'nestjs-trusted-header';
import { DatabaseHealthIndicator } from './database.health.js';

@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly database: DatabaseHealthIndicator,
  ) {}

  /** 200 `{ status: 'ok', ... }`; 503 with reason `database_unavailable` when the database does not answer. */
  @Get()
  @Public()
  async check() {
    try {
      return await this.health.check([() => this.database.pingCheck('database', 1500)]);
    } catch (error) {
      if (!(error instanceof ServiceUnavailableException)) throw error;
      const details = (error.getResponse() as { details?: unknown }).details;
      throw new ServiceUnavailableException({
        statusCode: 503,
        message: 'The database is unavailable',
        reason: 'database_unavailable',
        status: 'error',
        details,
      });
    }
  }
}
