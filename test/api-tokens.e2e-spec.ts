import { Controller, Get, Injectable, UseGuards, type INestApplication, type Type } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { AuthGuard, PassportStrategy } from '@nestjs/passport';
import { ExpressAdapter } from '@nestjs/platform-express';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import { TypeOrmModule } from '@nestjs/typeorm';
import jwt from 'jsonwebtoken';
import {
  CurrentUser,
  Groups,
  Public,
  TokenOrTrustedHeaderGuard,
  TrustedHeaderGuard,
  TrustedHeaderModule,
  type TrustedHeaderOptions,
} from 'nestjs-trusted-header';
import { TrustedHeaderAdminModule } from 'nestjs-trusted-header/admin';
import { ExtractJwt, Strategy as JwtStrategy } from 'passport-jwt';
import { DataSource } from 'typeorm';
import { CapturedLogger } from './support/captured-logger.js';
import { rawRequest, type RawRequestOptions, type RawResponse } from './support/raw-request.js';
import { ADAPTERS } from './support/test-app.js';
import { createTestDatabase, type TestDatabase } from './support/test-database.js';

const SECRET = 'api-tokens-e2e-secret-of-32-bytes!';

/** The user the token strategy makes of a token: its subject and the groups it carries. */
interface TokenUser {
  username: string;
  groups: string[];
  via: 'token';
  isAdmin?: boolean;
}

/** The application's own API-token strategy, as a user of the library registers it. */
@Injectable()
class ApiJwtStrategy extends PassportStrategy(JwtStrategy, 'jwt') {
  constructor() {
    super({ jwtFromRequest: ExtractJwt.fromAuthHeaderAsBearerToken(), secretOrKey: SECRET, algorithms: ['HS256'] });
  }

  validate(payload: { sub: string; groups?: string[]; isAdmin?: boolean }): TokenUser {
    // Claims passed through as they are, as many applications do: a token may say isAdmin.
    return { username: payload.sub, groups: payload.groups ?? [], via: 'token', isAdmin: payload.isAdmin };
  }
}

/** Which user a route admitted, and by which path: a token user says so, the proxy's user has an id. */
const whoIs = (user: { username: string; via?: string }) => ({ username: user.username, via: user.via ?? 'proxy' });

/** The API: the proxy lets /api through unauthenticated, so tokens or (from the browser app) its identity. */
@Controller('api')
@UseGuards(TokenOrTrustedHeaderGuard('jwt'))
class ApiController {
  @Get('whoami')
  whoami(@CurrentUser() user: TokenUser) {
    return whoIs(user);
  }

  // @Groups() attaches TrustedHeaderGuard, which runs after the class's guard here.
  @Get('reports')
  @Groups('reports')
  reports(@CurrentUser() user: TokenUser) {
    return whoIs(user);
  }

  @Get('status')
  @Public()
  status() {
    return { ok: true };
  }
}

@Controller('api/v2')
class ApiV2Controller {
  // Decorators apply bottom-up: the TrustedHeaderGuard that @Groups() attaches is listed, and runs, before the
  // token guard. It must leave the decision to it rather than refuse a token user.
  @Get('reports')
  @UseGuards(TokenOrTrustedHeaderGuard(['jwt']))
  @Groups('reports')
  reports(@CurrentUser() user: TokenUser) {
    return whoIs(user);
  }
}

/** The browser app's routes: the global TrustedHeaderGuard alone, so tokens mean nothing there. */
@Controller()
class BrowserController {
  @Get('me')
  me(@CurrentUser() user: TokenUser) {
    return whoIs(user);
  }

  @Get('reports')
  @Groups('reports')
  reports(@CurrentUser() user: TokenUser) {
    return whoIs(user);
  }
}

/** Passport chains: @Public() for the global guard, which would otherwise refuse token users first. */
@Controller('chain')
@Public()
class ChainController {
  @Get('jwt-first')
  @UseGuards(AuthGuard(['jwt', 'trusted-header']))
  jwtFirst(@CurrentUser() user: TokenUser) {
    return whoIs(user);
  }

