import type { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ExpressAdapter } from '@nestjs/platform-express';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { AppModule, type AppModuleOptions } from './app.module.js';
import type { HttpAdapterName } from './config/app-config.js';
import { configureApp } from './configure-app.js';

/** Builds the reference app on Express or Fastify; used by main.ts and by the end-to-end tests. */
export async function createApp(
  options: AppModuleOptions,
  adapter: HttpAdapterName,
  nestOptions: { logger?: import('@nestjs/common').LoggerService | false } = {},
): Promise<INestApplication> {
  const httpAdapter = adapter === 'fastify' ? new FastifyAdapter() : new ExpressAdapter();
  const app = await NestFactory.create(AppModule.forRoot(options), httpAdapter, {
    ...nestOptions,
    abortOnError: false,
  });
  configureApp(app, options.trustedHeader);
  return app;
}
