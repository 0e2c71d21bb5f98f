import { randomUUID } from 'node:crypto';
import { UserSyncService } from 'nestjs-trusted-header';
import { ChangeListener } from 'nestjs-trusted-header/building-blocks';
import pg from 'pg';
import { startTestApp, type TestApp } from './support/test-app.js';
import { createTestDatabase, describeWithConcurrentDatabase, type TestDatabase } from './support/test-database.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * A role that may only connect sends one statement of well-formed user notices. Each one makes every instance
 * walk its whole identity cache (and session cache) on the event loop.
 */
describeWithConcurrentDatabase('attack: a flood of forged user notices', () => {
  let database: TestDatabase;
  let a: TestApp;
  let forger: pg.Client;
  let sql: pg.Client;
  const role = `th_flooder_${process.pid}`;

  beforeAll(async () => {
    database = await createTestDatabase();
    a = await startTestApp('express', { createUnknownUser: true, syncTtlSeconds: 3600 }, await database.options());
    sql = new pg.Client({ connectionString: database.url });
    await sql.connect();
    await sql.query(`DROP ROLE IF EXISTS ${role}`);
    await sql.query(`CREATE ROLE ${role} LOGIN PASSWORD 'flood'`);
    forger = new pg.Client({ connectionString: database.url, user: role, password: 'flood' });
    await forger.connect();
    const start = Date.now();
    while (!a.app.get(ChangeListener).connected) {
      if (Date.now() - start > 10_000) throw new Error('listener');
      await sleep(20);
    }
  }, 30_000);
  afterAll(async () => {
    await forger?.end();
    await sql?.query(`DROP ROLE IF EXISTS ${role}`);
    await sql?.end();
    await a?.close();
    await database?.close();
  });

  it('keeps answering while a role that can only connect floods the channel', async () => {
    // The cache as 10 000 users (AUTH_PROXY_CACHE_MAX_ENTRIES' default) who logged in recently would leave it.
    const cache = (a.app.get(UserSyncService) as unknown as { cache: { add(i: unknown, v: unknown): void } }).cache;
    for (let i = 0; i < 10_000; i += 1) {
      cache.add(
        { username: `u${i}`, email: null, displayName: null, groups: [] },
        { disabled: false, user: { id: randomUUID() } },
      );
    }
    expect((await a.request('/health')).status).toBe(200);
    let before = performance.now();
    await a.request('/health');
    const idle = performance.now() - before;

    await forger.query(
      `SELECT pg_notify('trusted_header_changes', format('{"user":"%s"}', gen_random_uuid())) FROM generate_series(1, 20000)`,
    );
    await sleep(100);
    before = performance.now();
    const during = await a.request('/health');
    const busy = performance.now() - before;
    console.log(
      JSON.stringify({
        idleMs: Math.round(idle),
        duringFloodMs: Math.round(busy),
        status: during.status,
        notifications: a.app.get(ChangeListener).notifications,
      }),
    );
    expect(busy).toBeLessThan(1000);
  }, 120_000);
});
