import { ADAPTERS, startTestApp, type TestApp } from './support/test-app.js';
import { createTestDatabase, type TestDatabase } from './support/test-database.js';

/** THREATS 2 and 3, from the trusted proxy: confusing the header and confusing the value. */
describe.each(ADAPTERS)('identity headers from the trusted proxy (%s)', (adapter) => {
  let database: TestDatabase;
  let api: TestApp;

  beforeAll(async () => {
    database = await createTestDatabase();
    api = await startTestApp(adapter, { createUnknownUser: true, maxGroups: 20 }, await database.options());
  });
  afterAll(async () => {
    await api?.close();
    await database?.close();
  });

  const totalUsers = async () => Number((await api.sql(`SELECT count(*)::int AS n FROM auth_proxy_users`))[0].n);
  const rejects = async (headers: [string, string | Buffer][], reason: string, path = '/me') => {
    const before = await totalUsers();
    const response = await api.request(path, headers);
    expect({ status: response.status, reason: response.body.reason }).toEqual({ status: 400, reason });
    expect(response.body.statusCode).toBe(400);
    expect(typeof response.body.message).toBe('string');
    expect(response.text).not.toMatch(/\bat .*\.(ts|js):\d+/); // no stack trace
    expect(await totalUsers()).toBe(before);
    return response;
  };

  describe('header names', () => {
    it('rejects two Remote-User lines instead of picking either (Node would join them)', async () => {
      await rejects(
        [
          ['Remote-User', 'alice'],
          ['Remote-User', 'admin'],
        ],
        'duplicate_header',
      );
      await rejects(
        [
          ['Remote-User', 'alice'],
          ['remote-user', 'admin'],
        ],
        'duplicate_header',
      );
      await rejects(
        [
          ['Remote-User', 'alice'],
          ['Remote-Groups', 'a'],
          ['Remote-Groups', 'admins'],
        ],
        'duplicate_header',
      );
    });

    it('rejects underscore and dot twins, with or without the real header', async () => {
      await rejects(
        [
          ['Remote-User', 'alice'],
          ['Remote_User', 'admin'],
        ],
        'header_twin',
      );
      await rejects([['Remote_User', 'admin']], 'header_twin');
      await rejects([['Remote.User', 'admin']], 'header_twin');
      await rejects(
        [
          ['Remote-User', 'alice'],
          ['REMOTE_GROUPS', 'admins'],
        ],
        'header_twin',
      );
    });

    it('rejects an identity header named in Connection (hop-by-hop strip trick)', async () => {
      await rejects(
        [
          ['Remote-User', 'alice'],
          ['Connection', 'close, Remote-User'],
        ],
        'hop_by_hop_header',
      );
      await rejects(
        [
          ['Remote-User', 'alice'],
          ['Connection', 'remote-groups'],
        ],
        'hop_by_hop_header',
      );
    });

    it('matches names exactly and case-insensitively', async () => {
      const upper = await api.request('/me', [['REMOTE-USER', 'case-bob']]);
      expect(upper.status).toBe(200);
      expect(upper.body.username).toBe('case-bob');
      for (const name of ['Remote-User-Suffix', 'X-Remote-User', 'Remote-Users', 'RemoteUser']) {
        const response = await api.request('/me', [[name, 'admin']]);
        expect({ name, status: response.status, reason: response.body.reason }).toEqual({
          name,
          status: 401,
          reason: 'missing_identity',
        });
      }
    });

    it('never takes identity from the query string or a cookie', async () => {
      const query = await api.request('/me?Remote-User=admin&remote_user=admin');
      expect(query.status).toBe(401);
      const cookie = await api.request('/me', [['Cookie', 'Remote-User=admin; remote_user=admin']]);
      expect(cookie.status).toBe(401);
      expect(cookie.body.reason).toBe('missing_identity');
    });
  });

  describe('header values', () => {
    it('decodes UTF-8 and canonicalises the username: Admin and admin are one account', async () => {
      const first = await api.request('/me', [['Remote-User', 'José']]);
      expect(first.status).toBe(200);
      expect(first.body.username).toBe('josé');
      const nfd = await api.request('/me', [['Remote-User', 'JOSE\u0301']]);
      expect(nfd.body.username).toBe('josé');
      await api.request('/me', [['Remote-User', 'Fold-Me']]);
      await api.request('/me', [['Remote-User', 'fold-me']]);
      const rows = await api.sql(
        `SELECT username FROM auth_proxy_users WHERE username IN ('josé', 'fold-me') ORDER BY username`,
      );
      expect(rows.map((row) => row.username)).toEqual(['fold-me', 'josé']);
    });

    it('rejects bytes that are not UTF-8', async () => {
      await rejects([['Remote-User', Buffer.from([0x61, 0xff, 0xfe, 0x62])]], 'invalid_header_encoding');
      await rejects([['Remote-User', Buffer.from([0xc3, 0x28])]], 'invalid_header_encoding');
    });

    it('rejects look-alikes instead of folding them into an existing account', async () => {
      const admin = await api.request('/me', [['Remote-User', 'admin']]);
      expect(admin.status).toBe(200);
      const unicodeData = ['r\u0585\u0585t', '\u13aadmin', '\u0430dmin', '\u0440\u043e\u0440']; // UTS #39
      for (const lookalike of [
        ...unicodeData,
        'ａｄｍｉｎ',
        'ᴬᴰᴹᴵᴺ',
        'admın',
        'аdmin',
        'adm\u0131n',
        'ADMİN'.replace('İ', 'ı'),
      ]) {
        await rejects([['Remote-User', lookalike]], 'invalid_username');
      }
      const rows = await api.sql(
        `SELECT username FROM auth_proxy_users WHERE username LIKE '%dm%' OR username LIKE '%ｄｍ%'`,
      );
      expect(rows.map((row) => row.username)).toEqual(['admin']);
    });

    it('rejects control, zero-width and bidi characters', async () => {
      for (const value of ['ad\u200bmin', 'admin\u202e', '\u2066admin', 'ad\u00admin', 'admin\ufeff', 'ad\u0085min']) {
        await rejects([['Remote-User', value]], 'invalid_username');
      }
      // Raw C0 control bytes and DEL never reach the application: Node's HTTP parser answers 400 itself.
      for (const value of ['ad\u0001min', 'ad\u007fmin']) {
        const before = await totalUsers();
        const response = await api.request('/me', [['Remote-User', value]]);
        expect(response.status).toBe(400);
        expect(await totalUsers()).toBe(before);
      }
    });

    it('rejects placeholders a misconfigured proxy sends', async () => {
      for (const value of [
        'null',
        'undefined',
        '-',
        '{user}',
        '${remote_user}',
        '$remote_user',
        '%{REMOTE_USER}e',
        '{http.auth.user.id}',
      ]) {
        await rejects([['Remote-User', value]], 'invalid_username');
      }
    });

    it('accepts names that are placeholder words elsewhere: nil, and display names Nan, Nil, None', async () => {
      for (const [user, name] of [
        ['nil', 'Nil'],
        ['nan-user', 'Nan'],
        ['none-user', 'None'],
      ]) {
        const response = await api.request('/me', [
          ['Remote-User', user!],
          ['Remote-Name', name!],
        ]);
        expect(response.status).toBe(200);
        expect(response.body).toMatchObject({ username: user, displayName: name });
      }
    });

    it('refuses a username with a comma: joined header lines look the same', async () => {
      await rejects([['Remote-User', 'alice,admin']], 'invalid_username');
      await rejects([['Remote-User', 'alice, admin']], 'invalid_username');
    });

    it('treats an empty username header as a rejection, never as a fallback identity', async () => {
      await rejects([['Remote-User', '']], 'invalid_username');
      await rejects([['Remote-User', '   ']], 'invalid_username');
    });

    it('bounds sizes with a clear 4xx', async () => {
      await rejects([['Remote-User', 'a'.repeat(256)]], 'value_too_long');
      await rejects(
        [
          ['Remote-User', 'big-name'],
          ['Remote-Name', 'N'.repeat(257)],
        ],
        'value_too_long',
      );
      await rejects(
        [
          ['Remote-User', 'many-groups'],
          ['Remote-Groups', Array.from({ length: 21 }, (_, i) => `g${i}`).join(',')],
        ],
        'too_many_groups',
      );
      await rejects(
        [
          ['Remote-User', 'long-group'],
          ['Remote-Groups', 'g'.repeat(300)],
        ],
        'value_too_long',
      );
      // Past Node's header limit the server itself answers 431; still a 4xx, never a crash.
      const huge = await api.request('/me', [
        ['Remote-User', 'x'],
        ['Remote-Groups', 'g,'.repeat(20_000)],
      ]);
      expect(huge.status).toBe(431);
      expect((await api.request('/health')).status).toBe(200);
    });

    it('rejects a malformed email rather than storing it', async () => {
      await rejects(
        [
          ['Remote-User', 'mail-user'],
          ['Remote-Email', 'not an email'],
        ],
        'invalid_email',
      );
      await rejects(
        [
          ['Remote-User', 'mail-user'],
          ['Remote-Email', '{email}'],
        ],
        'invalid_email',
      );
    });

    it('keeps display names and emails as data, not markup', async () => {
      const response = await api.request('/me', [
        ['Remote-User', 'markup'],
        ['Remote-Name', '<script>alert(1)</script> & "Bob"'],
        ['Remote-Email', 'Markup@Example.org'],
      ]);
      expect(response.status).toBe(200);
      expect(response.headers['content-type']).toMatch(/^application\/json/);
      expect(response.body.displayName).toBe('<script>alert(1)</script> & "Bob"');
      expect(response.body.email).toBe('markup@example.org');
    });

    it('splits, trims, deduplicates and sorts groups', async () => {
      const response = await api.request('/me', [
        ['Remote-User', 'grouped'],
        ['Remote-Groups', ' b , a,,b ,c '],
      ]);
      expect(response.body.externalGroups).toEqual(['a', 'b', 'c']);
      const rows = await api.sql(
        `SELECT external_group FROM auth_proxy_user_external_groups eg JOIN auth_proxy_users u ON u.id = eg.user_id
          WHERE u.username = 'grouped' ORDER BY external_group`,
      );
      expect(rows.map((row) => row.external_group)).toEqual(['a', 'b', 'c']);
    });
  });
});

describe('a custom separator and preset', () => {
  let database: TestDatabase;
  let api: TestApp;

  beforeAll(async () => {
    database = await createTestDatabase();
    api = await startTestApp('express', { preset: 'authentik', createUnknownUser: true }, await database.options());
  });
  afterAll(async () => {
    await api?.close();
    await database?.close();
  });

  it('reads authentik headers and splits groups on |', async () => {
    const response = await api.request('/me', [
      ['X-authentik-username', 'akadmin'],
      ['X-authentik-groups', 'authentik Admins|Staff, Team'],
      ['X-authentik-email', 'ak@example.org'],
      ['X-authentik-name', 'AK Admin'],
    ]);
    expect(response.status).toBe(200);
    expect(response.body).toEqual({
      id: expect.any(String),
      username: 'akadmin',
      email: 'ak@example.org',
      displayName: 'AK Admin',
      groups: [],
      externalGroups: ['Staff, Team', 'authentik Admins'],
      isAdmin: false,
    });
    const remoteUser = await api.request('/me', [['Remote-User', 'admin']]);
    expect(remoteUser.status).toBe(401);
  });
});
