import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TRUSTED_HEADER_ENTITIES, TRUSTED_HEADER_MIGRATIONS } from 'nestjs-trusted-header';
import type { DataSourceOptions } from 'typeorm';
import type { DatabaseConfig } from './database-config.js';

export interface OpenDatabase {
  readonly options: DataSourceOptions;
  /** For logs; never includes a password. */
  readonly description: string;
  readonly embedded: boolean;
  close(): Promise<void>;
}

/**
 * TypeORM options for the configured database. Without DATABASE_URL an embedded PGlite (PostgreSQL compiled
 * to WebAssembly) is started and served on a private Unix socket, so the app talks to it through the same
 * `pg` driver and SQL as to a PostgreSQL server. PGlite runs one session at a time, hence a pool of one.
 */
export async function openDatabase(config: DatabaseConfig): Promise<OpenDatabase> {
  const common = {
    type: 'postgres' as const,
    entities: TRUSTED_HEADER_ENTITIES,
    migrations: TRUSTED_HEADER_MIGRATIONS,
    migrationsRun: true,
    synchronize: false,
  };
  const timeouts = {
    connectionTimeoutMillis: config.timeoutMs,
    query_timeout: config.timeoutMs,
    statement_timeout: config.timeoutMs,
    // A session abandoned inside a transaction (a client gone mid-request) gives its locks back by itself.
    idle_in_transaction_session_timeout: Math.max(10 * config.timeoutMs, 10_000),
  };
  if (config.url) {
    const url = new URL(config.url);
    url.password = url.password ? '***' : '';
    return {
      options: { ...common, url: config.url, extra: { ...timeouts, max: config.poolSize ?? 10 } },
      description: `PostgreSQL at ${url.toString()}`,
      embedded: false,
      close: async () => undefined,
    };
  }

  const inMemory = config.pgliteDataDir.startsWith('memory://');
  if (!inMemory) mkdirSync(config.pgliteDataDir, { recursive: true });
  const db = await PGlite.create(inMemory ? undefined : config.pgliteDataDir);
  const socketDir = mkdtempSync(join(tmpdir(), 'pglite-'));
  const server = new PGLiteSocketServer({ db, path: join(socketDir, '.s.PGSQL.5432') });
  await server.start();
  return {
    options: {
      ...common,
      host: socketDir,
      port: 5432,
      username: 'postgres',
      database: 'postgres',
      extra: { ...timeouts, max: 1 },
    },
    description: `embedded PGlite in ${inMemory ? 'memory' : config.pgliteDataDir}`,
    embedded: true,
    close: async () => {
      await server.stop();
      await db.close();
      rmSync(socketDir, { recursive: true, force: true });
    },
  };
}
