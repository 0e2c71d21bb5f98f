import { Logger, Module, RequestMethod, type MiddlewareConsumer, type NestModule } from '@nestjs/common';
import type { EventEmitter } from 'node:events';
import { HttpAdapterHost } from '@nestjs/core';
import { PassportModule } from '@nestjs/passport';
import { describeOptions } from './config/describe-options.js';
import { resolveTrustedHeaderOptions } from './config/resolve-options.js';
import type { ResolvedTrustedHeaderOptions, TrustedHeaderOptions } from './config/trusted-header-options.js';
import { TrustedHeaderGuard } from './guards/trusted-header.guard.js';
import { FASTIFY_REPLY, RequestInspector } from './request/request-inspector.service.js';
import { TrustedHeaderMiddleware } from './request/trusted-header.middleware.js';
import { declareRequestUser } from './request/fastify-request-user.js';
import { inspectBeforeMiddleware } from './request/early-inspection.js';
import { inspectOnArrival } from './request/express-arrival.js';
import { inspectOnServerArrival } from './request/fastify-arrival.js';
import { inspectBypassingRequests } from './request/upgrade-arrival.js';
import { TrustedHeaderStrategy } from './strategy/trusted-header.strategy.js';
import { DatabaseGate } from './persistence/database-gate.service.js';
import { TrustedHeaderMetrics } from './observability/trusted-header-metrics.js';
import { UserSyncService } from './sync/user-sync.service.js';
import { ChangeInvalidation } from './sync/change-invalidation.service.js';
import { ChangeListener } from './persistence/change-notifications/change-listener.service.js';
import { SessionLogin } from './session/session-login.service.js';
import { SessionStore } from './session/session-store.service.js';
import { LogoutService } from './session/logout.service.js';
import { registerLogoutRoute } from './session/logout-route.js';
import { Inject } from '@nestjs/common';
import { TRUSTED_HEADER_OPTIONS } from './trusted-header.constants.js';
import {
  ConfigurableTrustedHeaderModule,
  TRUSTED_HEADER_MODULE_OPTIONS,
  type OPTIONS_TYPE,
} from './trusted-header.module-definition.js';
import type { DynamicModule } from '@nestjs/common';

function resolveAndDescribe(options: TrustedHeaderOptions): ResolvedTrustedHeaderOptions {
  const resolved = resolveTrustedHeaderOptions(options);
  const logger = new Logger('TrustedHeader');
  for (const line of describeOptions(resolved)) logger.log(line);
  return resolved;
}

/** The part of a Fastify instance the module uses. */
interface FastifyHooks {
  addHook(name: 'onRequest', hook: (request: Record<string, unknown>, reply: unknown, done: () => void) => void): void;
  decorateRequest(name: string, value: null): void;
}

/**
 * `TrustedHeaderModule.forRoot({...})` or `.forRootAsync({ useFactory, inject })`; options from the
 * environment with `forRoot(trustedHeaderOptionsFromEnv())`. Needs a TypeORM DataSource (TypeOrmModule.forRoot)
 * that lists TRUSTED_HEADER_ENTITIES and runs TRUSTED_HEADER_MIGRATIONS.
 */
