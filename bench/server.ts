/**
 * One benchmark server variant per process: `node dist/bench/server.js <variant> <adapter> <port>` (0: a free port);
 * it prints `READY <port>` once it listens.
 * Every variant answers GET /hello with the same JSON body from the same controller; only what runs before it
 * differs:
 *   raw    node:http, no framework (the ceiling)
 *   none   Nest, no authentication
 *   noop   Nest with a global guard that allows everything and the database the guard variant uses (TypeORM,
 *          embedded PGlite unless DATABASE_URL): everything `guard` has but the library
 *   guard  Nest with TrustedHeaderGuard as the global guard (users in embedded PGlite, or DATABASE_URL)
 *   session  `guard` with persistent sessions (`session: 'persistent'`, cookie without Secure), plus GET
 *          /bench/me: the driver logs in once with the identity headers, then sends only the session cookie
 *   bare   `noop` whose global guard does the least a guard trusting a proxy's header can do: the peer's address
 *          compared with one address, the username header read from the parsed headers, the user looked up in a
 *          Map; none of the library's defences. The floor under the guard variants
 *   jwt    Nest with passport-jwt verifying an HS256 bearer token (what teams use instead)
 *   assertion  `guard` whose proxy signs the identity: an ES256 JWT in X-Jwt-Assertion, verified with the public
 *          key in the file BENCH_ASSERTION_KEY_FILE names (username from `sub`, plus `email` and `groups`),
 *          plus GET /bench/me
 *   cold   `guard` plus the admin API and GET /bench/me: first logins, mapping changes, cache memory
 *
 * The driver asks for counters over the IPC channel, so no variant serves a route the others lack:
 * `cpu` (process CPU time), `stats` (database statements since `reset`, by statement), `memory` (after a
 * full GC), `trace-start` / `trace-stop` (the text and parameters of every statement in between).
 */
import 'reflect-metadata';
import {
  Controller,
  Get,
  Injectable,
  Module,
  UnauthorizedException,
  type DynamicModule,
  type ExecutionContext,
} from '@nestjs/common';
import { APP_GUARD, NestFactory } from '@nestjs/core';
import { AuthGuard, PassportModule, PassportStrategy } from '@nestjs/passport';
import { ExpressAdapter } from '@nestjs/platform-express';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { TypeOrmModule } from '@nestjs/typeorm';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import { createSecretKey } from 'node:crypto';
import type { AddressInfo, Socket } from 'node:net';
import { Session } from 'node:inspector/promises';
import {
  CurrentUser,
  TrustedHeaderGuard,
  TrustedHeaderModule,
  UserSyncService,
  type AuthenticatedUser,
} from 'nestjs-trusted-header';
import { TrustedHeaderAdminModule } from 'nestjs-trusted-header/admin';
import { SessionStore } from 'nestjs-trusted-header/building-blocks';
import { ExtractJwt, Strategy as JwtStrategy } from 'passport-jwt';
import type { Logger as TypeOrmLogger } from 'typeorm';
import { openDatabase } from '../apps/reference-app/src/database/open-database.js';
import { ASSERTION, JWT_SECRET, type ServerReply, type ServerRequest, type TracedStatement } from './shared.js';

const BODY = { ok: true, user: 'bench-user' };

class StatementCounter implements TypeOrmLogger {
  statements = 0;
  writes = 0;
  /** Each distinct statement (its first line, whitespace collapsed) and how often it ran. */
  readonly seen = new Map<string, number>();
  /** While tracing (`trace-start` until `trace-stop`): each statement's full text and parameters. */
  trace: TracedStatement[] | undefined;
  logQuery(query: string, parameters?: unknown[] | object): void {
    this.statements += 1;
    this.trace?.push(Array.isArray(parameters) ? { query, parameters: [...parameters] } : { query });
    if (/^\s*(INSERT|UPDATE|DELETE)\b/i.test(query)) this.writes += 1;
    const text = query.replace(/\s+/g, ' ').trim().slice(0, 120);
    this.seen.set(text, (this.seen.get(text) ?? 0) + 1);
  }
  logQueryError(): void {}
  logQuerySlow(): void {}
  logSchemaBuild(): void {}
  logMigration(): void {}
  log(): void {}
}
const counter = new StatementCounter();

