import request from 'supertest';
import { ADAPTERS, startTestApp, type TestApp } from './support/test-app.js';
import { createTestDatabase, type TestDatabase } from './support/test-database.js';

type Headers = Record<string, string>;

const COOKIE = 'trusted_header_session';

/** The admin API's session endpoints, and what disabling a user does to the user's sessions. */
describe.each(ADAPTERS)('admin API: sessions (%s)', (adapter) => {
  let database: TestDatabase;
  let api: TestApp;
  const name = (base: string) => `${base}-${adapter}`;
  const root: Headers = { 'Remote-User': name('root'), 'Remote-Groups': 'idp-admins' };

  beforeAll(async () => {
    database = await createTestDatabase();
    api = await startTestApp(
      adapter,
      { createUnknownUser: true, adminGroups: ['idp-admins'], session: 'persistent', sessionCookieSecure: false },
      await database.options(),
    );
  });
  afterAll(async () => {
    await api?.close();
    await database?.close();
  });

  const http = () => request(api.app.getHttpServer());
  const admin = {
    get: (path: string) => http().get(path).set(root),
    post: (path: string) => http().post(path).set(root).set('Content-Type', 'application/json').send({}),
    delete: (path: string) => http().delete(path).set(root),
  };
  const userId = async (username: string) =>
    (await api.sql(`SELECT id FROM auth_proxy_users WHERE username = $1`, [username]))[0]?.id as string;
  /** Logs in through the proxy's headers and returns the session cookie the app set. */
  const login = async (username: string, userAgent = 'test-browser/1.0', headers: Headers = {}): Promise<string> => {
    const response = await http()
      .get('/me')
      .set({ 'Remote-User': username, 'User-Agent': userAgent, ...headers })
      .expect(200);
    const setCookie = ([] as string[]).concat(response.headers['set-cookie'] ?? []);
    const line = setCookie.find((value) => value.startsWith(`${COOKIE}=`));
    if (!line) throw new Error(`no session cookie in ${JSON.stringify(setCookie)}`);
    return line.split(';')[0]!;
  };
  const withCookie = (cookie: string) => http().get('/me').set('Cookie', cookie);
  const audit = async (type: string, username: string) =>
    (await admin.get(`/admin/audit-events?perPage=100&type=${type}`).expect(200)).body.items.filter(
      (event: { username: string }) => event.username === username,
    );

  it('lists a user’s live sessions with when, how long, from which browser and proxy; never a token', async () => {
    const alice = name('alice');
    const first = await login(alice, 'browser-one');
    await login(alice, 'browser-two');
    const sessions = (await admin.get(`/admin/users/${await userId(alice)}/sessions`).expect(200)).body;
    expect(sessions).toHaveLength(2);
    expect(sessions.map((session: { userAgent: string }) => session.userAgent).sort()).toEqual([
      'browser-one',
      'browser-two',
    ]);
    for (const session of sessions) {
      expect(Object.keys(session).sort()).toEqual(
        ['createdAt', 'expiresAt', 'id', 'idleExpiresAt', 'lastSeenAt', 'peer', 'userAgent'].sort(),
      );
      expect(session.peer).toMatch(/127\.0\.0\.1$/);
      const created = Date.parse(session.createdAt);
      // Defaults: 7 days absolute, 8 hours idle.
      expect(Date.parse(session.expiresAt) - created).toBeGreaterThan(604_700_000);
      // 8 hours idle, and the minute by which the recorded last use may lag.
      expect(Date.parse(session.idleExpiresAt) - Date.parse(session.lastSeenAt)).toBe(28_860_000);
    }
    expect(JSON.stringify(sessions)).not.toContain(first.split('=')[1]);
    const created = await audit('session_created', alice);
    expect(created).toHaveLength(2);
    expect(created[0]).toMatchObject({ actorType: 'proxy', actor: 'proxy' });
  });

  it('revoking one session ends it at once, leaves the others, and is audited as the admin’s', async () => {
    const bob = name('bob');
    const kept = await login(bob, 'kept');
    const ended = await login(bob, 'ended');
    const id = await userId(bob);
    const sessions = (await admin.get(`/admin/users/${id}/sessions`).expect(200)).body;
    const target = sessions.find((session: { userAgent: string }) => session.userAgent === 'ended');
    await withCookie(ended).expect(200);
    await admin.delete(`/admin/users/${id}/sessions/${target.id}`).expect(204);
    const refused = await withCookie(ended).expect(401);
    expect(refused.body.reason).toBe('invalid_session');
    await withCookie(kept).expect(200);
    // Gone from the list; a second revocation, or one under another user, is a 404.
    expect((await admin.get(`/admin/users/${id}/sessions`).expect(200)).body).toHaveLength(1);
    expect((await admin.delete(`/admin/users/${id}/sessions/${target.id}`).expect(404)).body.reason).toBe('not_found');
    const keptId = (await admin.get(`/admin/users/${id}/sessions`).expect(200)).body[0].id;
    await admin.delete(`/admin/users/${await userId(name('root'))}/sessions/${keptId}`).expect(404);
    await withCookie(kept).expect(200);
    const [event] = await audit('session_revoked', bob);
    expect(event).toMatchObject({
      actorType: 'admin',
      actor: name('root'),
      details: { sessionId: target.id, reason: 'admin' },
    });
  });

  it('revoking all sessions of a user ends every one of them', async () => {
    const carol = name('carol');
    const cookies = [await login(carol), await login(carol), await login(carol)];
    const id = await userId(carol);
    expect((await admin.delete(`/admin/users/${id}/sessions`).expect(200)).body).toEqual({ revoked: 3 });
    for (const cookie of cookies) expect((await withCookie(cookie).expect(401)).body.reason).toBe('invalid_session');
    expect((await admin.delete(`/admin/users/${id}/sessions`).expect(200)).body).toEqual({ revoked: 0 });
    // The proxy logs the user in again with a new session.
    const again = await login(carol);
    await withCookie(again).expect(200);
  });

  it('disabling a user ends the sessions: the cookie gets 403 user_disabled, and enabling does not bring them back', async () => {
    const dave = name('dave');
    const cookie = await login(dave);
    await withCookie(cookie).expect(200);
    const id = await userId(dave);
    await admin.post(`/admin/users/${id}/disable`).expect(200);
    expect((await withCookie(cookie).expect(403)).body.reason).toBe('user_disabled');
    const [event] = await audit('session_revoked', dave);
    expect(event.details).toMatchObject({ reason: 'user_disabled' });
    const [row] = await api.sql(`SELECT revoked_reason FROM auth_proxy_sessions WHERE user_id = $1`, [id]);
    expect(row.revoked_reason).toBe('user_disabled');
    await admin.post(`/admin/users/${id}/enable`).expect(200);
    expect((await withCookie(cookie).expect(401)).body.reason).toBe('invalid_session');
  });

  it('answers 404 for an unknown user and 400 for a malformed id', async () => {
    const unknown = '00000000-0000-4000-8000-000000000000';
    expect((await admin.get(`/admin/users/${unknown}/sessions`).expect(404)).body.reason).toBe('not_found');
    expect((await admin.delete(`/admin/users/${unknown}/sessions`).expect(404)).body.reason).toBe('not_found');
    expect((await admin.get(`/admin/users/not-a-uuid/sessions`).expect(400)).body.reason).toBe('validation_failed');
    await admin.delete(`/admin/users/${unknown}/sessions/not-a-uuid`).expect(400);
  });

  it('only admins see or end sessions, and not from another site', async () => {
    const erin = name('erin');
    const cookie = await login(erin);
    const id = await userId(erin);
    expect((await http().get(`/admin/users/${id}/sessions`).set('Cookie', cookie).expect(403)).body.reason).toBe(
      'admin_required',
    );
    await http().delete(`/admin/users/${id}/sessions`).expect(401);
    const adminCookie = await login(name('root'), 'admin-browser', root);
    // The admin's session stands alone: no identity headers from here on.
    const crossSite = await http()
      .delete(`/admin/users/${id}/sessions`)
      .set('Cookie', adminCookie)
      .set('Sec-Fetch-Site', 'cross-site')
      .expect(403);
    expect(crossSite.body.reason).toBe('cross_site_request');
    await withCookie(cookie).expect(200);
    await http()
      .delete(`/admin/users/${id}/sessions`)
      .set('Cookie', adminCookie)
      .set('Sec-Fetch-Site', 'same-origin')
      .expect(200);
    await withCookie(cookie).expect(401);
  });
});