  @Get('header-first')
  @UseGuards(AuthGuard(['trusted-header', 'jwt']))
  headerFirst(@CurrentUser() user: TokenUser) {
    return whoIs(user);
  }
}

const sign = (sub: string, groups: string[] = [], options: jwt.SignOptions = {}) =>
  jwt.sign({ sub, groups }, SECRET, { algorithm: 'HS256', expiresIn: '5m', ...options });

const base64url = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');

/** Tokens a client could send that the strategy must not accept. */
const BAD_TOKENS: [label: string, authorization: () => string][] = [
  ['a malformed token', () => 'Bearer not.a-token'],
  ['an expired token', () => `Bearer ${sign('ann', ['reports'], { expiresIn: -60 })}`],
  [
    "an unsigned token (alg 'none')",
    () => `Bearer ${base64url({ alg: 'none', typ: 'JWT' })}.${base64url({ sub: 'ann', groups: ['reports'] })}.`,
  ],
  ['a token signed with another secret', () => `Bearer ${jwt.sign({ sub: 'ann', groups: ['reports'] }, 'guessed')}`],
  [
    'a token signed with another algorithm',
    () => `Bearer ${jwt.sign({ sub: 'ann', groups: ['reports'] }, SECRET, { algorithm: 'HS512' })}`,
  ],
  ['a token of the future (nbf)', () => `Bearer ${sign('ann', ['reports'], { notBefore: 3600 })}`],
  ['Basic credentials', () => `Basic ${Buffer.from('ann:secret').toString('base64')}`],
  ['an empty header', () => ''],
  ['a bare scheme', () => 'Bearer'],
];

type Lines = NonNullable<RawRequestOptions['headers']>;

const INVALID_TOKEN = {
  statusCode: 401,
  message: 'The Authorization header holds no valid token',
  reason: 'invalid_token',
};

const bearer = (token: string): [string, string] => ['Authorization', `Bearer ${token}`];

/**
 * A fresh database and the test application on it for one describe block, with the local group `reports`
 * granted to members of the proxy's group `staff`.
 */
function useApiApp(
  adapter: (typeof ADAPTERS)[number],
  options: TrustedHeaderOptions,
  { logs = new CapturedLogger(), globalGuard = TrustedHeaderGuard as Type<TrustedHeaderGuard> } = {},
) {
  let database: TestDatabase;
  let app: INestApplication;
  let port: number;
  let sql: DataSource;

  beforeAll(async () => {
    database = await createTestDatabase();
    const moduleRef = await Test.createTestingModule({
      imports: [
        TypeOrmModule.forRoot(await database.options()),
        TrustedHeaderModule.forRoot(options),
        TrustedHeaderAdminModule.forRoot({ path: 'admin' }),
      ],
      controllers: [ApiController, ApiV2Controller, BrowserController, ChainController],
      providers: [ApiJwtStrategy, { provide: APP_GUARD, useClass: globalGuard }],
    })
      .setLogger(logs)
      .compile();
    app = moduleRef.createNestApplication(adapter === 'fastify' ? new FastifyAdapter() : new ExpressAdapter(), {
      logger: logs,
    });
    await app.listen(0, '127.0.0.1');
    port = (app.getHttpServer().address() as { port: number }).port;
    sql = app.get(DataSource);
    const [group] = await sql.query(`INSERT INTO auth_proxy_groups (name) VALUES ('reports') RETURNING id`);
    await sql.query(`INSERT INTO auth_proxy_group_mappings (external_group, group_id) VALUES ('staff', $1)`, [
      group.id,
    ]);
  });
  afterAll(async () => {
    await app?.close();
    await database?.close();
  });

  return {
    send: (path: string, headers: Lines = [], localAddress?: string): Promise<RawResponse> =>
      rawRequest({ port, path, headers, localAddress }),
    userRows: async (username: string) =>
      (await sql.query(`SELECT 1 FROM auth_proxy_users WHERE username = $1`, [username])).length,
  };
}

