import pg from 'pg';
import type { TrustedHeaderOptions } from 'nestjs-trusted-header';
import { ADAPTERS, startTestApp, type TestApp } from './support/test-app.js';
import { TcpRelay } from './support/tcp-relay.js';
import { createTestDatabase, describeWithConcurrentDatabase, type TestDatabase } from './support/test-database.js';

/**
 * A fresh database, a TCP relay in front of it (to cut or stall the network), and the app on it for one describe
 * block, with a 500 ms bound on the database. Read `api`, `relay` and `database` inside tests.
 */
function useRelayedApp(adapter: (typeof ADAPTERS)[number], options: TrustedHeaderOptions) {
  const state: { database?: TestDatabase; relay?: TcpRelay; api?: TestApp } = {};
  beforeAll(async () => {
    state.database = await createTestDatabase();
    const { relay, url: viaRelay } = await TcpRelay.inFrontOf(state.database.url!);
    state.relay = relay;
    state.api = await startTestApp(
      adapter,
      { createUnknownUser: true, databaseTimeoutMs: 500, ...options },
      await state.database.options({ url: viaRelay, timeoutMs: 500 }),
    );
  });
  // A test that fails while the network is cut must not leave the next one without a database.
  afterEach(() => state.relay?.restore());
  afterAll(async () => {
    state.relay?.restore();
    await state.api?.close();
    await state.relay?.stop();
    await state.database?.close();
  });
  return state as Required<typeof state>;
}

/** THREATS 6 (failing): the database goes away or hangs mid-traffic, then comes back. */
describeWithConcurrentDatabase('database outage', () => {
  describe.each(ADAPTERS)('%s', (adapter) => {
    const context = useRelayedApp(adapter, {});
    let relay: TcpRelay;
    let api: TestApp;
    beforeAll(() => ({ relay, api } = context));

    const users = async () => {
      relay.restore();
      return (await api.sql(`SELECT username, sync_fingerprint FROM auth_proxy_users ORDER BY username`)) as {
        username: string;
        sync_fingerprint: string | null;
      }[];
    };

    it('answers 503 database_unavailable while the database is unreachable, then recovers without a restart', async () => {
      expect((await api.request('/me', [['Remote-User', 'before-cut']])).status).toBe(200);
      relay.cut();
      for (const name of ['during-cut-1', 'during-cut-2']) {
        const response = await api.request('/me', [
          ['Remote-User', name],
          ['Remote-Groups', 'g1,g2'],
        ]);
        expect(response.status).toBe(503);
        expect(response.body).toEqual({ statusCode: 503, message: expect.any(String), reason: 'database_unavailable' });
      }
      const health = await api.request('/health');
      expect(health.status).toBe(503);
      expect(health.body.reason).toBe('database_unavailable');

      relay.restore();
      const recovered = await api.request('/me', [
        ['Remote-User', 'after-cut'],
        ['Remote-Groups', 'g1'],
      ]);
      expect(recovered.status).toBe(200);
      expect((await api.request('/health')).status).toBe(200);
      expect(api.logs.matching('error', /database_unavailable/).length).toBeGreaterThan(0);
    });

    it('answers 503 when the database hangs (timeout), never 500 and never anonymous access', async () => {
      relay.stall();
      const responses = await Promise.all(
        ['hang-1', 'hang-2', 'hang-3'].map((name) => api.request('/me', [['Remote-User', name]])),
      );
      expect(responses.map((response) => response.status)).toEqual([503, 503, 503]);
      const reports = await api.request('/reports', [
        ['Remote-User', 'hang-4'],
        ['Remote-Groups', 'reports'],
      ]);
      expect(reports.status).toBe(503);
      // The network comes back with the held bytes: the pool must recover on its own, nothing is cut.
      relay.restore();
      const recovered = await api.request('/me', [['Remote-User', 'after-hang']]);
      expect(recovered.status).toBe(200);
    });

    it('leaves no partial rows: every user written is complete, none from the failed requests', async () => {
      const rows = await users();
      expect(rows.map((row) => row.username)).toEqual(
        expect.arrayContaining(['after-cut', 'after-hang', 'before-cut']),
      );
      expect(rows.every((row) => row.sync_fingerprint !== null)).toBe(true);
      expect(rows.map((row) => row.username)).not.toContain('during-cut-1');
      const memberships = await api.sql(
        `SELECT u.username, array_agg(eg.external_group ORDER BY eg.external_group) AS groups
           FROM auth_proxy_users u LEFT JOIN auth_proxy_user_external_groups eg ON eg.user_id = u.id
          GROUP BY u.username`,
      );
      const after = memberships.find((row: { username: string }) => row.username === 'after-cut');
      expect(after.groups).toEqual(['g1']);
    });
  });
});

