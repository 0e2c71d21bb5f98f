import { ADAPTERS, startTestApp, type TestApp } from './support/test-app.js';
import { createTestDatabase, describeWithConcurrentDatabase, type TestDatabase } from './support/test-database.js';

const USERS = 1_000;
const REQUESTS = 10_000;
const CONCURRENCY = 50;
const GROUP_SETS = ['staff', 'staff,finance', 'finance,ops', ''];

/**
 * A bounded load test against PostgreSQL: 10,000 requests over 1,000 users, half of them new, spread over two
 * instances (Express and Fastify) on one database, with group sets that change between requests.
 */
describeWithConcurrentDatabase('load: 10,000 requests over 1,000 users, half of them new', () => {
  let database: TestDatabase;
  const apps: TestApp[] = [];

  beforeAll(async () => {
    database = await createTestDatabase();
    for (const adapter of ADAPTERS) {
      // Generous time bounds: this test is about duplicates and 5xx under concurrency, not latency (the bounds
      // themselves are tested in outage.e2e-spec.ts), and a starved CI machine must not turn waits into 503s.
      apps.push(
        await startTestApp(
          adapter,
          { createUnknownUser: true, databaseTimeoutMs: 30_000 },
          await database.options({ poolSize: 10, timeoutMs: 30_000 }),
        ),
      );
    }
  });
  afterAll(async () => {
    for (const app of apps) await app.close();
    await database?.close();
  });

  const send = async (i: number, user: number): Promise<number> => {
    const app = apps[i % apps.length]!;
    const response = await fetch(`http://127.0.0.1:${app.port}/me`, {
      headers: {
        'Remote-User': `load-${user}`,
        'Remote-Email': `load-${user}@example.org`,
        'Remote-Groups': GROUP_SETS[(i + user) % GROUP_SETS.length]!,
      },
    });
    await response.arrayBuffer();
    return response.status;
  };

  async function drive(count: number, userOf: (i: number) => number): Promise<Map<number, number>> {
    const statuses = new Map<number, number>();
    let next = 0;
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < count) {
          const i = next++;
          const status = await send(i, userOf(i)).catch(() => 0);
          statuses.set(status, (statuses.get(status) ?? 0) + 1);
        }
      }),
    );
    return statuses;
  }

  it('answers every request without a 5xx and leaves no duplicate user or membership', async () => {
    // Half the users exist before the load starts.
    const warmup = await drive(USERS / 2, (i) => i);
    expect(Object.fromEntries(warmup)).toEqual({ 200: USERS / 2 });

    // Then 10,000 requests, spread over all 1,000 users: the other half log in for the first time under load.
    const statuses = await drive(REQUESTS, (i) => (i * 7919) % USERS);
    expect(Object.fromEntries(statuses)).toEqual({ 200: REQUESTS });

    const [{ users, distinct }] = await apps[0]!.sql(
      `SELECT count(*)::int AS users, count(DISTINCT username)::int AS distinct FROM auth_proxy_users WHERE username LIKE 'load-%'`,
    );
    expect({ users, distinct }).toEqual({ users: USERS, distinct: USERS });
    const duplicateMemberships = await apps[0]!.sql(
      `SELECT user_id, external_group FROM auth_proxy_user_external_groups GROUP BY 1, 2 HAVING count(*) > 1`,
    );
    expect(duplicateMemberships).toEqual([]);
    const [{ emails }] = await apps[0]!.sql(
      `SELECT count(*)::int AS emails FROM auth_proxy_users WHERE username LIKE 'load-%' AND email = username || '@example.org'`,
    );
    expect(emails).toBe(USERS);
    // Every user's stored groups are one of the sets it asserted, never a mixture.
    const memberships = await apps[0]!.sql(
      `SELECT u.username, coalesce(string_agg(eg.external_group, ',' ORDER BY eg.external_group), '') AS groups
         FROM auth_proxy_users u LEFT JOIN auth_proxy_user_external_groups eg ON eg.user_id = u.id
        WHERE u.username LIKE 'load-%' GROUP BY u.username`,
    );
    const allowed = new Set(GROUP_SETS.map((set) => set.split(',').filter(Boolean).sort().join(',')));
    expect(memberships.filter((row: { groups: string }) => !allowed.has(row.groups))).toEqual([]);
  }, 300_000);
});
