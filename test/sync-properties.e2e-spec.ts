import fc from 'fast-check';
import { startTestApp, type TestApp } from './support/test-app.js';
import { createTestDatabase, type TestDatabase } from './support/test-database.js';

interface Assertion {
  user: string;
  groups: string[];
  name: string | null;
}

const assertion: fc.Arbitrary<Assertion> = fc.record({
  user: fc.constantFrom('p-ann', 'p-ben', 'P-Ann', 'p-cid'),
  groups: fc.uniqueArray(fc.constantFrom('a', 'b', 'c', 'd', 'cn=x,dc=y'), { maxLength: 4 }),
  name: fc.option(fc.constantFrom('Ann', 'Ben', 'Cid Å'), { nil: null }),
});

/**
 * Property tests of the sync through HTTP, with the identity cache off so every request reaches the database:
 * after any sequence of assertions each user's stored state is the last one asserted, and asserting it again
 * writes nothing.
 */
describe('sync properties', () => {
  let database: TestDatabase;
  let api: TestApp;

  beforeAll(async () => {
    database = await createTestDatabase();
    api = await startTestApp(
      'express',
      { createUnknownUser: true, groupsSeparator: ';', cacheMaxEntries: 0 },
      await database.options(),
    );
  });
  afterAll(async () => {
    await api?.close();
    await database?.close();
  });

  const send = (step: Assertion) =>
    api.request('/me', [
      ['Remote-User', step.user],
      ['Remote-Groups', step.groups.join(';')],
      ...(step.name === null ? [] : ([['Remote-Name', step.name]] as [string, string][])),
    ]);

  const stored = async (username: string) => {
    const [row] = await api.sql(
      `SELECT u.display_name, coalesce(array_agg(eg.external_group ORDER BY eg.external_group) FILTER (WHERE eg.external_group IS NOT NULL), '{}') AS groups
         FROM auth_proxy_users u LEFT JOIN auth_proxy_user_external_groups eg ON eg.user_id = u.id
        WHERE u.username = $1 GROUP BY u.display_name`,
      [username],
    );
    return row as { display_name: string | null; groups: string[] } | undefined;
  };

  it('stores the last assertion of each user, and a repeated assertion writes nothing', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(assertion, { minLength: 1, maxLength: 12 }), async (steps) => {
        const last = new Map<string, Assertion>();
        for (const step of steps) {
          const response = await send(step);
          expect(response.status).toBe(200);
          expect(response.body.username).toBe(step.user.toLowerCase());
          expect(response.body.externalGroups).toEqual([...step.groups].sort());
          last.set(step.user.toLowerCase(), step);
        }
        for (const [username, step] of last) {
          expect(await stored(username)).toEqual({ display_name: step.name, groups: [...step.groups].sort() });
          api.queries.reset();
          expect((await send(step)).status).toBe(200);
          expect(api.queries.writes).toBe(0);
        }
        const [{ duplicates }] = await api.sql(
          `SELECT count(*)::int AS duplicates FROM (SELECT username FROM auth_proxy_users GROUP BY username HAVING count(*) > 1) AS d`,
        );
        expect(duplicates).toBe(0);
      }),
      { numRuns: 25 },
    );
  });
});