describeWithConcurrentDatabase('a stall in the middle of a sync transaction', () => {
  let database: TestDatabase;
  let relay: TcpRelay;
  let api: TestApp;
  let locker: pg.Client;

  beforeAll(async () => {
    database = await createTestDatabase();
    let viaRelay: string;
    ({ relay, url: viaRelay } = await TcpRelay.inFrontOf(database.url!));
    // One connection, so the request after the stall gets the very connection the stalled one used.
    api = await startTestApp(
      'express',
      { createUnknownUser: true, databaseTimeoutMs: 400 },
      await database.options({ url: viaRelay, timeoutMs: 400, poolSize: 1 }),
    );
    locker = new pg.Client({ connectionString: database.url });
    await locker.connect();
  });
  afterAll(async () => {
    relay?.restore();
    await locker?.end();
    await api?.close();
    await relay?.stop();
    await database?.close();
  });

  it('never hands a connection left inside a transaction to the next request (no half-written user)', async () => {
    expect(
      (
        await api.request('/me', [
          ['Remote-User', 'halfway'],
          ['Remote-Groups', 'a'],
        ])
      ).status,
    ).toBe(200);
    const [before] = await api.sql(`SELECT id, sync_fingerprint FROM auth_proxy_users WHERE username = 'halfway'`);

    // Hold the user's membership rows so the sync blocks between its UPDATE and its DELETE.
    await locker.query('BEGIN');
    await locker.query(`SELECT * FROM auth_proxy_user_external_groups WHERE user_id = $1 FOR UPDATE`, [before.id]);
    const stalled = api.request('/me', [
      ['Remote-User', 'halfway'],
      ['Remote-Groups', 'b'],
    ]);
    await new Promise((resolve) => setTimeout(resolve, 150));
    relay.stall();
    await locker.query('COMMIT'); // the server finishes the DELETE; its answer is held by the stalled network
    expect((await stalled).status).toBe(503);
    await new Promise((resolve) => setTimeout(resolve, 1000)); // the queued ROLLBACK times out as well
    relay.restore();

    const next = await api.request('/me', [
      ['Remote-User', 'someone-else'],
      ['Remote-Groups', 'x'],
    ]);
    expect(next.status).toBe(200);

    const [after] = await (async () => {
      const client = new pg.Client({ connectionString: database.url });
      await client.connect();
      try {
        const result = await client.query(
          `SELECT u.sync_fingerprint, array_agg(eg.external_group ORDER BY eg.external_group) AS groups
             FROM auth_proxy_users u LEFT JOIN auth_proxy_user_external_groups eg ON eg.user_id = u.id
            WHERE u.username = 'halfway' GROUP BY u.sync_fingerprint`,
        );
        return result.rows;
      } finally {
        await client.end();
      }
    })();
    // Either the whole change (fingerprint and memberships of b) or none of it.
    if (after.sync_fingerprint === before.sync_fingerprint) {
      expect(after.groups).toEqual(['a']);
    } else {
      expect(after.groups).toEqual(['b']);
    }
    const again = await api.request('/me', [
      ['Remote-User', 'halfway'],
      ['Remote-Groups', 'b'],
    ]);
    expect(again.status).toBe(200);
    expect(again.body.externalGroups).toEqual(['b']);
  });
});