describe.each(ADAPTERS)('API tokens beside the proxy (%s)', (adapter) => {
  const logs = new CapturedLogger();
  const { send, userRows } = useApiApp(adapter, { trustedIps: ['127.0.0.1'], createUnknownUser: true }, { logs });

  describe('TokenOrTrustedHeaderGuard', () => {
    it('admits a valid token alone as the token user, from any peer', async () => {
      for (const localAddress of ['127.0.0.1', '127.0.0.2']) {
        const response = await send('/api/whoami', [bearer(sign('ann'))], localAddress);
        expect(response.status).toBe(200);
        expect(response.body).toEqual({ username: 'ann', via: 'token' });
      }
    });

    it('lets a present Authorization header decide alone: a valid token wins over valid identity headers', async () => {
      const response = await send('/api/whoami', [bearer(sign('ann')), ['Remote-User', 'bob-beside-token']]);
      expect(response.status).toBe(200);
      expect(response.body).toEqual({ username: 'ann', via: 'token' });
      expect(await userRows('bob-beside-token')).toBe(0);
    });

    it.each(BAD_TOKENS)('answers %s with 401 invalid_token, never the header user', async (_label, authorization) => {
      const username = `bob-${_label.replace(/\W+/g, '-')}`.toLowerCase();
      const response = await send('/api/whoami', [
        ['Authorization', authorization()],
        ['Remote-User', username],
        ['Remote-Groups', 'staff'],
      ]);
      expect(response.status).toBe(401);
      expect(response.body).toEqual(INVALID_TOKEN);
      // The header path never ran: with createUnknownUser it would have created the user.
      expect(await userRows(username)).toBe(0);
    });

    it('takes the token path for any spelling of the header name', async () => {
      for (const name of ['authorization', 'AUTHORIZATION', 'aUtHoRiZaTiOn']) {
        const valid = await send('/api/whoami', [[name, `Bearer ${sign('ann')}`]]);
        expect(valid.body).toEqual({ username: 'ann', via: 'token' });
        const invalid = await send('/api/whoami', [
          [name, 'Basic Zm9vOmJhcg=='],
          ['Remote-User', 'bob'],
        ]);
        expect(invalid.body).toEqual(INVALID_TOKEN);
      }
    });

    it('refuses two Authorization headers, even two valid tokens (Node would keep only the first)', async () => {
      const pairs: Lines[] = [
        [bearer(sign('ann')), bearer(sign('mallory', ['reports']))],
        [bearer(sign('ann')), ['Authorization', 'Basic Zm9vOmJhcg==']],
        [bearer(sign('ann')), ['authorization', '']],
      ];
      for (const lines of pairs) {
        const response = await send('/api/whoami', [...lines, ['Remote-User', 'bob']]);
        expect(response.status).toBe(401);
        expect(response.body).toEqual(INVALID_TOKEN);
      }
    });

    it('admits the proxy user without an Authorization header', async () => {
      const response = await send('/api/whoami', [['Remote-User', 'Bob']]);
      expect(response.status).toBe(200);
      expect(response.body).toEqual({ username: 'bob', via: 'proxy' });
    });

    it('refuses identity headers from an untrusted peer without an Authorization header: 401 untrusted_proxy', async () => {
      const response = await send('/api/whoami', [['Remote-User', 'admin']], '127.0.0.2');
      expect(response.status).toBe(401);
      expect(response.body).toEqual({
        statusCode: 401,
        message: 'Identity headers are only accepted from a trusted proxy',
        reason: 'untrusted_proxy',
      });
    });

    it('refuses a request with neither: 401 missing_identity', async () => {
      const response = await send('/api/whoami');
      expect(response.status).toBe(401);
      expect(response.body).toEqual({ statusCode: 401, message: 'Not logged in', reason: 'missing_identity' });
    });

    it('keeps refusing invalid identity headers on the header path', async () => {
      const response = await send('/api/whoami', [
        ['Remote-User', 'bob'],
        ['Remote_User', 'admin'],
      ]);
      expect(response.status).toBe(400);
      expect(response.body.reason).toBe('header_twin');
    });

    it.each(['/api/reports', '/api/v2/reports'])('applies @Groups() to both kinds of user on %s', async (path) => {
      const tokenMember = await send(path, [bearer(sign('ann', ['reports']))]);
      expect(tokenMember.status).toBe(200);
      expect(tokenMember.body).toEqual({ username: 'ann', via: 'token' });

      const tokenOutsider = await send(path, [bearer(sign('ann', ['staff']))]);
      expect(tokenOutsider.status).toBe(403);
      expect(tokenOutsider.body.reason).toBe('missing_group');

      const proxyMember = await send(path, [
        ['Remote-User', 'carol'],
        ['Remote-Groups', 'staff'],
      ]);
      expect(proxyMember.status).toBe(200);
      expect(proxyMember.body).toEqual({ username: 'carol', via: 'proxy' });

      // The proxy's group 'reports' is not the local group 'reports': only the mapping from 'staff' grants it.
      const proxyOutsider = await send(path, [
        ['Remote-User', 'dave'],
        ['Remote-Groups', 'reports'],
      ]);
      expect(proxyOutsider.status).toBe(403);
      expect(proxyOutsider.body.reason).toBe('missing_group');

      // An invalid token is not a way around the group either, nor a way to the header user.
      const invalid = await send(path, [
        ['Authorization', 'Bearer garbage'],
        ['Remote-User', 'carol'],
        ['Remote-Groups', 'staff'],
      ]);
      expect(invalid.body).toEqual(INVALID_TOKEN);
      expect((await send(path)).body.reason).toBe('missing_identity');
    });

    it('reads groups only from an array on a token user', async () => {
      // What the application's strategy passes on is not checked by it: a naive check would throw on an object
      // (a 500) and read a string as the set of its letters.
      for (const groups of [{ 0: 'reports', length: 1 }, 'reports']) {
        const response = await send('/api/reports', [bearer(jwt.sign({ sub: 'ann', groups }, SECRET))]);
        expect(response.status).toBe(403);
        expect(response.body.reason).toBe('missing_group');
      }
    });

    it('opens a @Public() route to anyone, whatever credentials come with it', async () => {
      expect(await send('/api/status')).toMatchObject({ status: 200, body: { ok: true } });
      expect(await send('/api/status', [['Authorization', 'Bearer garbage']])).toMatchObject({ status: 200 });
    });

    it('accepts tokens only where the guard is: the browser routes answer a token alone with 401', async () => {
      for (const path of ['/me', '/reports']) {
        const response = await send(path, [bearer(sign('ann', ['reports']))]);
        expect(response.status).toBe(401);
        expect(response.body.reason).toBe('missing_identity');
      }
      expect((await send('/me', [['Remote-User', 'bob']])).body).toEqual({ username: 'bob', via: 'proxy' });
    });

    it('logs each refused token with why, without the token', async () => {
      const token = jwt.sign({ sub: 'ann' }, 'guessed-secret');
      const before = logs.matching('warn', /invalid_token/).length;
      await new Promise((resolve) => setTimeout(resolve, 1_100)); // one line per second at most
      await send('/api/whoami', [bearer(token)]);
      const lines = logs.matching('warn', /invalid_token/).slice(before);
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(
        /^invalid_token: request from 127\.0\.0\.1 refused: JsonWebTokenError: invalid signature/,
      );
      expect(lines.join('\n')).not.toContain(token.split('.')[2]);
    });
  });

  describe.each(['jwt-first', 'header-first'])('the passport chain (%s)', (order) => {
    const path = `/chain/${order}`;

    it('falls through to the token when the request asserts no identity', async () => {
      const response = await send(path, [bearer(sign('ann'))]);
      expect(response.status).toBe(200);
      expect(response.body).toEqual({ username: 'ann', via: 'token' });
    });

    it("falls through to the token past an untrusted peer's identity headers", async () => {
      const response = await send(path, [['Remote-User', 'admin'], bearer(sign('ann'))], '127.0.0.2');
      expect(response.status).toBe(200);
      expect(response.body).toEqual({ username: 'ann', via: 'token' });
    });

    it('admits the proxy user without a token', async () => {
      const response = await send(path, [['Remote-User', 'erin']]);
      expect(response.status).toBe(200);
      expect(response.body).toEqual({ username: 'erin', via: 'proxy' });
    });

    it('ends with an error (400) on invalid identity headers, not with a 401 or the next strategy', async () => {
      // Header first: the error ends the chain before a valid token is tried. Token first: the token is bad,
      // and the identity headers' error, not a failure, is the answer.
      const token = order === 'header-first' ? sign('ann') : 'garbage';
      const duplicate = await send(path, [['Remote-User', 'bob'], ['Remote-User', 'admin'], bearer(token)]);
      expect(duplicate.status).toBe(400);
      expect(duplicate.body.reason).toBe('duplicate_header');
      const twin = await send(path, [['Remote-User', 'bob'], ['Remote_User', 'admin'], bearer(token)]);
      expect(twin.status).toBe(400);
      expect(twin.body.reason).toBe('header_twin');
      const noToken = await send(path, [
        ['Remote-User', 'bob'],
        ['Remote-User', 'admin'],
      ]);
      expect(noToken.status).toBe(400);
    });

    it('refuses a request with neither, and an untrusted peer without a token: 401', async () => {
      expect((await send(path)).status).toBe(401);
      expect((await send(path, [['Remote-User', 'admin']], '127.0.0.2')).status).toBe(401);
      expect((await send(path, [bearer('garbage')])).status).toBe(401);
    });
  });
});

