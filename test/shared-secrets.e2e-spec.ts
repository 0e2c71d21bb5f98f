import { randomBytes } from 'node:crypto';
import {
  TrustedHeaderConfigError,
  trustedHeaderOptionsFromEnv,
  type TrustedHeaderOptions,
} from 'nestjs-trusted-header';
import { resolveTrustedHeaderOptions } from 'nestjs-trusted-header/building-blocks';
import type { HttpAdapterName } from '../apps/reference-app/src/config/app-config.js';
import { startHeaderEchoApp } from './support/header-echo.js';
import type { RawResponse } from './support/raw-request.js';
import { ADAPTERS, type TestApp } from './support/test-app.js';
import { createTestDatabase, type TestDatabase } from './support/test-database.js';

/**
 * THREATS 10 (shared secrets), over both adapters: a proxy proves itself with a secret header instead of (or
 * besides) its address. Requests come from real sockets bound to distinct loopback addresses.
 */

type Header = [name: string, value: string];

const secret = () => randomBytes(32).toString('hex');
const S1 = secret();
const S2 = secret();
const WRONG = secret();
const OTHER_PEER = { localAddress: '127.0.0.2' };

function expectRefused(response: RawResponse, status = 401, reason = 'untrusted_proxy'): void {
  expect({ status: response.status, body: response.body }).toEqual({
    status,
    body: { statusCode: status, message: expect.any(String), reason },
  });
}

