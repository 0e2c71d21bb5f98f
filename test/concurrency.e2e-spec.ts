import { ADAPTERS, startTestApp, type TestApp } from './support/test-app.js';
import { createTestDatabase, describeWithConcurrentDatabase, type TestDatabase } from './support/test-database.js';

/** THREATS 5 (racing), against a PostgreSQL server: concurrent sessions are the point. */
describeWithConcurrentDatabase('concurrent first logins and group changes', () => {
  let database: TestDatabase;
  const apps: TestApp[] = [];

  beforeAll(async () => {
    database = await createTestDatabase();
    // Two instances (one per adapter) on one database, as behind a load balancer: the per-instance
    // request coalescing cannot hide a race between them.
    for (const adapter of ADAPTERS) {
      apps.push(await startTestApp(adapter, { createUnknownUser: true }, await database.options({ poolSize: 20 })));
    }
  });
  afterAll(async () => {
    for (const app of apps) await app.close();
    await database?.close();
  });

  const sql = (query: string, parameters?: unknown[]) => apps[0]!.sql(query, parameters);

  it('50 concurrent first requests for one new user give exactly one row and all 2xx', async () => {
    const responses = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        apps[i % apps.length]!.request('/me', [
          ['Remote-User', 'racer'],
          ['Remote-Email', 'racer@example.org'],
          ['Remote-Groups', 'team-a,team-b'],
        ]),
      ),
    );
    expect(responses.map((response) => response.status)).toEqual(Array(50).fill(200));
    expect(new Set(responses.map((response) => response.body.username))).toEqual(new Set(['racer']));
    const [{ users }] = await sql(`SELECT count(*)::int AS users FROM auth_proxy_users WHERE username = 'racer'`);
    expect(users).toBe(1);
    const memberships = await sql(
      `SELECT eg.external_group, count(*)::int AS n FROM auth_proxy_user_external_groups eg
         JOIN auth_proxy_users u ON u.id = eg.user_id WHERE u.username = 'racer' GROUP BY eg.external_group ORDER BY 1`,
    );
    expect(memberships).toEqual([
      { external_group: 'team-a', n: 1 },
      { external_group: 'team-b', n: 1 },
    ]);
  });

  it('50 concurrent first requests for 50 new users sharing one email give 50 users and one email holder', async () => {
    const responses = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        apps[i % apps.length]!.request('/me', [
          ['Remote-User', `crowd-${i}`],
          ['Remote-Email', 'shared@example.org'],
        ]),
      ),
    );
    expect(responses.map((response) => response.status)).toEqual(Array(50).fill(200));
    const [{ users, holders }] = await sql(
      `SELECT count(*)::int AS users, count(email)::int AS holders FROM auth_proxy_users WHERE username LIKE 'crowd-%'`,
    );
    expect({ users, holders }).toEqual({ users: 50, holders: 1 });
  });

  it('concurrent requests with different group sets end with one of the sets, without duplicates', async () => {
    const sets = [['a'], ['a', 'b'], ['b', 'c'], ['c', 'd', 'e'], []];
    const responses = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        apps[i % apps.length]!.request('/me', [
          ['Remote-User', 'shifty'],
          ['Remote-Groups', sets[i % sets.length]!.join(',')],
        ]),
      ),
    );
    expect(responses.every((response) => response.status === 200)).toBe(true);
    const rows = await sql(
      `SELECT eg.external_group FROM auth_proxy_user_external_groups eg
         JOIN auth_proxy_users u ON u.id = eg.user_id WHERE u.username = 'shifty' ORDER BY 1`,
    );
    const final = rows.map((row: { external_group: string }) => row.external_group);
    expect(sets.map((set) => JSON.stringify(set))).toContain(JSON.stringify(final));
    const [{ users }] = await sql(`SELECT count(*)::int AS users FROM auth_proxy_users WHERE username = 'shifty'`);
    expect(users).toBe(1);
  });
});
