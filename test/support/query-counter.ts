import type { Logger as TypeOrmLogger } from 'typeorm';

/** A TypeORM logger that counts the statements the application sends (round-trips) and the writes among them. */
export class QueryCounter implements TypeOrmLogger {
  queries: string[] = [];

  get writes(): number {
    return this.queries.filter((query) => /^\s*(INSERT|UPDATE|DELETE)\b/i.test(query)).length;
  }

  reset(): void {
    this.queries = [];
  }

  logQuery(query: string): void {
    this.queries.push(query);
  }
  logQueryError(): void {}
  logQuerySlow(): void {}
  logSchemaBuild(): void {}
  logMigration(): void {}
  log(): void {}
}
