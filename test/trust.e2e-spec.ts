import { ADAPTERS, startTestApp, type TestApp } from './support/test-app.js';
import { createTestDatabase, type TestDatabase } from './support/test-database.js';

/** THREATS 1: only the proxy may speak. Requests come from real sockets bound to distinct loopback addresses. */
describe.each(ADAPTERS)('proxy trust (%s)', (adapter) => {
  let database: TestDatabase;
  let api: TestApp;
  const untrusted = { localAddress: '127.0.0.2' };

  beforeAll(async () => {
    database = await createTestDatabase();
    api = await startTestApp(adapter, { createUnknownUser: true }, await database.options());
  });
  afterAll(async () => {
    await api?.close();
    await database?.close();
  });

  const userRows = async (username: string) =>
    Number((await api.sql(`SELECT count(*)::int AS n FROM auth_proxy_users WHERE username = $1`, [username]))[0].n);

  it('logs in a user asserted by the trusted proxy', async () => {
    const response = await api.request('/me', [['Remote-User', 'trusted-alice']]);
    expect(response.status).toBe(200);
    expect(response.body.username).toBe('trusted-alice');
    expect(await userRows('trusted-alice')).toBe(1);
  });

  it('ignores identity from an untrusted peer: 401 untrusted_proxy, no row, a warning naming the peer', async () => {
    const warningsBefore = api.logs.matching('warn', /untrusted_proxy: peer 127\.0\.0\.2 /).length;
    const response = await api.request('/me', [['Remote-User', 'spoofed-admin']], untrusted);
    expect(response.status).toBe(401);
    expect(response.body).toEqual({
      statusCode: 401,
      message: expect.any(String),
      reason: 'untrusted_proxy',
    });
    expect(await userRows('spoofed-admin')).toBe(0);
    const warnings = api.logs.matching(
      'warn',
      /untrusted_proxy: peer 127\.0\.0\.2 sent identity headers \(Remote-User\)/,
    );
    expect(warnings.length - warningsBefore).toBe(1);
  });

  it('rate-limits the untrusted-peer warning', async () => {
    const before = api.logs.matching('warn', /untrusted_proxy: peer 127\.0\.0\.3/).length;
    for (let i = 0; i < 5; i += 1) {
      const response = await api.request('/me', [['Remote-User', 'admin']], { localAddress: '127.0.0.3' });
      expect(response.status).toBe(401);
    }
    expect(api.logs.matching('warn', /untrusted_proxy: peer 127\.0\.0\.3/).length - before).toBe(1);
  });

  it('removes identity headers and their twins from untrusted requests before any controller sees them', async () => {
    const headers: [string, string][] = [
      ['Remote-User', 'admin'],
      ['Remote-Groups', 'admins'],
      ['Remote_Email', 'a@b.c'],
      ['remote.name', 'Admin'],
    ];
    const fromUntrusted = await api.request('/probe/headers', headers, untrusted);
    expect(fromUntrusted.status).toBe(200);
    expect(fromUntrusted.body).toEqual({ headers: [], rawHeaders: [] });

    const fromTrusted = await api.request('/probe/headers', [['Remote-User', 'admin']]);
    expect(fromTrusted.body.headers).toEqual(['remote-user']);
  });

  it('never takes trust from X-Forwarded-For, Forwarded or X-Real-IP', async () => {
    const response = await api.request(
      '/me',
      [
        ['X-Forwarded-For', '127.0.0.1'],
        ['Forwarded', 'for=127.0.0.1'],
        ['X-Real-IP', '127.0.0.1'],
        ['Remote-User', 'xff-admin'],
      ],
      untrusted,
    );
    expect(response.status).toBe(401);
    expect(response.body.reason).toBe('untrusted_proxy');
    expect(await userRows('xff-admin')).toBe(0);
  });

  it("works through AuthGuard('trusted-header') from @nestjs/passport too", async () => {
    const trusted = await api.request('/probe/passport', [['Remote-User', 'passport-user']]);
    expect(trusted.status).toBe(200);
    expect(trusted.body).toEqual({ username: 'passport-user' });
    const spoofed = await api.request('/probe/passport', [['Remote-User', 'passport-admin']], untrusted);
    // The untrusted peer's headers were removed, so the request asserts no identity: the strategy makes passport
    // fail (so a chain can try its next strategy) and AuthGuard answers its own 401. TrustedHeaderGuard says
    // `untrusted_proxy` (test above); the log names the peer either way.
    expect(spoofed.status).toBe(401);
    expect(spoofed.body.reason).toBe('missing_identity');
    expect(api.logs.lines.some((line) => line.message.startsWith('untrusted_proxy: peer 127.0.0.2'))).toBe(true);
  });

  it('applies @Groups on the class and lets a handler override it', async () => {
    const as = (groups: string) =>
      [
        ['Remote-User', 'grouper'],
        ['Remote-Groups', groups],
      ] as [string, string][];
    await api.sql(`INSERT INTO auth_proxy_groups (name) VALUES ('class-group'), ('b'), ('c') ON CONFLICT DO NOTHING`);
    await api.sql(
      `INSERT INTO auth_proxy_group_mappings (external_group, group_id)
       SELECT 'ext-' || name, id FROM auth_proxy_groups WHERE name IN ('class-group', 'b', 'c') ON CONFLICT DO NOTHING`,
    );
    expect((await api.request('/probe/class', as('ext-b'))).status).toBe(403);
    expect((await api.request('/probe/class', as('ext-class-group'))).status).toBe(200);
    // Handler-level requirements replace the class-level one.
    expect((await api.request('/probe/any', as('ext-c'))).status).toBe(200);
    expect((await api.request('/probe/all', as('ext-c'))).status).toBe(403);
    expect((await api.request('/probe/all', as('ext-b,ext-c'))).status).toBe(200);
    expect((await api.request('/probe/all', as('ext-class-group'))).body.reason).toBe('missing_group');
  });

  // Every attack of THREATS 2-4 again, from an untrusted peer: none of them gets past the trust check.
  it.each([
    ['a plain forged user', [['Remote-User', 'admin']]],
    [
      'duplicate lines',
      [
        ['Remote-User', 'alice'],
        ['Remote-User', 'admin'],
      ],
    ],
    ['an underscore twin', [['Remote_User', 'admin']]],
    ['a dot twin', [['Remote.User', 'admin']]],
    [
      'Connection naming the header',
      [
        ['Connection', 'Remote-User'],
        ['Remote-User', 'admin'],
      ],
    ],
    ['a fullwidth look-alike', [['Remote-User', 'ａｄｍｉｎ']]],
    ['a zero-width look-alike', [['Remote-User', 'ad\u200bmin']]],
    ['a placeholder', [['Remote-User', '{user}']]],
    ['an over-long name', [['Remote-User', 'a'.repeat(300)]]],
    [
      'a forged admin group',
      [
        ['Remote-User', 'eve'],
        ['Remote-Groups', 'admin,idp-admins'],
      ],
    ],
    [
      'an email takeover',
      [
        ['Remote-User', 'mallory'],
        ['Remote-Email', 'trusted-alice@example.org'],
      ],
    ],
  ] as [string, [string, string][]][])(
    'from an untrusted peer, %s is ignored: 401 untrusted_proxy, no row',
    async (_label, headers) => {
      const before = Number((await api.sql(`SELECT count(*)::int AS n FROM auth_proxy_users`))[0].n);
      const response = await api.request('/me', headers, untrusted);
      expect(response.status).toBe(401);
      expect(response.body.reason).toBe('untrusted_proxy');
      expect(Number((await api.sql(`SELECT count(*)::int AS n FROM auth_proxy_users`))[0].n)).toBe(before);
    },
  );

  it('gives an untrusted peer without identity headers a plain 401 and public routes as usual', async () => {
    const me = await api.request('/me', [], untrusted);
    expect(me.status).toBe(401);
    expect(me.body.reason).toBe('missing_identity');
    const health = await api.request('/health', [], untrusted);
    expect(health.status).toBe(200);
    expect(health.body.status).toBe('ok');
  });
});

