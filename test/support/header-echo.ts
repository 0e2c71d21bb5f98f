import { Controller, Get, Req } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { Public, UserSyncService, type TrustedHeaderOptions } from 'nestjs-trusted-header';
import { DataSource, type DataSourceOptions } from 'typeorm';
import { AppModule } from '../../apps/reference-app/src/app.module.js';
import type { HttpAdapterName } from '../../apps/reference-app/src/config/app-config.js';
import { configureApp } from '../../apps/reference-app/src/configure-app.js';
import { createHttpAdapter } from '../../apps/reference-app/src/create-app.js';
import { CapturedLogger } from './captured-logger.js';
import { QueryCounter } from './query-counter.js';
import { rawRequest } from './raw-request.js';
import type { TestApp } from './test-app.js';

interface AnyRequest {
  headers: Record<string, unknown>;
  raw?: { rawHeaders: string[] };
  rawHeaders?: string[];
}

/** Every header a handler can read after the library has run, under every name and in the raw lines. */
@Controller('echo')
export class HeaderEchoController {
  @Get('headers')
  @Public()
  headers(@Req() request: AnyRequest) {
    const rawHeaders = request.raw?.rawHeaders ?? request.rawHeaders ?? [];
    return {
      headers: request.headers,
      rawNames: rawHeaders.filter((_, i) => i % 2 === 0).map((name) => name.toLowerCase()),
      rawValues: rawHeaders.filter((_, i) => i % 2 === 1),
    };
  }
}

/**
 * One capture for the apps of a test file, as in test-app.ts: Nest's Logger is process-wide, so the last
 * application started receives every line.
 */
const logs = new CapturedLogger();

/**
 * The reference app, as startTestApp starts it, with HeaderEchoController beside its own routes: for checks
 * that a header outside the `Remote-*` family (a shared secret, a proxy's unsigned companion) never reaches a
 * handler.
 */
export async function startHeaderEchoApp(
  adapter: HttpAdapterName,
  trustedHeader: TrustedHeaderOptions,
  dataSource: DataSourceOptions,
): Promise<TestApp> {
  const queries = new QueryCounter();
  const moduleRef = await Test.createTestingModule({
    imports: [
      AppModule.forRoot({
        trustedHeader,
        dataSource: { ...dataSource, logger: queries, logging: ['query'] } as DataSourceOptions,
      }),
    ],
    controllers: [HeaderEchoController],
  })
    .setLogger(logs)
    .compile();
  const app = moduleRef.createNestApplication(createHttpAdapter(adapter), { logger: logs });
  configureApp(app, trustedHeader, false);
  await app.listen(0, '127.0.0.1');
  const { port } = app.getHttpServer().address() as { port: number };
  const source = app.get(DataSource);
  return {
    app,
    port,
    logs,
    queries,
    dataSource: source,
    request: (path, headers = [], extra = {}) => rawRequest({ port, path, headers, ...extra }),
    invalidate: () => app.get(UserSyncService).invalidate(),
    sql: (query, parameters) => source.query(query, parameters),
    close: () => app.close(),
  };
}
