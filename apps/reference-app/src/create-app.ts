import type { AbstractHttpAdapter } from '@nestjs/core';
import type { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ExpressAdapter } from '@nestjs/platform-express';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { fastifyFrameworkErrors } from 'nestjs-trusted-header';
import { AppModule, type AppModuleOptions } from './app.module.js';
import type { HttpAdapterName } from './config/app-config.js';
import { configureApp } from './configure-app.js';

/**
 * The HTTP adapter by name. Fastify answers malformed URLs itself, before any Nest filter: its frameworkErrors
 * option gives those answers the library's error shape too.
 */
export function createHttpAdapter(adapter: HttpAdapterName): AbstractHttpAdapter {
  return adapter === 'fastify' ? new FastifyAdapter({ frameworkErrors: fastifyFrameworkErrors }) : new ExpressAdapter();
}

/** Builds the reference app on Express or Fastify; used by main.ts and by the end-to-end tests. */
export async function createApp(
  options: AppModuleOptions,
  adapter: HttpAdapterName,
  nestOptions: { logger?: import('@nestjs/common').LoggerService | false } = {},
): Promise<INestApplication> {
  const app = await NestFactory.create(AppModule.forRoot(options), createHttpAdapter(adapter), {
    ...nestOptions,
    abortOnError: false,
  });
  configureApp(app, options.trustedHeader);
  return app;
}
