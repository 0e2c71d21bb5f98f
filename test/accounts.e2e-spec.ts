import type { TrustedHeaderOptions } from 'nestjs-trusted-header';
import { ADAPTERS, startTestApp, type TestApp } from './support/test-app.js';
import { createTestDatabase, type TestDatabase } from './support/test-database.js';

/** THREATS 4 (taking over an account) and the sync rules of THREATS 5, over both adapters. */
describe.each(ADAPTERS)('accounts and groups (%s)', (adapter) => {
  let database: TestDatabase;
  let api: TestApp;
  const mainOptions: TrustedHeaderOptions = { createUnknownUser: true, adminGroups: ['idp-admins'] };

  beforeAll(async () => {
    database = await createTestDatabase();
    api = await startTestApp(adapter, mainOptions, await database.options());
  });
  afterAll(async () => {
    await api?.close();
    await database?.close();
  });

  /**
   * Runs `body` against a second app instance with other options on the same database. PGlite serves one
   * session, so there the main instance is stopped meanwhile and started again afterwards.
   */
  async function withOtherApp(options: TrustedHeaderOptions, body: (other: TestApp) => Promise<void>): Promise<void> {
    if (!database.concurrent) await api.close();
    const other = await startTestApp(adapter, options, await database.options());
    try {
      await body(other);
    } finally {
      await other.close();
      if (!database.concurrent) api = await startTestApp(adapter, mainOptions, await database.options());
    }
  }

  const user = async (username: string) =>
    (
      await api.sql(`SELECT id, username, email, display_name, disabled FROM auth_proxy_users WHERE username = $1`, [
        username,
      ])
    )[0];
  const me = (username: string, extra: [string, string][] = []) =>
    api.request('/me', [['Remote-User', username], ...extra]);

  it('answers 401 unknown_user and writes nothing when auto-create is off', async () => {
    await withOtherApp({ createUnknownUser: false }, async (noCreate) => {
      const response = await noCreate.request('/me', [
        ['Remote-User', 'stranger'],
        ['Remote-Groups', 'idp-admins'],
      ]);
      expect(response.status).toBe(401);
      expect(response.body.reason).toBe('unknown_user');
      expect(await noCreate.sql(`SELECT id FROM auth_proxy_users WHERE username = 'stranger'`)).toEqual([]);
    });
    expect(await user('stranger')).toBeUndefined();
  });

  it('lets an existing user in when auto-create is off, and syncs the attributes it asserts', async () => {
    await me(`known-${adapter}`, [['Remote-Email', `known-${adapter}@example.org`]]);
    await withOtherApp({ createUnknownUser: false }, async (noCreate) => {
      const response = await noCreate.request('/me', [
        ['Remote-User', `known-${adapter}`],
        ['Remote-Name', 'Known User'],
      ]);
      expect(response.status).toBe(200);
      expect(response.body.displayName).toBe('Known User');
    });
    // The email header was absent: the stored email stays (only a present value changes it).
    expect(await user(`known-${adapter}`)).toMatchObject({
      display_name: 'Known User',
      email: `known-${adapter}@example.org`,
    });
  });

  it('never links by email: a new user asserting an existing email gets an account without it', async () => {
    const bob = await me('bob-' + adapter, [
      ['Remote-Email', `bob-${adapter}@example.org`],
      ['Remote-Name', 'Bob'],
    ]);
    expect(bob.status).toBe(200);
    const bobBefore = await user('bob-' + adapter);

    const mallory = await me('mallory-' + adapter, [
      ['Remote-Email', `BOB-${adapter}@example.org`],
      ['Remote-Name', 'Bob'],
    ]);
    expect(mallory.status).toBe(200);
    expect(mallory.body.username).toBe('mallory-' + adapter);
    expect(mallory.body.email).toBeNull();
    expect(await user('mallory-' + adapter)).toMatchObject({ email: null });
    expect(await user('bob-' + adapter)).toEqual(bobBefore);
    expect(api.logs.matching('warn', new RegExp(`email_conflict: "mallory-${adapter}"`))).toHaveLength(1);
  });

  it('never takes a held email on a later sync: alone it writes nothing, beside a new name the stored one stays', async () => {
    const held = `held-${adapter}@example.org`;
    const own = `asker-${adapter}@example.org`;
    expect((await me(`holder-${adapter}`, [['Remote-Email', held]])).status).toBe(200);
    expect((await me(`asker-${adapter}`, [['Remote-Email', own]])).status).toBe(200);
    api.queries.reset();
    const alone = await me(`asker-${adapter}`, [['Remote-Email', held]]);
    expect(alone.status).toBe(200);
    expect(alone.body.email).toBe(own);
    expect(api.queries.writes).toBe(0);

    const named = await me(`asker-${adapter}`, [
      ['Remote-Email', held],
      ['Remote-Name', 'Asker'],
    ]);
    expect(named.body).toMatchObject({ email: own, displayName: 'Asker' });
    expect(await user(`asker-${adapter}`)).toMatchObject({ email: own, display_name: 'Asker' });
    expect(await user(`holder-${adapter}`)).toMatchObject({ email: held });
    expect(api.logs.matching('warn', new RegExp(`email_conflict: "asker-${adapter}"`))).toHaveLength(1);
    const events = await api.sql(`SELECT type, details FROM auth_proxy_audit_events WHERE username = $1 ORDER BY id`, [
      `asker-${adapter}`,
    ]);
    expect(events.map((event) => event.type)).toEqual([
      'user_created',
      'user_attributes_changed',
      'user_attributes_changed',
    ]);
    expect(events[2]!.details).toEqual({ changes: { displayName: { from: null, to: 'Asker' } } });
  });

  it('keeps the stored email and name when their headers are absent, and writes nothing for it', async () => {
    const full: [string, string][] = [
      ['Remote-Email', `absent-${adapter}@example.org`],
      ['Remote-Name', 'Absent Person'],
      ['Remote-Groups', 'g1'],
    ];
    expect((await me(`absent-${adapter}`, full)).status).toBe(200);
    // Requests through locations that pass fewer headers: alternating sets, steady state, no write at all.
    api.queries.reset();
    for (let round = 0; round < 3; round += 1) {
      const bare = await me(`absent-${adapter}`, [['Remote-Groups', 'g1']]);
      expect(bare.body).toMatchObject({ email: `absent-${adapter}@example.org`, displayName: 'Absent Person' });
      expect((await me(`absent-${adapter}`, full)).status).toBe(200);
      expect((await me(`absent-${adapter}`, [full[0]!, full[2]!])).status).toBe(200);
    }
    expect(api.queries.writes).toBe(0);
    expect(await user(`absent-${adapter}`)).toMatchObject({
      email: `absent-${adapter}@example.org`,
      display_name: 'Absent Person',
    });
    // An absent groups header is no groups: privileges drop, they never linger.
    const noGroups = await me(`absent-${adapter}`, [full[0]!]);
    expect(noGroups.body.externalGroups).toEqual([]);
  });

  it('never answers from an entry older than a write of the same user: one email, one user', async () => {
    const [a, b] = [`ann-${adapter}`, `ben-${adapter}`];
    const [e1, e2] = [`one-${adapter}@example.org`, `two-${adapter}@example.org`];
    expect((await me(a, [['Remote-Email', e1]])).body.email).toBe(e1);
    expect((await me(a, [['Remote-Email', e2]])).body.email).toBe(e2); // frees e1
    expect((await me(b, [['Remote-Email', e1]])).body.email).toBe(e1); // b takes it
    const again = await me(a, [['Remote-Email', e1]]); // a's first header set, seen before its write
    expect(again.status).toBe(200);
    expect(again.body.email).toBe(e2);
    expect((await user(a))!.email).toBe(e2);
    const holders = await api.sql(`SELECT username FROM auth_proxy_users WHERE email = $1`, [e1]);
    expect(holders).toEqual([{ username: b }]);
  });

  it('keeps a disabled user out even with a valid header: 403 user_disabled', async () => {
    await me('dora-' + adapter);
    await api.sql(`UPDATE auth_proxy_users SET disabled = true WHERE username = $1`, ['dora-' + adapter]);
    api.invalidate();
    const response = await me('dora-' + adapter);
    expect(response.status).toBe(403);
    expect(response.body.reason).toBe('user_disabled');
    const changedHeaders = await me('dora-' + adapter, [['Remote-Groups', 'idp-admins']]);
    expect(changedHeaders.status).toBe(403);
  });

  it('grants nothing for a proxy group that merely shares a local group name', async () => {
    await api.sql(`INSERT INTO auth_proxy_groups (name) VALUES ('reports-${adapter}') ON CONFLICT DO NOTHING`);
    await api.sql(`INSERT INTO auth_proxy_groups (name) VALUES ('reports') ON CONFLICT DO NOTHING`);
    const response = await me('eve-' + adapter, [['Remote-Groups', `reports,reports-${adapter},admin`]]);
    expect(response.status).toBe(200);
    expect(response.body.groups).toEqual([]);
    const reportsRoute = await api.request('/reports', [
      ['Remote-User', 'eve-' + adapter],
      ['Remote-Groups', `reports,reports-${adapter},admin`],
    ]);
    expect(reportsRoute.status).toBe(403);
    expect(reportsRoute.body.reason).toBe('missing_group');
  });

  it('maps external groups to local groups, adds manual grants and the admin bootstrap', async () => {
    const [reports] = await api.sql(`SELECT id FROM auth_proxy_groups WHERE name = 'reports'`);
    const [writers] = await api.sql(`INSERT INTO auth_proxy_groups (name) VALUES ('writers-${adapter}') RETURNING id`);
    await api.sql(`INSERT INTO auth_proxy_group_mappings (external_group, group_id) VALUES ($1, $2)`, [
      `cn=analysts-${adapter},ou=groups,dc=example,dc=org`,
      reports.id,
    ]);

    const carol = `carol-${adapter}`;
    const groups: [string, string] = ['Remote-Groups', `cn=analysts-${adapter},ou=groups,dc=example,dc=org;other`];
    const first = await api.request('/me', [['Remote-User', carol], groups]);
    expect(first.status).toBe(200);
    // ',' is the separator, so the DN is split: no mapping applies.
    expect(first.body.groups).toEqual([]);

    await withOtherApp({ createUnknownUser: true, groupsSeparator: ';' }, async (semicolonApp) => {
      const mapped = await semicolonApp.request('/me', [['Remote-User', carol], groups]);
      expect(mapped.body.groups).toEqual(['reports']);
      expect(mapped.body.externalGroups).toEqual([`cn=analysts-${adapter},ou=groups,dc=example,dc=org`, 'other']);
      const reportsRoute = await semicolonApp.request('/reports', [['Remote-User', carol], groups]);
      expect(reportsRoute.status).toBe(200);

      const [{ id }] = await semicolonApp.sql(`SELECT id FROM auth_proxy_users WHERE username = $1`, [carol]);
      await semicolonApp.sql(`INSERT INTO auth_proxy_user_groups (user_id, group_id) VALUES ($1, $2)`, [
        id,
        writers.id,
      ]);
      semicolonApp.invalidate();
      const granted = await semicolonApp.request('/me', [['Remote-User', carol], groups]);
      expect(granted.body.groups).toEqual(['reports', `writers-${adapter}`]);

      // The proxy stops asserting the group: the mapping no longer applies, the manual grant stays.
      const removed = await semicolonApp.request('/me', [
        ['Remote-User', carol],
        ['Remote-Groups', 'other'],
      ]);
      expect(removed.body.groups).toEqual([`writers-${adapter}`]);
      const grants = await semicolonApp.sql(
        `SELECT count(*)::int AS n FROM auth_proxy_user_groups WHERE user_id = $1`,
        [id],
      );
      expect(grants[0].n).toBe(1);
    });

    const admin = await me(`root-${adapter}`, [['Remote-Groups', 'idp-admins']]);
    expect(admin.body.groups).toEqual(['admin']);
    expect(
      (
        await api.request('/reports', [
          ['Remote-User', `root-${adapter}`],
          ['Remote-Groups', 'idp-admins'],
        ])
      ).status,
    ).toBe(200);
  });

  it('applies a changed header on the very next request: the cache is keyed on every synced value', async () => {
    const name = `frank-${adapter}`;
    expect(
      (
        await me(name, [
          ['Remote-Groups', 'a,b'],
          ['Remote-Name', 'Frank'],
        ])
      ).body.externalGroups,
    ).toEqual(['a', 'b']);
    const next = await me(name, [
      ['Remote-Groups', 'a'],
      ['Remote-Name', 'Franklin'],
      ['Remote-Email', `frank-${adapter}@example.org`],
    ]);
    expect(next.body).toMatchObject({
      externalGroups: ['a'],
      displayName: 'Franklin',
      email: `frank-${adapter}@example.org`,
    });
    const rows = await api.sql(
      `SELECT eg.external_group FROM auth_proxy_user_external_groups eg JOIN auth_proxy_users u ON u.id = eg.user_id WHERE u.username = $1`,
      [name],
    );
    expect(rows.map((row) => row.external_group)).toEqual(['a']);
    expect(await user(name)).toMatchObject({ display_name: 'Franklin', email: `frank-${adapter}@example.org` });
  });

  it('costs no database round-trip, let alone a write, in steady state', async () => {
    const headers: [string, string][] = [
      ['Remote-Groups', 'a,b'],
      ['Remote-Email', `steady-${adapter}@example.org`],
    ];
    await me(`steady-${adapter}`, headers);
    api.queries.reset();
    for (let i = 0; i < 20; i += 1) expect((await me(`steady-${adapter}`, headers)).status).toBe(200);
    expect(api.queries.queries).toEqual([]);
  });

  it('after the TTL re-reads the user but writes nothing when nothing changed', async () => {
    await withOtherApp({ createUnknownUser: true, syncTtlSeconds: 1 }, async (shortTtl) => {
      const headers: [string, string][] = [
        ['Remote-User', `ttl-${adapter}`],
        ['Remote-Groups', 'x'],
      ];
      await shortTtl.request('/me', headers);
      const [before] = await shortTtl.sql(`SELECT xmin::text AS version FROM auth_proxy_users WHERE username = $1`, [
        `ttl-${adapter}`,
      ]);
      await new Promise((resolve) => setTimeout(resolve, 1200));
      shortTtl.queries.reset();
      expect((await shortTtl.request('/me', headers)).status).toBe(200);
      expect(shortTtl.queries.queries.length).toBeGreaterThan(0);
      expect(shortTtl.queries.writes).toBe(0);
      const [after] = await shortTtl.sql(`SELECT xmin::text AS version FROM auth_proxy_users WHERE username = $1`, [
        `ttl-${adapter}`,
      ]);
      expect(after.version).toBe(before.version);
    });
  });
});