@Controller()
class HelloController {
  @Get('hello')
  hello() {
    return BODY;
  }
}

@Controller('bench')
class BenchMeController {
  @Get('me')
  me(@CurrentUser() user: AuthenticatedUser) {
    return { username: user.username, groups: user.groups };
  }
}

@Injectable()
class AllowAllGuard {
  canActivate(): boolean {
    return true;
  }
}

/** (bare): who the proxy says the bench user is, as the bare guard keeps it. */
const BARE_USERS = new Map([['bench-user', { username: 'bench-user', groups: ['staff', 'finance'] }]]);

/**
 * (bare): the least a guard that trusts a proxy's header can do, to show what any such guard costs in Nest. It
 * is not safe: duplicate and look-alike headers, Connection, and an untrusted peer's headers reaching the
 * handlers are all let through.
 */
@Injectable()
class BareHeaderGuard {
  canActivate(context: ExecutionContext): boolean {
    const request = context
      .switchToHttp()
      .getRequest<{ socket: Socket; headers: IncomingHttpHeaders; user?: unknown }>();
    if (request.socket.remoteAddress !== '127.0.0.1') throw new UnauthorizedException();
    const name = request.headers['remote-user'];
    const user = typeof name === 'string' ? BARE_USERS.get(name) : undefined;
    if (user === undefined) throw new UnauthorizedException();
    request.user = user;
    return true;
  }
}

@Injectable()
class BenchJwtStrategy extends PassportStrategy(JwtStrategy, 'jwt') {
  constructor() {
    // A KeyObject, not the string: jsonwebtoken 9 first tries a string or Buffer secret as a public key
    // (createPublicKey, which throws), about 340 µs per verification here against 6 µs (docs/performance.md).
    // passport-jwt hands it to jsonwebtoken as it is; its types predate KeyObject.
    super({
      jwtFromRequest: ExtractJwt.fromAuthHeaderAsBearerToken(),
      secretOrKey: createSecretKey(Buffer.from(JWT_SECRET)) as unknown as Buffer,
      algorithms: ['HS256'],
    });
  }
  validate(payload: { sub: string }) {
    return { username: payload.sub };
  }
}

@Module({})
class BenchModule {
  static async forVariant(variant: string): Promise<DynamicModule> {
    if (variant === 'none') return { module: BenchModule, controllers: [HelloController] };
    if (variant === 'jwt') {
      return {
        module: BenchModule,
        imports: [PassportModule],
        controllers: [HelloController],
        providers: [BenchJwtStrategy, { provide: APP_GUARD, useClass: AuthGuard('jwt') }],
      };
    }
    const database = await openDatabase({
      url: process.env.DATABASE_URL || undefined,
      pgliteDataDir: 'memory://',
      timeoutMs: 5000,
      poolSize: 20,
    });
    if (variant === 'noop' || variant === 'bare') {
      return {
        module: BenchModule,
        imports: [TypeOrmModule.forRoot({ ...database.options, logger: counter, logging: ['query'] })],
        controllers: [HelloController],
        providers: [{ provide: APP_GUARD, useClass: variant === 'bare' ? BareHeaderGuard : AllowAllGuard }],
      };
    }
    const cold = variant === 'cold';
    const session = variant === 'session';
    const assertion = variant === 'assertion';
    return {
      module: BenchModule,
      imports: [
        TypeOrmModule.forRoot({ ...database.options, logger: counter, logging: ['query'] }),
        TrustedHeaderModule.forRoot({
          createUnknownUser: true,
          adminGroups: ['bench-admins'],
          cacheMaxEntries: 10_000,
          // Under valgrind (bench:instructions) a request runs a hundred times slower: the identity would expire
          // and be read again inside the counted window, and a database round could pass the 2-second bound.
          ...(process.env.BENCH_UNDER_VALGRIND === '1' ? { syncTtlSeconds: 3_600, databaseTimeoutMs: 120_000 } : {}),
          ...(session ? { session: 'persistent' as const, sessionCookieSecure: false } : {}),
          ...(assertion ? { assertion: assertionOptions() } : {}),
        }),
        ...(cold ? [TrustedHeaderAdminModule.forRoot({ path: 'admin' })] : []),
      ],
      controllers: cold || session || assertion ? [HelloController, BenchMeController] : [HelloController],
      providers: [{ provide: APP_GUARD, useExisting: TrustedHeaderGuard }],
    };
  }
}