describe('TokenOrTrustedHeaderGuard()', () => {
  it('returns one class per strategy list, as AuthGuard() does', () => {
    expect(TokenOrTrustedHeaderGuard('jwt')).toBe(TokenOrTrustedHeaderGuard(['jwt']));
    expect(TokenOrTrustedHeaderGuard(['jwt', 'api-key'])).not.toBe(TokenOrTrustedHeaderGuard('jwt'));
    expect(TokenOrTrustedHeaderGuard('jwt').prototype).toBeInstanceOf(TrustedHeaderGuard);
  });

  it('refuses a list without token strategies, or one naming its own header path', () => {
    expect(() => TokenOrTrustedHeaderGuard([])).toThrow(/names of passport strategies/);
    expect(() => TokenOrTrustedHeaderGuard('')).toThrow(/names of passport strategies/);
    expect(() => TokenOrTrustedHeaderGuard(['jwt', 'trusted-header'])).toThrow(/'trusted-header'/);
  });
});

/**
 * With persistent sessions the browser app's calls to /api carry the app's session cookie and no identity
 * headers (the proxy lets /api through): an ambient credential, so the token must still decide alone.
 */
describe.each(ADAPTERS)('API tokens beside a persistent session (%s)', (adapter) => {
  const { send } = useApiApp(adapter, {
    trustedIps: ['127.0.0.1'],
    createUnknownUser: true,
    session: 'persistent',
    sessionCookieSecure: false,
  });
  let cookie: [string, string];

  beforeAll(async () => {
    const login = await send('/api/whoami', [['Remote-User', 'frank']]);
    expect(login.body).toEqual({ username: 'frank', via: 'proxy' });
    cookie = ['Cookie', login.headers['set-cookie']!.split(';')[0]!];
  });

  it('admits the session without identity headers or a token', async () => {
    expect((await send('/api/whoami', [cookie])).body).toEqual({ username: 'frank', via: 'proxy' });
  });

  it('lets a token beside the session decide alone', async () => {
    expect((await send('/api/whoami', [cookie, bearer(sign('ann'))])).body).toEqual({ username: 'ann', via: 'token' });
    const invalid = await send('/api/whoami', [cookie, ['Authorization', 'Bearer garbage']]);
    expect(invalid.status).toBe(401);
    expect(invalid.body).toEqual(INVALID_TOKEN);
  });

  it('refuses the session cookie from an untrusted peer, and admits a token from there', async () => {
    const untrusted = await send('/api/whoami', [cookie], '127.0.0.2');
    expect(untrusted.status).toBe(401);
    expect(untrusted.body.reason).toBe('untrusted_proxy');
    const token = await send('/api/whoami', [cookie, bearer(sign('ann'))], '127.0.0.2');
    expect(token.body).toEqual({ username: 'ann', via: 'token' });
  });
});

