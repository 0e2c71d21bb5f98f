import { spawnSync } from 'node:child_process';
import { startAuthStub } from './support/auth-stub.js';
import {
  APACHE_USERS,
  proxyConfig,
  startApache,
  startCaddy,
  startNginx,
  type Ports,
  type RunningProxy,
} from './support/proxies.js';
import { rawRequest, type RawResponse } from './support/raw-request.js';
import { startTestApp, type TestApp } from './support/test-app.js';
import { createTestDatabase, type TestDatabase } from './support/test-database.js';

type Header = [string, string];

interface ProxyCase {
  name: string;
  start: (ports: Ports, config?: string) => Promise<RunningProxy>;
  /** Credentials a browser would send: bob's session, and a user the provider asserts no groups for. */
  bob: Header[];
  groupless: Header[];
  grouplessUser: string;
  bobGroups: string[];
  /** The docs config with the line that deletes the client's Remote-Groups removed. */
  insecure: () => string;
}

const basic = (user: string, password: string): Header => [
  'Authorization',
  `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`,
];
const withoutLine = (file: string, line: RegExp) => () => {
  const config = proxyConfig(file);
  const insecure = config
    .split('\n')
    .filter((text) => !line.test(text))
    .join('\n');
  if (insecure === config) throw new Error(`${file} has no line matching ${line}`);
  return insecure;
};

const ALL_PROXIES: ProxyCase[] = [
  {
    name: 'nginx auth_request',
    start: startNginx,
    bob: [['Cookie', 'session=bob-session']],
    groupless: [['Cookie', 'session=carol-session']],
    grouplessUser: 'carol',
    bobGroups: ['finance', 'staff'],
    insecure: withoutLine('nginx.conf', /proxy_set_header Remote-Groups/),
  },
  {
    name: 'Caddy forward_auth',
    start: startCaddy,
    bob: [['Cookie', 'session=bob-session']],
    groupless: [['Cookie', 'session=carol-session']],
    grouplessUser: 'carol',
    bobGroups: ['finance', 'staff'],
    // copy_headers overwrites whatever it lists, so the deletion guards the headers it does not list (and, from
    // Caddy 2.7 on, those the provider leaves out); the insecure variant stops copying Remote-Groups as well.
    insecure: () =>
      withoutLine('Caddyfile', /request_header -Remote-Groups/)().replace(
        'copy_headers Remote-User Remote-Groups Remote-Name Remote-Email',
        'copy_headers Remote-User Remote-Name Remote-Email',
      ),
  },
  {
    name: 'Apache httpd',
    start: startApache,
    bob: [basic('bob', APACHE_USERS.bob)],
    groupless: [basic('bob', APACHE_USERS.bob)],
    grouplessUser: 'bob',
    bobGroups: [],
    insecure: withoutLine('apache.conf', /RequestHeader unset Remote-Groups/),
  },
];

const BINARIES: Record<string, string> = {
  'nginx auth_request': 'nginx',
  'Caddy forward_auth': 'caddy',
  'Apache httpd': 'apache2',
};
const installed = (binary: string) => spawnSync('sh', ['-c', `command -v ${binary}`]).status === 0;
const PROXIES = ALL_PROXIES.filter((proxy) => installed(BINARIES[proxy.name]!));
const missing = ALL_PROXIES.filter((proxy) => !PROXIES.includes(proxy)).map((proxy) => BINARIES[proxy.name]);
if (missing.length > 0) {
  console.warn(
    `SKIPPED proxy tests for ${missing.join(', ')}: not installed (apt-get install nginx caddy apache2; .ci/run does)`,
  );
  describe.skip(`behind ${missing.join(', ')} [skipped: not installed]`, () =>
    it('needs the proxy installed', () => undefined));
}

/**
 * The configurations from docs/proxies/, run by the real servers in front of the reference app, attacked as a
 * browser-side client would: the client talks to the proxy only; the proxy is the app's one trusted peer.
 */
