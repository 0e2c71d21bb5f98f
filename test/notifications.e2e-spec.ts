import { ChangeListener } from 'nestjs-trusted-header/building-blocks';
import pg from 'pg';
import { openDatabase } from '../apps/reference-app/src/database/open-database.js';
import type { HttpAdapterName } from '../apps/reference-app/src/config/app-config.js';
import { freePort } from './support/free-port.js';
import type { RawResponse } from './support/raw-request.js';
import { identity, SESSION_COOKIE, sessionTokenOf, type Header } from './support/session-requests.js';
import { startTestApp, type TestApp } from './support/test-app.js';
import { createTestDatabase, describeWithConcurrentDatabase, type TestDatabase } from './support/test-database.js';

/** A change must show on the other instance within this; the cache TTL is an hour, so only a notice explains it. */
const PROPAGATION_BOUND_MS = 1000;
/** How long a poll goes on before the test gives up (beyond the bound, so a failure shows how late it was). */
const POLL_GIVE_UP_MS = 3000;

const jsonHeaders = (body: object | undefined): Header[] =>
  body === undefined
    ? []
    : [
        ['Content-Type', 'application/json'],
        ['Content-Length', String(Buffer.byteLength(JSON.stringify(body)))],
      ];
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls every 50 ms until `done` holds; returns how long that took, or fails after POLL_GIVE_UP_MS. */
async function timeUntil(done: () => Promise<boolean>): Promise<number> {
  const start = performance.now();
  for (;;) {
    if (await done()) return performance.now() - start;
    if (performance.now() - start > POLL_GIVE_UP_MS) throw new Error(`not seen within ${POLL_GIVE_UP_MS} ms`);
    await sleep(50);
  }
}

