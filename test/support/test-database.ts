import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { DataSourceOptions } from 'typeorm';
import { openDatabase } from '../../apps/reference-app/src/database/open-database.js';

export interface TestDatabase {
  /** `postgres` when DATABASE_URL points at a server, `pglite` otherwise. */
  readonly kind: 'postgres' | 'pglite';
  /** Whether several sessions can run at once (PGlite serves one). */
  readonly concurrent: boolean;
  /** Connection URL of this test's own database (PostgreSQL only). */
  readonly url?: string;
  options(overrides?: { timeoutMs?: number; poolSize?: number; url?: string }): Promise<DataSourceOptions>;
  /** Runs SQL on a separate connection (PostgreSQL) or through the app's data source (PGlite). */
  close(): Promise<void>;
}

export const serverUrl = process.env.DATABASE_URL || undefined;

/**
 * A fresh database per test file: on a PostgreSQL server (DATABASE_URL) a new database that is dropped at the
 * end; without one an in-memory PGlite. Either way the library's migrations build the schema.
 */
export async function createTestDatabase(): Promise<TestDatabase> {
  if (!serverUrl) {
    let embedded: Awaited<ReturnType<typeof openDatabase>> | undefined;
    return {
      kind: 'pglite',
      concurrent: false,
      async options(overrides = {}) {
        embedded ??= await openDatabase({ pgliteDataDir: 'memory://', timeoutMs: overrides.timeoutMs ?? 5000 });
        return embedded.options;
      },
      async close() {
        await embedded?.close();
      },
    };
  }
  const name = `th_test_${process.pid}_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE "${name}"`);
  await admin.end();
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return {
    kind: 'postgres',
    concurrent: true,
    url: url.toString(),
    async options(overrides = {}) {
      const opened = await openDatabase({
        url: overrides.url ?? url.toString(),
        pgliteDataDir: 'unused',
        timeoutMs: overrides.timeoutMs ?? 5000,
        poolSize: overrides.poolSize,
      });
      return opened.options;
    },
    async close() {
      const client = new pg.Client({ connectionString: serverUrl });
      await client.connect();
      await client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      await client.end();
    },
  };
}

/** Says, once per file, that a PostgreSQL-only block is skipped and why. */
export function describeWithConcurrentDatabase(title: string, body: () => void): void {
  if (serverUrl) {
    describe(title, body);
  } else {
    console.warn(`SKIPPED "${title}": needs concurrent sessions; set DATABASE_URL to a PostgreSQL server to run it`);
    describe.skip(`${title} [skipped: needs DATABASE_URL (PostgreSQL); PGlite serves one session]`, body);
  }
}
