import { Module, type DynamicModule } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { TerminusModule } from '@nestjs/terminus';
import { TypeOrmModule } from '@nestjs/typeorm';
import { TrustedHeaderGuard, TrustedHeaderModule, type TrustedHeaderOptions } from 'nestjs-trusted-header';
import { TrustedHeaderAdminModule } from 'nestjs-trusted-header/admin';
import type { DataSourceOptions } from 'typeorm';
import { DatabaseHealthIndicator } from './health/database.health.js';
import { HealthController } from './health/health.controller.js';
import { HomeController } from './home/home.controller.js';
import { MeController } from './me/me.controller.js';
import { MetricsController } from './metrics/metrics.controller.js';
import { PrometheusExposition, prometheusExposition } from './metrics/prometheus-exposition.js';
import { ReportsController } from './reports/reports.controller.js';

export interface AppModuleOptions {
  readonly trustedHeader: TrustedHeaderOptions;
  readonly dataSource: DataSourceOptions;
}

@Module({})
export class AppModule {
  static forRoot(options: AppModuleOptions): DynamicModule {
    // Before the library's module starts and makes its instruments from the global MeterProvider.
    const exposition = prometheusExposition();
    return {
      module: AppModule,
      imports: [
        TypeOrmModule.forRoot({ ...options.dataSource, retryAttempts: 3, retryDelay: 1000 }),
        TrustedHeaderModule.forRoot(options.trustedHeader),
        TrustedHeaderAdminModule.forRoot({ path: 'admin' }),
        TerminusModule.forRoot({ logger: false }),
      ],
      controllers: [HomeController, MeController, ReportsController, HealthController, MetricsController],
      // Every route needs a login unless marked @Public().
      providers: [
        { provide: APP_GUARD, useExisting: TrustedHeaderGuard },
        DatabaseHealthIndicator,
        { provide: PrometheusExposition, useValue: exposition },
      ],
    };
  }
}