describeWithConcurrentDatabase('pool exhaustion', () => {
  let database: TestDatabase;
  let api: TestApp;
  let locker: pg.Client;

  beforeAll(async () => {
    database = await createTestDatabase();
    api = await startTestApp(
      'express',
      { createUnknownUser: true, databaseTimeoutMs: 500 },
      await database.options({ timeoutMs: 500, poolSize: 2 }),
    );
    locker = new pg.Client({ connectionString: database.url });
    await locker.connect();
  });
  afterAll(async () => {
    await locker?.end();
    await api?.close();
    await database?.close();
  });

  it('bounds the wait for a connection and says why, then recovers when connections come back', async () => {
    expect((await api.request('/me', [['Remote-User', 'hot']])).status).toBe(200);
    expect((await api.request('/me', [['Remote-User', 'warm']])).status).toBe(200);
    // Hold both users' rows: a sync of a changed identity waits on the lock and holds a connection. One user's
    // syncs run one after another, so one held row pins one connection, however many requests queue behind it.
    await locker.query('BEGIN');
    await locker.query(`SELECT * FROM auth_proxy_users WHERE username IN ('hot', 'warm') FOR UPDATE`);
    const blocked = [
      ['hot', 'a'],
      ['hot', 'b'],
      ['hot', 'c'],
      ['warm', 'd'],
      ['warm', 'e'],
    ].map(([user, group]) =>
      api.request('/me', [
        ['Remote-User', user!],
        ['Remote-Groups', group!],
      ]),
    );
    // Wait until both pooled connections are stuck on the lock, so the bystander finds the pool empty.
    // (pg_stat_activity is a snapshot per transaction: clear it on every look.)
    const deadline = Date.now() + 5_000;
    for (let waiting = 0; waiting < 2;) {
      if (Date.now() > deadline) throw new Error('the blocked requests never waited on the lock');
      await locker.query('SELECT pg_stat_clear_snapshot()');
      const { rows } = await locker.query(
        `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`,
      );
      waiting = rows[0].n;
    }
    const bystander = await api.request('/me', [
      ['Remote-User', 'cold'],
      ['Remote-Groups', 'x'],
    ]);
    const responses = await Promise.all(blocked);
    await locker.query('ROLLBACK');

    for (const response of [...responses, bystander]) {
      expect(response.status).toBe(503);
      expect(response.body).toEqual({ statusCode: 503, message: expect.any(String), reason: 'database_unavailable' });
    }
    // Connections come back: the next requests work without a restart.
    expect(
      (
        await api.request('/me', [
          ['Remote-User', 'cold'],
          ['Remote-Groups', 'x'],
        ])
      ).status,
    ).toBe(200);
    expect(
      (
        await api.request('/me', [
          ['Remote-User', 'hot'],
          ['Remote-Groups', 'a'],
        ])
      ).status,
    ).toBe(200);
  });
});

/** THREATS 6 and 9: sessions while the database is away. A session is never guessed alive, nor ended silently. */
describeWithConcurrentDatabase('database outage with persistent sessions', () => {
  describe.each(ADAPTERS)('%s', (adapter) => {
    const context = useRelayedApp(adapter, { session: 'persistent', sessionCookieSecure: false });
    let relay: TcpRelay;
    let api: TestApp;
    beforeAll(() => ({ relay, api } = context));

    const cookieOf = (response: { headerLines?: [string, string][] }) =>
      (response.headerLines ?? [])
        .filter(([name]) => name.toLowerCase() === 'set-cookie')
        .map(([, value]) => value.split(';')[0]!)
        .find(
          (value) => value.startsWith('trusted_header_session=') && value.length > 'trusted_header_session='.length,
        );

    it('a session that must be read answers 503 while the database is away, and works again after', async () => {
      const login = await api.request('/me', [['Remote-User', 'session-outage']]);
      expect(login.status).toBe(200);
      const cookie = cookieOf(login)!;
      expect(cookie).toBeDefined();
      expect((await api.request('/me', [['Cookie', cookie]])).status).toBe(200);

      // Cached: the session is answered from memory while the database is away.
      relay.cut();
      expect((await api.request('/me', [['Cookie', cookie]])).status).toBe(200);
      // Not cached: it must be read, and the answer is 503, never a login and never "unknown session".
      api.invalidate();
      const unread = await api.request('/me', [['Cookie', cookie]]);
      expect(unread.status).toBe(503);
      expect(unread.body.reason).toBe('database_unavailable');
      expect(unread.headers['set-cookie']).toBeUndefined();
      // A new login cannot start a session: 503, and no cookie handed out for a session that was never stored.
      const newLogin = await api.request('/me', [['Remote-User', 'session-outage-2']]);
      expect(newLogin.status).toBe(503);
      expect(cookieOf(newLogin)).toBeUndefined();

      relay.restore();
      expect((await api.request('/me', [['Cookie', cookie]])).body.username).toBe('session-outage');
    });

    it('a logout that cannot end the session says so (503) and keeps the cookie, so a retry ends it', async () => {
      const login = await api.request('/me', [['Remote-User', 'logout-outage']]);
      const cookie = cookieOf(login)!;
      relay.cut();
      const failed = await api.request('/auth/logout', [['Cookie', cookie]], { method: 'POST' });
      expect(failed.status).toBe(503);
      expect(failed.body.reason).toBe('database_unavailable');
      expect(failed.headers['set-cookie']).toBeUndefined();
      relay.restore();
      expect((await api.request('/me', [['Cookie', cookie]])).status).toBe(200);
      expect((await api.request('/auth/logout', [['Cookie', cookie]], { method: 'POST' })).status).toBe(204);
      expect((await api.request('/me', [['Cookie', cookie]])).body.reason).toBe('invalid_session');
    });
  });
});
