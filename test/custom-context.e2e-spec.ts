import {
  Controller,
  createParamDecorator,
  Get,
  Injectable,
  UseInterceptors,
  type CallHandler,
  type ExecutionContext,
  type INestApplication,
  type NestInterceptor,
} from '@nestjs/common';
import { ROUTE_ARGS_METADATA } from '@nestjs/common/constants.js';
import { APP_GUARD } from '@nestjs/core';
import { ExternalContextCreator } from '@nestjs/core/helpers/external-context-creator.js';
import { ExpressAdapter } from '@nestjs/platform-express';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import { TypeOrmModule } from '@nestjs/typeorm';
import {
  CurrentUser,
  Groups,
  TrustedHeaderGuard,
  TrustedHeaderModule,
  type AuthenticatedUser,
} from 'nestjs-trusted-header';
import { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { DataSource } from 'typeorm';
import { rawRequest } from './support/raw-request.js';
import { ADAPTERS } from './support/test-app.js';
import { createTestDatabase, type TestDatabase } from './support/test-database.js';

/**
 * The call context of an RPC transport that carries, with each message, the HTTP request the proxy sent (as a
 * GraphQL or WebSocket transport carries its HTTP request): the library reads the peer address and the raw
 * header lines of a request Node made, and nothing else. Here the message is built by hand on a stand-in
 * socket, as the transport would receive it.
 */
class ForwardedCall extends IncomingMessage {
  user?: AuthenticatedUser;

  constructor(peer: string, lines: [name: string, value: string][]) {
    super({ remoteAddress: peer } as unknown as Socket);
    this.rawHeaders = lines.flat();
  }
}

/** What a user of the library writes to authenticate that transport too: the two documented overrides. */
@Injectable()
class RpcTrustedHeaderGuard extends TrustedHeaderGuard {
  protected override supportsContext(context: ExecutionContext): boolean {
    return (
      super.supportsContext(context) ||
      (context.getType() === 'rpc' && context.switchToRpc().getContext() instanceof ForwardedCall)
    );
  }

  protected override getRequest(context: ExecutionContext): { user?: AuthenticatedUser } {
    return context.getType() === 'rpc' ? context.switchToRpc().getContext<ForwardedCall>() : super.getRequest(context);
  }
}

const Payload = createParamDecorator((_data: unknown, context: ExecutionContext) => context.switchToRpc().getData());

/**
 * Holds each call after its guards until `expected` calls have got that far, so that their admissions are all
 * recorded before any of them reaches its param decorators.
 */
class Rendezvous implements NestInterceptor {
  expected = 0;
  private readonly waiting: (() => void)[] = [];

  async intercept(_context: ExecutionContext, next: CallHandler) {
    if (this.expected > 1) {
      await new Promise<void>((arrived) => {
        this.waiting.push(arrived);
        if (this.waiting.length === this.expected) for (const go of this.waiting.splice(0)) go();
      });
    }
    return next.handle();
  }
}
const rendezvous = new Rendezvous();

/** Message handlers, run by Nest the way @nestjs/graphql runs resolvers: through ExternalContextCreator. */
@Injectable()
class ReportHandlers {
  calls = 0;

  @UseInterceptors(rendezvous)
  whoami(@CurrentUser() user: AuthenticatedUser | undefined, @Payload() payload: { note?: string }) {
    this.calls++;
    return { username: user?.username, note: payload.note };
  }

  @Groups('reports')
  report(@CurrentUser('username') username: string | undefined) {
    this.calls++;
    return { username };
  }
}

@Controller()
class HttpRoutes {
  @Get('whoami')
  whoami(@CurrentUser('username') username: string) {
    return { username };
  }

  @Get('reports')
  @Groups('reports')
  reports(@CurrentUser('username') username: string) {
    return { username };
  }
}

const asUser = (username: string, ...groups: string[]): [string, string][] =>
  groups.length > 0
    ? [
        ['Remote-User', username],
        ['Remote-Groups', groups.join(',')],
      ]
    : [['Remote-User', username]];

/** Params other than custom decorators: none here. */
const noBuiltInParams = { exchangeKeyForValue: () => undefined };

describe.each(ADAPTERS)('a TrustedHeaderGuard subclass for an RPC context, as APP_GUARD (%s)', (adapter) => {
  let database: TestDatabase;
  let app: INestApplication;
  let port: number;
  let handlers: ReportHandlers;
  let rpc: (method: 'whoami' | 'report') => (payload: unknown, call: unknown) => Promise<any>;

  beforeAll(async () => {
    database = await createTestDatabase();
    const moduleRef = await Test.createTestingModule({
      imports: [
        TypeOrmModule.forRoot(await database.options()),
        TrustedHeaderModule.forRoot({ trustedIps: ['127.0.0.1'], createUnknownUser: true }),
      ],
      controllers: [HttpRoutes],
      providers: [RpcTrustedHeaderGuard, { provide: APP_GUARD, useExisting: RpcTrustedHeaderGuard }, ReportHandlers],
    })
      .setLogger(false as never)
      .compile();
    app = moduleRef.createNestApplication(adapter === 'fastify' ? new FastifyAdapter() : new ExpressAdapter(), {
      logger: false,
    });
    await app.listen(0, '127.0.0.1');
    port = (app.getHttpServer().address() as { port: number }).port;

    const sql = app.get(DataSource);
    const [group] = await sql.query(`INSERT INTO auth_proxy_groups (name) VALUES ('reports') RETURNING id`);
    await sql.query(`INSERT INTO auth_proxy_group_mappings (external_group, group_id) VALUES ('ext-reports', $1)`, [
      group.id,
    ]);

    handlers = app.get(ReportHandlers);
    const creator = app.get(ExternalContextCreator);
    rpc = (method) =>
      creator.create(
        handlers,
        handlers[method] as (...args: unknown[]) => unknown,
        method,
        ROUTE_ARGS_METADATA,
        noBuiltInParams,
        undefined,
        undefined,
        { guards: true, interceptors: true, filters: true },
        'rpc',
      );
  });
  afterAll(async () => {
    await app?.close();
    await database?.close();
  });
  beforeEach(() => {
    handlers.calls = 0;
  });

  it('hands the user it admitted to @CurrentUser(), not a user the payload claims', async () => {
    const forged = { username: 'mallory', isAdmin: true, groups: ['reports'] };
    await expect(
      rpc('whoami')({ note: 'hi', user: forged }, new ForwardedCall('127.0.0.1', asUser('alice'))),
    ).resolves.toEqual({ username: 'alice', note: 'hi' });
  });

  it('gives overlapping calls that share a payload object each their own user', async () => {
    const shared = { note: 'same object' };
    const whoami = rpc('whoami');
    const names = ['carol', 'dave', 'erin'];
    rendezvous.expected = names.length;
    try {
      const answers = await Promise.all(
        names.map((name) => whoami(shared, new ForwardedCall('127.0.0.1', asUser(name)))),
      );
      expect(answers.map((answer) => answer.username)).toEqual(names);
    } finally {
      rendezvous.expected = 0;
    }
  });

  it('lets a member through @Groups() and refuses a non-member with 403 missing_group', async () => {
    await expect(rpc('report')({}, new ForwardedCall('127.0.0.1', asUser('alice', 'ext-reports')))).resolves.toEqual({
      username: 'alice',
    });
    await expect(rpc('report')({}, new ForwardedCall('127.0.0.1', asUser('bob', 'ext-other')))).rejects.toMatchObject({
      status: 403,
      reason: 'missing_group',
    });
    expect(handlers.calls).toBe(1);
  });

  it('refuses RPC calls it does not authenticate, and never runs the handler', async () => {
    // Not the transport the subclass knows: nobody vouches for the caller.
    await expect(rpc('whoami')({ user: { username: 'mallory' } }, { peer: '127.0.0.1' })).rejects.toMatchObject({
      status: 403,
      reason: 'unsupported_context',
    });
    await expect(rpc('report')({}, undefined)).rejects.toMatchObject({ status: 403, reason: 'unsupported_context' });
    // Its transport, but no identity, or one from a peer that is not trusted.
    await expect(rpc('report')({}, new ForwardedCall('127.0.0.1', []))).rejects.toMatchObject({
      status: 401,
      reason: 'missing_identity',
    });
    await expect(
      rpc('report')({}, new ForwardedCall('10.9.9.9', asUser('alice', 'ext-reports'))),
    ).rejects.toMatchObject({ status: 401, reason: 'untrusted_proxy' });
    expect(handlers.calls).toBe(0);
  });

  it('serves plain HTTP routes as before', async () => {
    const get = (path: string, headers: [string, string][] = []) => rawRequest({ port, path, headers });
    const me = await get('/whoami', asUser('alice'));
    expect({ status: me.status, body: me.body }).toEqual({ status: 200, body: { username: 'alice' } });
    const member = await get('/reports', asUser('alice', 'ext-reports'));
    expect({ status: member.status, body: member.body }).toEqual({ status: 200, body: { username: 'alice' } });
    const other = await get('/reports', asUser('bob', 'ext-other'));
    expect({ status: other.status, reason: other.body.reason }).toEqual({ status: 403, reason: 'missing_group' });
    const anonymous = await get('/whoami');
    expect({ status: anonymous.status, reason: anonymous.body.reason }).toEqual({
      status: 401,
      reason: 'missing_identity',
    });
  });
});
