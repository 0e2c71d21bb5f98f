import type { AbstractHttpAdapter } from '@nestjs/core';
import type { INestApplication, LoggerService, NestApplicationOptions } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ExpressAdapter } from '@nestjs/platform-express';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import type { ServerOptions as HttpsOptions } from 'node:https';
import { fastifyFrameworkErrors } from 'nestjs-trusted-header';
import { AppModule, type AppModuleOptions } from './app.module.js';
import type { HttpAdapterName } from './config/app-config.js';
import { configureApp } from './configure-app.js';

/**
 * The HTTP adapter by name. Fastify answers malformed URLs itself, before any Nest filter: its frameworkErrors
 * option gives those answers the library's error shape too. Fastify creates its server with the adapter, so
 * HTTPS is given here; Express's server is created by Nest from the application's `httpsOptions` (see
 * nestApplicationOptions).
 */
export function createHttpAdapter(adapter: HttpAdapterName, https: HttpsOptions | null = null): AbstractHttpAdapter {
  if (adapter === 'fastify') {
    return https === null
      ? new FastifyAdapter({ frameworkErrors: fastifyFrameworkErrors })
      : new FastifyAdapter({ https, frameworkErrors: fastifyFrameworkErrors });
  }
  return new ExpressAdapter();
}

/** The options of the Nest application beside its adapter: HTTPS for Express (Fastify ignores the field). */
export function nestApplicationOptions(
  https: HttpsOptions | null,
  logger?: LoggerService | false,
): NestApplicationOptions {
  return {
    ...(logger === undefined ? {} : { logger }),
    // Nest's HttpsOptions predates Node's types (its SNICallback signature differs); the object is passed as is.
    ...(https === null ? {} : { httpsOptions: https as NestApplicationOptions['httpsOptions'] }),
    abortOnError: false,
  };
}

/** Builds the reference app on Express or Fastify, over HTTPS when `https` is given; used by main.ts. */
export async function createApp(
  options: AppModuleOptions,
  adapter: HttpAdapterName,
  nestOptions: { logger?: LoggerService | false; https?: HttpsOptions | null } = {},
): Promise<INestApplication> {
  const https = nestOptions.https ?? null;
  const app = await NestFactory.create(
    AppModule.forRoot(options),
    createHttpAdapter(adapter, https),
    nestApplicationOptions(https, nestOptions.logger),
  );
  configureApp(app, options.trustedHeader);
  return app;
}