@Module({
  imports: [PassportModule],
  providers: [
    { provide: TRUSTED_HEADER_OPTIONS, useFactory: resolveAndDescribe, inject: [TRUSTED_HEADER_MODULE_OPTIONS] },
    // From the MeterProvider the application registered before creating the Nest application (if any).
    { provide: TrustedHeaderMetrics, useFactory: () => new TrustedHeaderMetrics() },
    RequestInspector,
    DatabaseGate,
    UserSyncService,
    ChangeListener,
    ChangeInvalidation,
    SessionStore,
    SessionLogin,
    LogoutService,
    TrustedHeaderStrategy,
    TrustedHeaderGuard,
  ],
  exports: [
    TRUSTED_HEADER_OPTIONS,
    TrustedHeaderMetrics,
    RequestInspector,
    DatabaseGate,
    UserSyncService,
    ChangeListener,
    SessionStore,
    SessionLogin,
    TrustedHeaderStrategy,
    TrustedHeaderGuard,
  ],
})
export class TrustedHeaderModule extends ConfigurableTrustedHeaderModule implements NestModule {
  private readonly logger = new Logger('TrustedHeader');

  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly inspector: RequestInspector,
    private readonly logout: LogoutService,
    @Inject(TRUSTED_HEADER_OPTIONS) private readonly options: ResolvedTrustedHeaderOptions,
  ) {
    super();
  }

  /** Validates the options right away, so bad options fail where they are written, before anything starts. */
  static override forRoot(options: typeof OPTIONS_TYPE): DynamicModule {
    resolveTrustedHeaderOptions(options);
    return super.forRoot(options);
  }

  /**
   * Inspects every request before routing, so identity headers of untrusted peers are gone before any
   * middleware, guard or handler runs. On Express and Fastify it happens as the request arrives: on Fastify in
   * the server's `request` listener (see inspectOnServerArrival), on Express as the request enters the Express
   * application, while it is still Node's own (see inspectOnArrival). The adapter's own request hook, ahead of
   * every middleware, Nest's and the application's, inspects again (see inspectBeforeMiddleware): it reports a
   * failure on arrival and covers a request that reached the application another way. Where the adapter keeps
   * no such hook, a native middleware / onRequest hook registered here, before any route, does it: Nest's
   * route-wide middleware costs a path match and a wrapper per request (on Fastify it goes through
   * @fastify/middie). Other adapters get that. Requests Node hands to the server's `upgrade` or `connect`
   * listeners (WebSocket handshakes), or to a `request` listener put in front of the adapter's, pass none of
   * that: they are inspected as the server emits them (see inspectBypassingRequests).
   */
  configure(consumer: MiddlewareConsumer): void {
    const adapter = this.adapterHost?.httpAdapter;
    const type = adapter?.getType();
    const server = adapter?.getHttpServer() as EventEmitter | undefined;
    /** The server's `request` listeners that inspect every request they get (see inspectBypassingRequests). */
    let covered: readonly unknown[] = [];
    if (type === 'fastify') {
      const fastify = adapter!.getInstance<FastifyHooks>();
      declareRequestUser(adapter!.getInstance());
      // Sessions set cookies, also through AuthGuard('trusted-header'), which hands the strategy only the
      // request: the reply rides on it, declared up front so that every Fastify request keeps one shape.
      const withReply = this.options.session !== null;
      if (withReply) fastify.decorateRequest(FASTIFY_REPLY, null);
      const inspect = (request: Record<string, unknown>, reply: unknown) => {
        if (withReply) request[FASTIFY_REPLY] = reply;
        this.inspector.inspect(request);
      };
      inspectOnServerArrival(server, (request) => this.inspector.inspectOnArrival(request));
      covered = server?.listeners('request') ?? [];
      if (!inspectBeforeMiddleware(adapter, inspect as (request: unknown, reply: unknown) => void)) {
        fastify.addHook('onRequest', (request, reply, done) => {
          inspect(request, reply);
          done();
        });
      }
    } else if (type === 'express') {
      const inspect = (request: unknown) => {
        this.inspector.inspect(request);
      };
      inspectOnArrival(adapter!.getInstance(), (request) => this.inspector.inspectOnArrival(request));
      // The server's listener is the Express application, whose `handle` inspects.
      covered = [adapter!.getInstance()];
      if (!inspectBeforeMiddleware(adapter, inspect)) {
        // Express puts the response on its request as `res`: nothing to keep.
        adapter!
          .getInstance<{ use(middleware: (request: unknown, response: unknown, next: () => void) => void): void }>()
          .use((request, _response, next) => {
            inspect(request);
            next();
          });
      }
    } else {
      consumer.apply(TrustedHeaderMiddleware).forRoutes({ path: '{*path}', method: RequestMethod.ALL });
    }
    // WebSocket handshakes and CONNECT requests reach the server's own listeners, never the adapter; so do the
    // requests of a `request` listener put in front of the adapter's (engine.io's long polling).
    inspectBypassingRequests(
      server,
      covered,
      (request) => this.inspector.inspect(request),
      (request, error) =>
        this.logger.error(
          `request_inspection_failed: ${request.method ?? ''} ${JSON.stringify(request.url ?? '')} closed: ` +
            (error instanceof Error ? error.message : String(error)),
        ),
    );
    // After the request hooks, so that they run first on the logout route too.
    if (adapter && this.options.logout !== null) registerLogoutRoute(adapter, this.options.logout.path, this.logout);
  }
}