describe.each(ADAPTERS)('shared secrets (%s)', (adapter: HttpAdapterName) => {
  // A database per app: PGlite serves one session at a time, so two apps cannot share one.
  const databases: TestDatabase[] = [];
  const started: TestApp[] = [];
  const start = async (options: TrustedHeaderOptions) => {
    const database = await createTestDatabase();
    databases.push(database);
    const api = await startHeaderEchoApp(adapter, options, await database.options());
    started.push(api);
    return api;
  };

  afterAll(async () => {
    await Promise.all(started.map((api) => api.close()));
    await Promise.all(databases.map((database) => database.close()));
  });

  const userRows = async (api: TestApp, username: string) =>
    Number((await api.sql(`SELECT count(*)::int AS n FROM auth_proxy_users WHERE username = $1`, [username]))[0].n);
  /** Every captured line that contains any of the secrets. */
  const linesWithSecrets = (api: TestApp) =>
    api.logs.lines.filter((line) => [S1, S2, WRONG].some((value) => line.message.includes(value)));

  describe('one secret, no address list: the secret is the proof', () => {
    let api: TestApp;
    beforeAll(async () => {
      api = await start({ sharedSecrets: [S1], createUnknownUser: true, untrustedWarningIntervalSeconds: 0 });
    });

    it('trusts the secret from any loopback address', async () => {
      const fromOther = await api.request(
        '/me',
        [
          ['X-Proxy-Secret', S1],
          ['Remote-User', 'secret-ann'],
        ],
        OTHER_PEER,
      );
      expect(fromOther.status).toBe(200);
      expect(fromOther.body.username).toBe('secret-ann');
      const fromLocal = await api.request('/me', [
        ['X-Proxy-Secret', S1],
        ['Remote-User', 'secret-bob'],
      ]);
      expect(fromLocal.status).toBe(200);
      expect(fromLocal.body.username).toBe('secret-bob');
    });

    it('refuses a wrong secret of the right length, logging secret_mismatch without any secret', async () => {
      const peer = { localAddress: '127.0.0.5' };
      const before = api.logs.matching('warn', /untrusted_proxy: peer 127\.0\.0\.5 .*secret_mismatch/).length;
      const response = await api.request(
        '/me',
        [
          ['X-Proxy-Secret', WRONG],
          ['Remote-User', 'secret-wrong'],
        ],
        peer,
      );
      expectRefused(response);
      expect(await userRows(api, 'secret-wrong')).toBe(0);
      expect(api.logs.matching('warn', /untrusted_proxy: peer 127\.0\.0\.5 .*secret_mismatch/).length - before).toBe(1);
      expect(linesWithSecrets(api)).toEqual([]);
    });

    it('refuses secrets of other lengths, and no secret at all, when identity headers are sent', async () => {
      for (const value of [S1.slice(0, -1), `${S1}0`, '', 'x', S1.toUpperCase(), `${S1}, ${S1}`]) {
        expectRefused(
          await api.request(
            '/me',
            [
              ['X-Proxy-Secret', value],
              ['Remote-User', 'secret-len'],
            ],
            OTHER_PEER,
          ),
        );
      }
      expectRefused(await api.request('/me', [['Remote-User', 'secret-len']], OTHER_PEER));
      expectRefused(await api.request('/me', [['Remote-User', 'secret-len']]));
      expect(await userRows(api, 'secret-len')).toBe(0);
    });

    it('refuses the secret header sent twice, even with the right secret in both', async () => {
      const twice: Header[][] = [
        [
          ['X-Proxy-Secret', S1],
          ['X-Proxy-Secret', S1],
        ],
        [
          ['X-Proxy-Secret', WRONG],
          ['X-Proxy-Secret', S1],
        ],
        [
          ['X-Proxy-Secret', S1],
          ['x-proxy-secret', WRONG],
        ],
      ];
      for (const secrets of twice) {
        expectRefused(await api.request('/me', [...secrets, ['Remote-User', 'secret-twice']], OTHER_PEER));
      }
      expect(await userRows(api, 'secret-twice')).toBe(0);
    });

    it('never lets a handler see the secret header, matched or not, in any spelling', async () => {
      for (const [value, peer] of [
        [S1, {}],
        [S1, OTHER_PEER],
        [WRONG, OTHER_PEER],
      ] as const) {
        const seen = await api.request(
          '/echo/headers',
          [
            ['X-Proxy-Secret', value],
            ['X_Proxy_Secret', value],
            ['X-Request-Id', 'visible'],
          ],
          peer,
        );
        expect(seen.status).toBe(200);
        expect(seen.body.headers['x-request-id']).toBe('visible');
        expect(Object.keys(seen.body.headers).filter((name) => /proxy.secret/i.test(name))).toEqual([]);
        expect(seen.body.rawNames.filter((name: string) => /proxy.secret/i.test(name))).toEqual([]);
        expect(seen.body.rawValues).not.toContain(value);
      }
      expect(linesWithSecrets(api)).toEqual([]);
    });
  });

  describe('two secrets during a rotation, configured from the environment', () => {
    let api: TestApp;
    beforeAll(async () => {
      api = await start(
        trustedHeaderOptionsFromEnv({
          AUTH_PROXY_SHARED_SECRETS: `${S1},${S2}`,
          AUTH_PROXY_SHARED_SECRET_HEADER: 'X-Auth-Secret',
          AUTH_PROXY_CREATE_UNKNOWN_USER: 'true',
        }),
      );
    });

    it('accepts both secrets in the configured header, and neither in the default one', async () => {
      for (const [value, user] of [
        [S1, 'rotation-old'],
        [S2, 'rotation-new'],
      ]) {
        const response = await api.request(
          '/me',
          [
            ['X-Auth-Secret', value!],
            ['Remote-User', user!],
          ],
          OTHER_PEER,
        );
        expect(response.status).toBe(200);
        expect(response.body.username).toBe(user);
      }
      expectRefused(
        await api.request(
          '/me',
          [
            ['X-Auth-Secret', WRONG],
            ['Remote-User', 'rotation-wrong'],
          ],
          OTHER_PEER,
        ),
      );
      expectRefused(
        await api.request(
          '/me',
          [
            ['X-Proxy-Secret', S1],
            ['Remote-User', 'rotation-wrong'],
          ],
          OTHER_PEER,
        ),
      );
      expect(await userRows(api, 'rotation-wrong')).toBe(0);
      const seen = await api.request('/echo/headers', [['X-Auth-Secret', S2]], OTHER_PEER);
      expect(seen.body.headers).not.toHaveProperty('x-auth-secret');
    });
  });

  describe('a secret and an address list: both must pass', () => {
    let api: TestApp;
    beforeAll(async () => {
      api = await start({ trustedIps: ['127.0.0.1/32'], sharedSecrets: [S1], createUnknownUser: true });
    });

    it('refuses the right secret from an address outside the list, and the right address without the secret', async () => {
      const both = await api.request('/me', [
        ['X-Proxy-Secret', S1],
        ['Remote-User', 'both-ann'],
      ]);
      expect(both.status).toBe(200);
      expect(both.body.username).toBe('both-ann');
      expectRefused(
        await api.request(
          '/me',
          [
            ['X-Proxy-Secret', S1],
            ['Remote-User', 'both-mallory'],
          ],
          OTHER_PEER,
        ),
      );
      expectRefused(await api.request('/me', [['Remote-User', 'both-mallory']]));
      expectRefused(
        await api.request('/me', [
          ['X-Proxy-Secret', WRONG],
          ['Remote-User', 'both-mallory'],
        ]),
      );
      expect(await userRows(api, 'both-mallory')).toBe(0);
    });
  });

  describe('several profiles, each with its own proof and headers', () => {
    let api: TestApp;
    beforeAll(async () => {
      api = await start({
        proxies: [
          { name: 'a', trustedIps: ['127.0.0.1/32'] },
          { name: 'b', sharedSecrets: [S2], userHeader: 'X-Other-User' },
        ],
        createUnknownUser: true,
        untrustedWarningIntervalSeconds: 0,
      });
    });

    it("believes each profile's own header", async () => {
      const a = await api.request('/me', [['Remote-User', 'profile-a-user']]);
      expect(a.status).toBe(200);
      expect(a.body.username).toBe('profile-a-user');
      const b = await api.request(
        '/me',
        [
          ['X-Proxy-Secret', S2],
          ['X-Other-User', 'profile-b-user'],
        ],
        OTHER_PEER,
      );
      expect(b.status).toBe(200);
      expect(b.body.username).toBe('profile-b-user');
    });

    it("does not believe profile a's header on a request that came through profile b", async () => {
      const response = await api.request(
        '/me',
        [
          ['X-Proxy-Secret', S2],
          ['Remote-User', 'profile-mallory'],
        ],
        OTHER_PEER,
      );
      expect(response.status).toBe(401);
      expect(await userRows(api, 'profile-mallory')).toBe(0);
      const seen = await api.request(
        '/echo/headers',
        [
          ['X-Proxy-Secret', S2],
          ['Remote-User', 'profile-mallory'],
        ],
        OTHER_PEER,
      );
      expect(Object.keys(seen.body.headers)).not.toContain('remote-user');
    });

    it("does not believe profile b's header without its secret, nor on profile a's requests", async () => {
      expectRefused(await api.request('/me', [['X-Other-User', 'profile-eve']], OTHER_PEER));
      expectRefused(
        await api.request(
          '/me',
          [
            ['X-Proxy-Secret', S1],
            ['X-Other-User', 'profile-eve'],
          ],
          OTHER_PEER,
        ),
      );
      const throughA = await api.request('/me', [['X-Other-User', 'profile-eve']]);
      expect(throughA.status).toBe(401);
      expect(await userRows(api, 'profile-eve')).toBe(0);
    });

    it('logs what each profile found wrong with a refused request', async () => {
      const peer = { localAddress: '127.0.0.6' };
      await api.request(
        '/me',
        [
          ['X-Proxy-Secret', WRONG],
          ['X-Other-User', 'profile-log'],
        ],
        peer,
      );
      const [line] = api.logs.matching('warn', /untrusted_proxy: peer 127\.0\.0\.6 /).slice(-1);
      expect(line).toMatch(/peer_not_trusted \(profile a:/);
      expect(line).toMatch(/secret_mismatch \(profile b:/);
      expect(line).not.toContain(WRONG);
      expect(line).not.toContain(S2);
    });
  });
});

describe('shared secret settings refused at startup', () => {
  const refusal = (run: () => unknown): TrustedHeaderConfigError => {
    try {
      run();
    } catch (error) {
      expect(error).toBeInstanceOf(TrustedHeaderConfigError);
      return error as TrustedHeaderConfigError;
    }
    throw new Error('accepted');
  };

  it('refuses a secret shorter than 32 characters without printing it', () => {
    const short = 'k7Qp2vX9mZ4rT8wL1nB6yC3hF5jD0sA'; // 31 characters
    const inCode = refusal(() => resolveTrustedHeaderOptions({ sharedSecrets: [S1, short] }));
    expect(inCode.message).toContain('sharedSecrets');
    expect(inCode.message).not.toContain(short);
    expect(inCode.message).not.toContain(S1);
    expect(JSON.stringify(inCode.value)).not.toContain(short);
    const fromEnv = refusal(() => trustedHeaderOptionsFromEnv({ AUTH_PROXY_SHARED_SECRETS: `${short},${S1}` }));
    expect(fromEnv.message).toContain('AUTH_PROXY_SHARED_SECRETS');
    expect(fromEnv.message).not.toContain(short);
    expect(fromEnv.message).not.toContain(S1);
    expect(resolveTrustedHeaderOptions({ sharedSecrets: [`${short}x`] }).profiles[0]!.sharedSecret).not.toBeNull();
  });

  it('refuses three secrets, and secrets with spaces, without printing them', () => {
    const three = refusal(() => resolveTrustedHeaderOptions({ sharedSecrets: [S1, S2, WRONG] }));
    for (const value of [S1, S2, WRONG]) expect(three.message).not.toContain(value);
    const spaced = `${S1.slice(0, 20)} ${S1.slice(20)}`;
    const withSpace = refusal(() => resolveTrustedHeaderOptions({ sharedSecrets: [spaced] }));
    expect(withSpace.message).toContain('sharedSecrets');
    expect(withSpace.message).not.toContain(spaced.slice(0, 20));
  });
});
