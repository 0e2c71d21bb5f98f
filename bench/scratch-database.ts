/**
 * A database of the bench's own on the PostgreSQL server DATABASE_URL names: created for one measurement and
 * dropped after it, so runs never see each other's users.
 */
import pg from 'pg';

export interface ScratchDatabase {
  /** DATABASE_URL with the scratch database in place of the configured one. */
  readonly url: string;
  drop(): Promise<void>;
}

let created = 0;

export async function createScratchDatabase(serverUrl: string, purpose: string): Promise<ScratchDatabase> {
  created += 1;
  const name = `bench_${purpose}_${Date.now()}_${process.pid}_${created}`;
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE "${name}"`);
  } catch (error) {
    await admin.end();
    throw error;
  }
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      try {
        await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      } finally {
        await admin.end();
      }
    },
  };
}