function assertionOptions() {
  const publicKeyFile = process.env[ASSERTION.keyFileEnv];
  if (!publicKeyFile) throw new Error(`the assertion variant needs ${ASSERTION.keyFileEnv}: a public key PEM file`);
  return {
    header: ASSERTION.header,
    issuer: ASSERTION.issuer,
    audience: ASSERTION.audience,
    publicKeyFile,
    algorithms: [ASSERTION.algorithm],
    emailClaim: 'email',
    groupsClaim: 'groups',
  };
}

interface Caches {
  identities: () => number | undefined;
  sessions: () => number | undefined;
  /** Drops every cached user (UserSyncService.invalidate). */
  forget: () => void;
}

function answer(request: ServerRequest, caches: Caches): ServerReply {
  if (request === 'stats') {
    return {
      statements: counter.statements,
      writes: counter.writes,
      queries: [...counter.seen].map(([text, count]) => ({ text, count })),
      cachedSessions: caches.sessions(),
    };
  }
  if (request === 'reset') {
    counter.statements = 0;
    counter.writes = 0;
    counter.seen.clear();
    return {};
  }
  if (request === 'trace-start') {
    counter.trace = [];
    return {};
  }
  if (request === 'trace-stop') {
    const trace = counter.trace ?? [];
    counter.trace = undefined;
    return { trace };
  }
  if (request === 'forget-identities') {
    caches.forget();
    return {};
  }
  if (request === 'memory') {
    (globalThis as { gc?: () => void }).gc?.();
    const { rss, heapUsed } = process.memoryUsage();
    return { rss, heapUsed, cachedIdentities: caches.identities() };
  }
  const { user, system } = process.cpuUsage();
  return { cpuMicros: user + system };
}

/**
 * `profile-start` / `profile-stop`: a V8 CPU profile of exactly the requests between the two, through the
 * inspector, so that start-up and warm-up stay out of it.
 */
const inspector = new Session();
async function profile(request: 'profile-start' | 'profile-stop'): Promise<ServerReply> {
  if (request === 'profile-start') {
    inspector.connect();
    await inspector.post('Profiler.enable');
    await inspector.post('Profiler.setSamplingInterval', { interval: 100 });
    await inspector.post('Profiler.start');
    return {};
  }
  const { profile: taken } = await inspector.post('Profiler.stop');
  inspector.disconnect();
  return { profile: taken };
}

async function main(): Promise<void> {
  const [variant = 'none', adapter = 'express', portText = '0'] = process.argv.slice(2);
  const port = Number(portText);
  const caches: Caches = { identities: () => undefined, sessions: () => undefined, forget: () => undefined };
  process.on('message', (request: ServerRequest) => {
    if (request === 'profile-start' || request === 'profile-stop') {
      void profile(request).then((reply) => process.send?.(reply));
    } else {
      process.send?.(answer(request, caches));
    }
  });
  if (variant === 'raw') {
    const payload = JSON.stringify(BODY);
    const server = createServer((_request, response) => {
      response.writeHead(200, { 'Content-Type': 'application/json; charset=utf-8' }).end(payload);
    });
    server.listen(port, '127.0.0.1', () => console.log(`READY ${(server.address() as AddressInfo).port}`));
    return;
  }
  const app = await NestFactory.create(
    await BenchModule.forVariant(variant),
    adapter === 'fastify' ? new FastifyAdapter() : new ExpressAdapter(),
    { logger: ['error', 'warn'] },
  );
  await app.listen(port, '127.0.0.1');
  if (variant === 'guard' || variant === 'cold' || variant === 'session' || variant === 'assertion') {
    const sync = app.get(UserSyncService);
    caches.identities = () => sync.cachedIdentityCount;
    caches.forget = () => sync.invalidate();
  }
  if (variant === 'session') {
    const sessions = app.get(SessionStore);
    caches.sessions = () => sessions.cachedSessionCount;
  }
  console.log(`READY ${(app.getHttpServer().address() as AddressInfo).port}`);
}

process.on('SIGTERM', () => process.exit(0)); // lets --cpu-prof write its profile
void main();
