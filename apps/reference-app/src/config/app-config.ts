import { resolve } from 'node:path';
import { trustedHeaderOptionsFromEnv, type TrustedHeaderOptions } from 'nestjs-trusted-header';
import type { DatabaseConfig } from '../database/database-config.js';
import { httpsFilesFromEnv, type HttpsFiles } from '../https/https-options.js';
import type { LogFormat } from '../logging/app-logger.js';

export type HttpAdapterName = 'express' | 'fastify';

export interface AppConfig {
  readonly port: number;
  readonly host: string;
  readonly adapter: HttpAdapterName;
  /** Serve HTTPS with these files; null serves plain HTTP. */
  readonly https: HttpsFiles | null;
  readonly trustedHeader: TrustedHeaderOptions;
  readonly database: DatabaseConfig;
  readonly logFormat: LogFormat;
}

/**
 * LOG_FORMAT, read on its own so that main.ts can pick the log format before the rest of the configuration is
 * checked, and report those errors in it.
 */
export function logFormatFromEnv(env: NodeJS.ProcessEnv = process.env): LogFormat {
  const format = env.LOG_FORMAT ?? 'text';
  if (format !== 'text' && format !== 'json') {
    throw new Error(`LOG_FORMAT=${JSON.stringify(env.LOG_FORMAT)} must be text or json`);
  }
  return format;
}

/** Reads and validates the reference app's environment. The only place of the app that reads it. */
export function loadAppConfig(env: NodeJS.ProcessEnv = process.env): AppConfig {
  const logFormat = logFormatFromEnv(env);
  const trustedHeader = trustedHeaderOptionsFromEnv(env);
  const port = Number(env.PORT ?? 3000);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new Error(`PORT=${JSON.stringify(env.PORT)} is not a port number`);
  const adapter = (env.HTTP_ADAPTER ?? 'express') as HttpAdapterName;
  if (adapter !== 'express' && adapter !== 'fastify') {
    throw new Error(`HTTP_ADAPTER=${JSON.stringify(env.HTTP_ADAPTER)} must be express or fastify`);
  }
  return {
    port,
    host: env.HOST ?? '127.0.0.1',
    adapter,
    https: httpsFilesFromEnv(env),
    trustedHeader,
    database: {
      url: env.DATABASE_URL || undefined,
      pgliteDataDir: env.PGLITE_DATA_DIR?.startsWith('memory://')
        ? env.PGLITE_DATA_DIR
        : resolve(env.PGLITE_DATA_DIR ?? '.data/pglite'),
      timeoutMs: trustedHeader.databaseTimeoutMs ?? 2000,
    },
    logFormat,
  };
}
