import { Logger, Module, RequestMethod, type MiddlewareConsumer, type NestModule } from '@nestjs/common';
import { PassportModule } from '@nestjs/passport';
import { resolveTrustedHeaderOptions } from './config/resolve-options.js';
import type { ResolvedTrustedHeaderOptions, TrustedHeaderOptions } from './config/trusted-header-options.js';
import { TrustedHeaderGuard } from './guards/trusted-header.guard.js';
import { RequestInspector } from './request/request-inspector.service.js';
import { TrustedHeaderMiddleware } from './request/trusted-header.middleware.js';
import { TrustedHeaderStrategy } from './strategy/trusted-header.strategy.js';
import { DatabaseGate } from './sync/database-gate.service.js';
import { UserSyncService } from './sync/user-sync.service.js';
import { TRUSTED_HEADER_OPTIONS } from './trusted-header.constants.js';
import {
  ConfigurableTrustedHeaderModule,
  TRUSTED_HEADER_MODULE_OPTIONS,
  type OPTIONS_TYPE,
} from './trusted-header.module-definition.js';
import type { DynamicModule } from '@nestjs/common';

function resolveAndDescribe(options: TrustedHeaderOptions): ResolvedTrustedHeaderOptions {
  const resolved = resolveTrustedHeaderOptions(options);
  const { headers } = resolved.identity;
  new Logger('TrustedHeader').log(
    `trusted proxies: ${resolved.trust.describe().join(', ')}; preset: ${resolved.preset ?? 'none'}; ` +
      `headers: ${headers.user}, ${headers.email}, ${headers.name}, ${headers.groups} (separator ${JSON.stringify(resolved.identity.groupsSeparator)}); ` +
      `create unknown users: ${resolved.createUnknownUser}`,
  );
  return resolved;
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
    RequestInspector,
    DatabaseGate,
    UserSyncService,
    TrustedHeaderStrategy,
    TrustedHeaderGuard,
  ],
  exports: [
    TRUSTED_HEADER_OPTIONS,
    RequestInspector,
    DatabaseGate,
    UserSyncService,
    TrustedHeaderStrategy,
    TrustedHeaderGuard,
  ],
})
export class TrustedHeaderModule extends ConfigurableTrustedHeaderModule implements NestModule {
  /** Validates the options right away, so bad options fail where they are written, before anything starts. */
  static override forRoot(options: typeof OPTIONS_TYPE): DynamicModule {
    resolveTrustedHeaderOptions(options);
    return super.forRoot(options);
  }

  configure(consumer: MiddlewareConsumer): void {
    consumer.apply(TrustedHeaderMiddleware).forRoutes({ path: '{*path}', method: RequestMethod.ALL });
  }
}