async function waitFor(condition: () => boolean, what: string, ms = 10_000): Promise<void> {
  const start = Date.now();
  while (!condition()) {
    if (Date.now() - start > ms) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

const OPTIONS = {
  createUnknownUser: true,
  adminGroups: ['idp-admins'],
  // An hour: within a test, nothing but a notice can make an instance read a cached user again.
  syncTtlSeconds: 3600,
  session: 'persistent' as const,
};

/**
 * THREATS 11 (many instances): two instances on one PostgreSQL database, each with its cache. A change made
 * through one is seen by the other within a second, through LISTEN/NOTIFY; a forged notice only costs a re-read;
 * a lost listener reconnects and drops everything.
 */
describeWithConcurrentDatabase('change notifications across instances', () => {
  const pairs: [HttpAdapterName, HttpAdapterName][] = [
    ['express', 'fastify'],
    ['fastify', 'express'],
  ];

  describe.each(pairs)('A on %s, B on %s', (adapterA, adapterB) => {
    let database: TestDatabase;
    let a: TestApp;
    let b: TestApp;
    let sql: pg.Client;
    const root = identity(`root-${adapterA}`, 'idp-admins');

    beforeAll(async () => {
      database = await createTestDatabase();
      // A listens through AUTH_PROXY_NOTIFY_URL, B through the DataSource's own options.
      a = await startTestApp(adapterA, { ...OPTIONS, notifyUrl: database.url }, await database.options());
      b = await startTestApp(adapterB, OPTIONS, await database.options());
      sql = new pg.Client({ connectionString: database.url });
      await sql.connect();
      await waitFor(() => listenerOf(a).connected && listenerOf(b).connected, 'both listeners');
      expect((await a.request('/me', root)).status).toBe(200);
    });
    afterAll(async () => {
      await sql?.end();
      await a?.close();
      await b?.close();
      await database?.close();
    });

    const listenerOf = (api: TestApp) => api.app.get(ChangeListener);
    const userId = async (username: string): Promise<string> =>
      (await sql.query(`SELECT id FROM auth_proxy_users WHERE username = $1`, [username])).rows[0].id;
    const adminCall = (method: string, path: string, body?: object) =>
      a.request(path, [...root, ...jsonHeaders(body)], { method, body: body ? JSON.stringify(body) : undefined });
    /**
     * A browser behind the proxy: the identity headers and the session cookie of its first login, so that B
     * answers it from memory (a request without the cookie would start a session, which reads the database).
     */
    const browserOn = async (api: TestApp, name: string, groups = '') => {
      const token = sessionTokenOf(await api.request('/me', identity(name, groups)));
      return () => api.request('/me', [...identity(name, groups), ['Cookie', `${SESSION_COOKIE}=${token}`]]);
    };
    const expectOk = (response: RawResponse, status = 200) => {
      if (response.status !== status) throw new Error(`${response.status} ${response.text}`);
    };

    it('serves a user from memory for the whole TTL when a change is made without a notice', async () => {
      const quiet = await browserOn(b, `quiet-${adapterB}`);
      expectOk(await quiet());
      await sql.query(`UPDATE auth_proxy_users SET disabled = true WHERE username = $1`, [`quiet-${adapterB}`]);
      await sleep(300);
      expect((await quiet()).status).toBe(200);
    });

    it('a user disabled through A is refused by B within a second', async () => {
      const name = `dora-${adapterB}`;
      const dora = await browserOn(b, name);
      expectOk(await dora());
      expectOk(await adminCall('POST', `/admin/users/${await userId(name)}/disable`, {}));
      const elapsed = await timeUntil(async () => (await dora()).status !== 200);
      const refused = await dora();
      expect({ status: refused.status, reason: refused.body.reason }).toEqual({ status: 403, reason: 'user_disabled' });
      expect(elapsed).toBeLessThan(PROPAGATION_BOUND_MS);

      // And enabled again: B lets the user in as soon as it hears of it.
      expectOk(await adminCall('POST', `/admin/users/${await userId(name)}/enable`, {}));
      expect(await timeUntil(async () => (await b.request('/me', identity(name))).status === 200)).toBeLessThan(
        PROPAGATION_BOUND_MS,
      );
    });

    it('a mapping created on A shows in the groups of B’s next request within a second', async () => {
      const name = `mona-${adapterB}`;
      const group = `readers-${adapterB}`;
      const mona = await browserOn(b, name, `idp-staff-${adapterB}`);
      expect((await mona()).body.groups).toEqual([]);
      expectOk(await adminCall('POST', '/admin/groups', { name: group }), 201);
      expectOk(
        await adminCall('POST', '/admin/group-mappings', { externalGroup: `idp-staff-${adapterB}`, group }),
        201,
      );
      const elapsed = await timeUntil(async () => {
        const me = await mona();
        return me.body.groups?.includes(group) === true;
      });
      expect(elapsed).toBeLessThan(PROPAGATION_BOUND_MS);
    });

    it('a user that a login on A rewrote (new email and groups) shows so in B’s sessions within a second', async () => {
      const name = `sync-${adapterB}`;
      const token = sessionTokenOf(await b.request('/me', identity(name, 'old-group')));
      const cookie: Header[] = [['Cookie', `${SESSION_COOKIE}=${token}`]];
      expect((await b.request('/me', cookie)).body).toMatchObject({ email: null, externalGroups: ['old-group'] });
      const rewrite = await a.request('/me', [...identity(name, 'new-group'), ['Remote-Email', `${name}@example.org`]]);
      expectOk(rewrite);
      const elapsed = await timeUntil(async () => {
        const me = await b.request('/me', cookie);
        return me.body.email === `${name}@example.org`;
      });
      expect((await b.request('/me', cookie)).body.externalGroups).toEqual(['new-group']);
      expect(elapsed).toBeLessThan(PROPAGATION_BOUND_MS);
    });

    it('sessions revoked through A (admin) and ended on A (logout) are refused by B', async () => {
      const name = `sam-${adapterB}`;
      const token = sessionTokenOf(await b.request('/me', identity(name)));
      const cookie: Header[] = [['Cookie', `${SESSION_COOKIE}=${token}`]];
      expectOk(await b.request('/me', cookie));
      expectOk(await b.request('/me', cookie));
      expectOk(await adminCall('DELETE', `/admin/users/${await userId(name)}/sessions`), 200);
      const elapsed = await timeUntil(async () => (await b.request('/me', cookie)).status === 401);
      expect(elapsed).toBeLessThan(PROPAGATION_BOUND_MS);

      const again = sessionTokenOf(await b.request('/me', identity(name)));
      const second: Header[] = [['Cookie', `${SESSION_COOKIE}=${again}`]];
      expectOk(await b.request('/me', second));
      const logout = await a.request('/auth/logout', second, { method: 'POST' });
      expect(logout.status).toBe(204);
      expect(await timeUntil(async () => (await b.request('/me', second)).status === 401)).toBeLessThan(
        PROPAGATION_BOUND_MS,
      );
    });

    it('a forged notice from another role only makes B read the database again; it grants nothing', async () => {
      const name = `fred-${adapterB}`;
      const fred = await browserOn(b, name, 'idp-staff-none');
      const before = await fred();
      expect(before.body).toMatchObject({ groups: [], isAdmin: false });
      const id = await userId(name);
      const role = `th_forger_${process.pid}_${adapterB}`;
      await sql.query(`CREATE ROLE ${role} LOGIN PASSWORD 'forger'`);
      const forger = new pg.Client({ connectionString: database.url, user: role, password: 'forger' });
      try {
        await forger.connect();
        for (const payload of [
          'garbage',
          `{"user":"${id}","groups":["admin"],"isAdmin":true}`,
          '{"all":true,"grant":"admin"}',
          `{"user":"${id}"}`,
          'x'.repeat(7000),
        ]) {
          const heard = listenerOf(b).notifications;
          b.queries.reset();
          await forger.query(`SELECT pg_notify('trusted_header_changes', $1)`, [payload]);
          await waitFor(() => listenerOf(b).notifications > heard, 'the forged notice');
          // Notices are applied in batches, at most one pass every 25 ms (change-invalidation.service.ts).
          await new Promise((resolve) => setTimeout(resolve, 100));
          const after = await fred();
          expect(after.status).toBe(200);
          expect(after.body).toMatchObject({ id, groups: [], externalGroups: ['idp-staff-none'], isAdmin: false });
          // The notice dropped the cached user: the request read it again.
          expect(b.queries.queries.some((query) => /FROM auth_proxy_users/i.test(query))).toBe(true);
          expect(b.queries.writes).toBe(0);
        }
        expect(b.logs.matching('warn', /change notifications: unexpected payload/).length).toBeGreaterThan(0);
      } finally {
        await forger.end().catch(() => undefined);
        await sql.query(`DROP ROLE IF EXISTS ${role}`);
      }
    });

    it('a killed listener connection reconnects, drops the cache, and changes propagate again', async () => {
      const name = `kim-${adapterB}`;
      const kim = await browserOn(b, name);
      expectOk(await kim());
      const reconnectsBefore = listenerOf(b).reconnects;
      const { rows } = await sql.query(
        `SELECT pg_terminate_backend(pid) AS killed FROM pg_stat_activity
          WHERE application_name = 'trusted-header-listener' AND datname = current_database()`,
      );
      expect(rows.length).toBe(2);
      await waitFor(() => listenerOf(b).reconnects > reconnectsBefore && listenerOf(b).connected, 'the reconnect');
      await waitFor(() => listenerOf(a).connected, 'A listening again');
      expect(b.logs.matching('warn', /change notifications: listener connection lost/).length).toBeGreaterThan(0);
      expect(b.logs.matching('warn', /change notifications: listening again/).length).toBeGreaterThan(0);

      // Flushed: the cached user is read again.
      b.queries.reset();
      expectOk(await kim());
      expect(b.queries.queries.some((query) => /FROM auth_proxy_users/i.test(query))).toBe(true);

      expectOk(await kim());
      expectOk(await adminCall('POST', `/admin/users/${await userId(name)}/disable`, {}));
      const elapsed = await timeUntil(async () => (await kim()).status === 403);
      expect(elapsed).toBeLessThan(PROPAGATION_BOUND_MS);
    });
  });

  it('starts, and answers, while AUTH_PROXY_NOTIFY_URL cannot be reached; retries in the background', async () => {
    const database = await createTestDatabase();
    const port = await freePort();
    const api = await startTestApp(
      'express',
      { ...OPTIONS, notifyUrl: `postgres://postgres:s3cret-pw@127.0.0.1:${port}/postgres` },
      await database.options(),
    );
    try {
      expect((await api.request('/me', identity('nora'))).status).toBe(200);
      await waitFor(() => api.logs.matching('warn', /change notifications: cannot listen/).length > 0, 'the warning');
      const listener = api.app.get(ChangeListener);
      expect(listener.connected).toBe(false);
      expect(listener.state).toBe('starting');
      expect(api.logs.lines.some((line) => line.message.includes('s3cret-pw'))).toBe(false);
    } finally {
      const closing = performance.now();
      await api.close();
      // The retry timer and the client are let go: closing does not wait for the next attempt.
      expect(performance.now() - closing).toBeLessThan(2000);
      await database.close();
    }
  });
});

describe('change notifications on an embedded PGlite', () => {
  it('are off, said once, and the application works as before', async () => {
    const embedded = await openDatabase({ pgliteDataDir: 'memory://', timeoutMs: 5000 });
    const api = await startTestApp('express', { ...OPTIONS, syncTtlSeconds: 60 }, embedded.options);
    try {
      const listener = api.app.get(ChangeListener);
      await waitFor(() => listener.state === 'off', 'the listener to give up');
      expect(api.logs.matching('log', /change notifications off: the database is an embedded PGlite/).length).toBe(1);
      const root = identity('pgl-root', 'idp-admins');
      expect((await api.request('/me', root)).status).toBe(200);
      expect((await api.request('/me', identity('pgl-user'))).status).toBe(200);
      const [{ id }] = await api.sql(`SELECT id FROM auth_proxy_users WHERE username = 'pgl-user'`);
      // A change still announces itself (pg_notify inside the transaction) and still applies here at once.
      const disable = await api.request(`/admin/users/${id}/disable`, [...root, ...jsonHeaders({})], {
        method: 'POST',
        body: '{}',
      });
      expect(disable.status).toBe(200);
      expect((await api.request('/me', identity('pgl-user'))).status).toBe(403);
      expect(listener.connected).toBe(false);
    } finally {
      await api.close();
      await embedded.close();
    }
  });
});