describe.each(ADAPTERS)('dual-stack sockets (%s)', (adapter) => {
  let database: TestDatabase;
  let api: TestApp;

  beforeAll(async () => {
    database = await createTestDatabase();
    // Listening on :: makes IPv4 clients appear as ::ffff:a.b.c.d.
    api = await startTestApp(
      adapter,
      { createUnknownUser: true, trustedIps: ['127.0.0.1', '::1'] },
      await database.options(),
      '::',
    );
  });
  afterAll(async () => {
    await api?.close();
    await database?.close();
  });

  it('matches an IPv4-mapped peer against an IPv4 entry', async () => {
    const response = await api.request('/me', [['Remote-User', 'mapped-user']], { host: '127.0.0.1' });
    expect(response.status).toBe(200);
  });

  it('does not trust another IPv4-mapped peer', async () => {
    const response = await api.request('/me', [['Remote-User', 'mapped-admin']], {
      host: '127.0.0.1',
      localAddress: '127.0.0.2',
    });
    expect(response.status).toBe(401);
    expect(response.body.reason).toBe('untrusted_proxy');
  });

  it('trusts ::1 over IPv6', async () => {
    const response = await api.request('/me', [['Remote-User', 'ipv6-user']], { host: '::1' });
    expect(response.status).toBe(200);
  });
});