(PROXIES.length > 0 ? describe.each(PROXIES) : () => () => undefined)('behind $name', (proxy: ProxyCase) => {
  let database: TestDatabase;
  let api: TestApp;
  let auth: Awaited<ReturnType<typeof startAuthStub>>;
  let running: RunningProxy;

  beforeAll(async () => {
    database = await createTestDatabase();
    auth = await startAuthStub();
    api = await startTestApp(
      'express',
      { createUnknownUser: true, adminGroups: ['idp-admins'], trustedIps: ['127.0.0.1/32'] },
      await database.options(),
    );
    running = await proxy.start({ app: api.port, auth: auth.port });
  });
  afterAll(async () => {
    await running?.close();
    await api?.close();
    await auth?.close();
    await database?.close();
  });

  const viaProxy = (headers: Header[], path = '/me', port = running.port) =>
    rawRequest({ port, path, headers, localAddress: '127.0.0.3' });
  const usernames = async () =>
    (await api.sql(`SELECT username FROM auth_proxy_users ORDER BY username`)).map((row) => row.username);
  const neverAdmin = (response: RawResponse) => {
    if (response.status === 200) {
      expect(response.body.username).not.toBe('admin');
      expect(response.body.groups).not.toContain('admin');
    } else {
      expect([400, 401]).toContain(response.status);
    }
  };

  it('without credentials the proxy answers and the app sees no one', async () => {
    const response = await viaProxy([]);
    expect(response.status).toBe(401);
    const forged = await viaProxy([
      ['Remote-User', 'admin'],
      ['Remote-Groups', 'idp-admins'],
    ]);
    expect(forged.status).toBe(401);
    expect(await usernames()).not.toContain('admin');
  });

  it('with valid credentials the user is logged in with the groups the provider asserts', async () => {
    const response = await viaProxy(proxy.bob);
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({ username: 'bob', externalGroups: proxy.bobGroups });
  });

  it('a client-sent Remote-User never replaces the asserted user', async () => {
    const response = await viaProxy([...proxy.bob, ['Remote-User', 'admin']]);
    expect(response.status).toBe(200);
    expect(response.body.username).toBe('bob');
  });

  it('a Remote_User twin never becomes someone else', async () => {
    for (const twin of ['Remote_User', 'Remote.User', 'REMOTE_USER']) {
      const response = await viaProxy([...proxy.bob, [twin, 'admin']]);
      neverAdmin(response);
      if (response.status === 200) expect(response.body.username).toBe('bob');
      else expect(response.body.reason).toBe('header_twin');
    }
  });

  it('second identity header lines from the client are never honoured', async () => {
    const response = await viaProxy([...proxy.bob, ['Remote-User', 'admin'], ['Remote-User', 'root']]);
    neverAdmin(response);
    if (response.status === 200) expect(response.body.username).toBe('bob');
  });

  it('Connection: Remote-User cannot strip the proxy header and slip another one through', async () => {
    const response = await viaProxy([
      ...proxy.bob,
      ['Connection', 'Remote-User, Remote-Groups'],
      ['Remote-User', 'admin'],
    ]);
    neverAdmin(response);
    if (response.status === 200) expect(response.body.username).toBe('bob');
  });

  it('headers the provider does not assert for this user are not taken from the client', async () => {
    const response = await viaProxy([
      ...proxy.groupless,
      ['Remote-Groups', 'idp-admins'],
      ['Remote-Email', 'victim@example.org'],
      ['Remote-Name', 'Someone Else'],
    ]);
    expect(response.status).toBe(200);
    expect(response.body.username).toBe(proxy.grouplessUser);
    expect(response.body.externalGroups).not.toContain('idp-admins');
    expect(response.body.groups).not.toContain('admin');
    expect(response.body.email).not.toBe('victim@example.org');
  });

  it('a provider that leaves headers out never lets the client fill them in', async () => {
    // Caddy 2.6 forwards an unexpanded {http.reverse_proxy.header.…} placeholder for a header the provider did not
    // send; the app refuses placeholders (400), so the login fails closed instead of trusting the client.
    const response = await viaProxy([
      ['Cookie', 'session=dave-session'],
      ['Authorization', basic('bob', APACHE_USERS.bob)[1]],
      ['Remote-Groups', 'idp-admins'],
    ]);
    neverAdmin(response);
    if (response.status === 200) expect(response.body.externalGroups).not.toContain('idp-admins');
    else expect(response.body.reason).toMatch(/^invalid_/);
  });

  it('the same attack succeeds once the config line deleting client copies is removed (the test above guards it)', async () => {
    const insecure = await proxy.start({ app: api.port, auth: auth.port }, proxy.insecure());
    try {
      const response = await viaProxy([...proxy.groupless, ['Remote-Groups', 'idp-admins']], '/me', insecure.port);
      expect(response.status).toBe(200);
      expect(response.body.externalGroups).toContain('idp-admins');
      expect(response.body.groups).toContain('admin');
    } finally {
      await insecure.close();
    }
  });

  it('the app itself still refuses the same headers from anyone but the proxy', async () => {
    const direct = await rawRequest({
      port: api.port,
      path: '/me',
      headers: [['Remote-User', 'admin']],
      localAddress: '127.0.0.2',
    });
    expect(direct.status).toBe(401);
    expect(direct.body.reason).toBe('untrusted_proxy');
  });
});