/** Registered as the APP_GUARD, every route takes tokens, and @Groups() alone on a route still sees token users. */
describe.each(ADAPTERS)('TokenOrTrustedHeaderGuard as the APP_GUARD (%s)', (adapter) => {
  const { send } = useApiApp(
    adapter,
    { trustedIps: ['127.0.0.1'], createUnknownUser: true },
    { globalGuard: TokenOrTrustedHeaderGuard('jwt') },
  );

  it('admits either kind of user on every route', async () => {
    expect((await send('/me', [bearer(sign('ann'))])).body).toEqual({ username: 'ann', via: 'token' });
    expect((await send('/me', [['Remote-User', 'bob']])).body).toEqual({ username: 'bob', via: 'proxy' });
    const invalid = await send('/me', [
      ['Authorization', 'Bearer garbage'],
      ['Remote-User', 'bob'],
    ]);
    expect(invalid.body).toEqual(INVALID_TOKEN);
  });

  it("applies a route's @Groups() to both kinds of user", async () => {
    expect((await send('/reports', [bearer(sign('ann', ['reports']))])).body).toEqual({
      username: 'ann',
      via: 'token',
    });
    const tokenOutsider = await send('/reports', [bearer(sign('ann'))]);
    expect(tokenOutsider.status).toBe(403);
    expect(tokenOutsider.body.reason).toBe('missing_group');
    const proxyMember = await send('/reports', [
      ['Remote-User', 'carol'],
      ['Remote-Groups', 'staff'],
    ]);
    expect(proxyMember.body).toEqual({ username: 'carol', via: 'proxy' });
    expect((await send('/reports', [['Remote-User', 'dave']])).body.reason).toBe('missing_group');
    expect((await send('/reports')).body.reason).toBe('missing_identity');
  });
});

