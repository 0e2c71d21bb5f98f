import { Injectable, Logger } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';

/**
 * Pings the app's own TypeORM DataSource with a time bound. Terminus's TypeOrmHealthIndicator would do the
 * same, but it probes for its optional packages with require(), which cannot load the ESM-only @nestjs/typeorm
 * under every runtime (Jest's VM modules among them).
 */
@Injectable()
export class DatabaseHealthIndicator {
  private readonly logger = new Logger('Health');

  constructor(
    private readonly health: HealthIndicatorService,
    @InjectDataSource() private readonly dataSource: DataSource,
  ) {}

  async pingCheck(key: string, timeoutMs: number) {
    const indicator = this.health.check(key);
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        this.dataSource.query('SELECT 1'),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
        }),
      ]);
      return indicator.up();
    } catch (error) {
      // The cause (host names, addresses) goes to the log; the public endpoint only says the database is down.
      this.logger.warn(`database ping failed: ${error instanceof Error ? error.message : String(error)}`);
      return indicator.down();
    } finally {
      clearTimeout(timer);
    }
  }
}
