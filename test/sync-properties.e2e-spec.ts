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
 * Property tests of the sync through HTTP, against an oracle that replays the rules: after any sequence of
 * assertions each user's stored groups are the last ones asserted and the stored display name is the last one
 * present (an absent header keeps it); asserting the same again, with or without the name header, writes
 * nothing. Run with the identity cache off (every request reaches the database) and on (a cached variant of an
 * earlier header set must never answer after a write: a user asserting g1,g2 then g1 then g1,g2 again is synced
 * three times, and what the request carries is what the database holds).
 */
describe.each([
  ['cache off', 0],
  ['cache on', 10_000],
])('sync properties (%s)', (_title, cacheMaxEntries) => {
  let database: TestDatabase;
  let api: TestApp;

  beforeAll(async () => {
    database = await createTestDatabase();
    api = await startTestApp(
      'express',
      { createUnknownUser: true, groupsSeparator: ';', cacheMaxEntries },
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

  it('stores the last groups and the last present name of each user; repeating it writes nothing', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(assertion, { minLength: 1, maxLength: 12 }), async (steps) => {
        await api.sql(`DELETE FROM auth_proxy_users WHERE username LIKE 'p-%'`);
        api.invalidate();
        const last = new Map<string, Assertion>();
        const lastName = new Map<string, string | null>();
        for (const step of steps) {
          const username = step.user.toLowerCase();
          const response = await send(step);
          expect(response.status).toBe(200);
          expect(response.body.username).toBe(username);
          expect(response.body.externalGroups).toEqual([...step.groups].sort());
          last.set(username, step);
          if (step.name !== null) lastName.set(username, step.name);
          const expected = { display_name: lastName.get(username) ?? null, groups: [...step.groups].sort() };
          expect(await stored(username)).toEqual(expected);
          expect(response.body.displayName).toBe(expected.display_name);
        }
        for (const [username, step] of last) {
          api.queries.reset();
          expect((await send(step)).status).toBe(200);
          expect((await send({ ...step, name: null })).status).toBe(200);
          expect((await send(step)).status).toBe(200);
          expect(api.queries.writes).toBe(0);
          expect(await stored(username)).toEqual({
            display_name: lastName.get(username) ?? null,
            groups: [...step.groups].sort(),
          });
        }
        const [{ duplicates }] = await api.sql(
          `SELECT count(*)::int AS duplicates FROM (SELECT username FROM auth_proxy_users GROUP BY username HAVING count(*) > 1) AS d`,
        );
        expect(duplicates).toBe(0);
      }),
      { numRuns: 25 },
    );
  });

  it('answers g1,g2 then g1 then g1,g2 from the database each time, not from an earlier entry', async () => {
    for (const groups of [['g1', 'g2'], ['g1'], ['g1', 'g2'], ['g1']]) {
      const response = await send({ user: 'p-stale', groups, name: null });
      expect(response.body.externalGroups).toEqual(groups);
      expect((await stored('p-stale'))?.groups).toEqual(groups);
    }
  });
});