/** The admin API takes logins through the proxy only: a token user is never an admin there, whatever it claims. */
describe.each(ADAPTERS)('the admin API beside TokenOrTrustedHeaderGuard as the APP_GUARD (%s)', (adapter) => {
  const { send } = useApiApp(
    adapter,
    { trustedIps: ['127.0.0.1'], createUnknownUser: true, adminGroups: ['idp-admins'] },
    { globalGuard: TokenOrTrustedHeaderGuard('jwt') },
  );
  const adminClaims = (sub: string) =>
    jwt.sign({ sub, groups: ['admin'], isAdmin: true }, SECRET, { algorithm: 'HS256', expiresIn: '5m' });

  it('refuses a token that claims isAdmin or the admin group, from any peer (403 admin_required)', async () => {
    for (const localAddress of [undefined, '127.0.0.2']) {
      const refused = await send('/admin/users', [bearer(adminClaims('mallory'))], localAddress);
      expect({ status: refused.status, reason: refused.body.reason }).toEqual({
        status: 403,
        reason: 'admin_required',
      });
    }
  });

  it('still admits an admin logged in through the proxy', async () => {
    const admitted = await send('/admin/users', [
      ['Remote-User', 'root'],
      ['Remote-Groups', 'idp-admins'],
    ]);
    expect(admitted.status).toBe(200);
  });
});
