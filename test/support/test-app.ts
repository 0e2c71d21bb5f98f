import type { INestApplication, Provider } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { UserSyncService, type TrustedHeaderOptions } from 'nestjs-trusted-header';
import { ChangeListener } from 'nestjs-trusted-header/building-blocks';
import { DataSource, type DataSourceOptions } from 'typeorm';
import { AppModule } from '../../apps/reference-app/src/app.module.js';
import type { HttpAdapterName } from '../../apps/reference-app/src/config/app-config.js';
import { configureApp } from '../../apps/reference-app/src/configure-app.js';
import { createHttpAdapter } from '../../apps/reference-app/src/create-app.js';
import { ProbeController } from './probe.controller.js';
import { CapturedLogger } from './captured-logger.js';
import { QueryCounter } from './query-counter.js';
import { rawRequest, type RawRequestOptions, type RawResponse } from './raw-request.js';
import { createTestDatabase, type TestDatabase } from './test-database.js';

export const ADAPTERS: HttpAdapterName[] = ['express', 'fastify'];

/**
 * Nest's Logger is process-wide: the last application started receives every Logger call. One capture per
 * test file therefore sees the lines of all its apps; assertions use unique names or count differences.
 */
const logs = new CapturedLogger();

export interface TestApp {
  readonly app: INestApplication;
  readonly port: number;
  readonly logs: CapturedLogger;
  readonly queries: QueryCounter;
  readonly dataSource: DataSource;
  /** Sends a request from the trusted loopback peer unless `localAddress` says otherwise. */
  request(
    path: string,
    headers?: RawRequestOptions['headers'],
    extra?: Partial<RawRequestOptions>,
  ): Promise<RawResponse>;
  /** Forgets cached identities, as the admin API does after a change. */
  invalidate(): void;
  /** Runs SQL through the app's own connection pool. */
  sql<T = any>(query: string, parameters?: unknown[]): Promise<T[]>;
  close(): Promise<void>;
}

/**
 * Starts the reference app's module (plus a probe controller) on a random port, the NestJS e2e way. The app
 * imports the library by its package name; Jest maps that name to the library's sources.
 */
export async function startTestApp(
  adapter: HttpAdapterName,
  trustedHeader: TrustedHeaderOptions,
  dataSource: DataSourceOptions,
  host = '127.0.0.1',
  /** Runs on the created app before it initialises: where an application registers its own plugins. */
  beforeListen: (app: INestApplication) => void | Promise<void> = () => {},
  /** More providers of the application, such as a WebSocket gateway. */
  providers: Provider[] = [],
): Promise<TestApp> {
  const queries = new QueryCounter();
  const moduleRef = await Test.createTestingModule({
    imports: [
      AppModule.forRoot({
        trustedHeader,
        dataSource: { ...dataSource, logger: queries, logging: ['query'] } as DataSourceOptions,
      }),
    ],
    controllers: [ProbeController],
    providers,
  })
    .setLogger(logs)
    .compile();
  const app = moduleRef.createNestApplication(createHttpAdapter(adapter), {
    logger: logs,
  });
  // On Fastify, Swagger UI loads @fastify/static, which requires an ESM-only module that Jest's module loader
  // cannot require(); Node itself can, and test/reference-app.e2e-spec.ts checks /docs on Fastify there.
  configureApp(app, trustedHeader, adapter === 'express');
  await beforeListen(app);
  await app.listen(0, host);
  await settled(app.get(ChangeListener));
  const address = app.getHttpServer().address() as { port: number };
  const source = app.get(DataSource);
  return {
    app,
    port: address.port,
    logs,
    queries,
    dataSource: source,
    request: (path, headers = [], extra = {}) => rawRequest({ port: address.port, path, headers, ...extra }),
    invalidate: () => app.get(UserSyncService).invalidate(),
    sql: (query, parameters) => source.query(query, parameters),
    close: () => app.close(),
  };
}

/**
 * Waits (at most 10 s) until the change listener has either LISTENed or found it cannot: its first LISTEN tells
 * the caches that everything changed, and on a loaded machine that could land in the middle of a test that
 * counts on a cached user. A database that stays unreachable is the test's own business, so this never fails.
 */
async function settled(listener: ChangeListener): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (listener.state === 'starting' && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  // The drop the first LISTEN publishes is applied in a batched pass (a timer); let it run before the test starts.
  if (listener.state === 'listening') await new Promise((resolve) => setTimeout(resolve, 30));
}

/**
 * A fresh database and the app on it for one `describe` block: started before its tests, closed after them.
 * Read `api` inside tests (it exists once beforeAll has run); `setUp` runs once after the start.
 */
export function useTestApp(
  adapter: HttpAdapterName,
  trustedHeader: TrustedHeaderOptions,
  setUp?: (api: TestApp) => Promise<void>,
): { readonly api: TestApp; readonly database: TestDatabase } {
  let database: TestDatabase | undefined;
  let api: TestApp | undefined;
  beforeAll(async () => {
    database = await createTestDatabase();
    api = await startTestApp(adapter, trustedHeader, await database.options());
    await setUp?.(api);
  });
  afterAll(async () => {
    await api?.close();
    await database?.close();
  });
  return {
    get api() {
      if (!api) throw new Error('the test app is not started yet: use it inside a test');
      return api;
    },
    get database() {
      if (!database) throw new Error('the test database is not created yet: use it inside a test');
      return database;
    },
  };
}
