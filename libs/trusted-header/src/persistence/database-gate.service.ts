import { Inject, Injectable, Logger, Optional } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource, QueryRunner } from 'typeorm';
import { LogThrottle } from '../common/log-throttle.js';
import type { ResolvedTrustedHeaderOptions } from '../config/trusted-header-options.js';
import { DatabaseUnavailableError, TrustedHeaderError } from '../errors/domain-errors.js';
import { TRUSTED_HEADER_OPTIONS } from '../trusted-header.constants.js';
import { NO_METRICS, TrustedHeaderMetrics } from '../observability/trusted-header-metrics.js';

/**
 * The one way the library talks to the database: bounded in time, failures turned into DatabaseUnavailableError
 * (503 `database_unavailable` at the HTTP layer; never a 500, never a login) with the failure as its cause, and
 * connections whose work failed destroyed rather than reused. Refusals the work decides itself (domain errors:
 * unknown user, not found, conflict) pass through unchanged and leave the connection reusable.
 */
@Injectable()
export class DatabaseGate {
  private readonly logger = new Logger('TrustedHeader');
  private readonly errors = new LogThrottle(5_000);

  constructor(
    @Inject(TRUSTED_HEADER_OPTIONS) private readonly options: ResolvedTrustedHeaderOptions,
    @InjectDataSource() private readonly dataSource: DataSource,
    @Optional() private readonly metrics: TrustedHeaderMetrics = NO_METRICS,
  ) {}

  /** Waits for `work` at most AUTH_PROXY_DB_TIMEOUT_MS; domain errors pass, anything else is DatabaseUnavailableError. */
  async bounded<T>(work: Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    let timedOut = false;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        timedOut = true;
        reject(new Error(`database did not answer within ${this.options.databaseTimeoutMs} ms`));
      }, this.options.databaseTimeoutMs);
    });
    try {
      return await Promise.race([work, timeout]);
    } catch (error) {
      if (error instanceof TrustedHeaderError) throw error;
      this.metrics.databaseFailed(timedOut ? 'timeout' : 'error');
      const skipped = this.errors.admit('database');
      if (skipped !== null) {
        const more = skipped > 0 ? ` (${skipped} similar errors not logged)` : '';
        this.logger.error(`database_unavailable: ${error instanceof Error ? error.message : String(error)}${more}`);
      }
      throw new DatabaseUnavailableError({ cause: error });
    } finally {
      clearTimeout(timer);
    }
  }

  /** Runs `work` on one connection of its own, releasing or destroying it afterwards. */
  async withRunner<T>(work: (runner: QueryRunner) => Promise<T>): Promise<T> {
    const runner = this.dataSource.createQueryRunner();
    let broken: unknown;
    try {
      return await work(runner);
    } catch (error) {
      if (!(error instanceof TrustedHeaderError)) broken = error;
      throw error;
    } finally {
      await releaseRunner(runner, broken);
    }
  }

  /**
   * Runs `work` in a READ COMMITTED transaction (whatever the DataSource's default: under REPEATABLE READ,
   * ON CONFLICT DO NOTHING and locking re-reads fail with serialization errors when requests race).
   */
  async inTransaction<T>(runner: QueryRunner, work: () => Promise<T>): Promise<T> {
    await runner.startTransaction('READ COMMITTED');
    try {
      const result = await work();
      await runner.commitTransaction();
      return result;
    } catch (error) {
      // A rollback that fails leaves the session inside the transaction; its error marks the connection as
      // broken, so it is destroyed instead of being handed to the next request.
      if (runner.isTransactionActive) await runner.rollbackTransaction();
      throw error;
    }
  }

  /** One bounded statement on a connection of its own. */
  query<T = Record<string, unknown>>(sql: string, parameters: unknown[] = []): Promise<T[]> {
    return this.bounded(this.withRunner((runner) => runner.query(sql, parameters) as Promise<T[]>));
  }

  /** withRunner + inTransaction + bounded: one atomic, time-bounded unit of work. */
  transaction<T>(work: (runner: QueryRunner) => Promise<T>): Promise<T> {
    return this.bounded(this.withRunner((runner) => this.inTransaction(runner, () => work(runner))));
  }
}

/**
 * Returns the connection to the pool only when nothing went wrong. After a failed or timed-out statement the
 * session may still be inside a transaction (a ROLLBACK queued behind a hung statement is dropped by the
 * driver); handing it to the next request would let that request commit this one's half-written changes.
 */
async function releaseRunner(runner: QueryRunner, broken: unknown): Promise<void> {
  const postgres = runner as QueryRunner & { releasePostgresConnection?: (error?: unknown) => Promise<void> };
  if (broken !== undefined && typeof postgres.releasePostgresConnection === 'function') {
    await postgres.releasePostgresConnection(broken instanceof Error ? broken : new Error(String(broken)));
  } else {
    await runner.release();
  }
}
