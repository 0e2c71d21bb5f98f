import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { loadAppConfig, logFormatFromEnv } from './config/app-config.js';
import { createApp } from './create-app.js';
import { httpsServerOptions } from './https/https-options.js';
import { openDatabase } from './database/open-database.js';
import { createAppLogger } from './logging/app-logger.js';

async function bootstrap(): Promise<void> {
  const logger = new Logger('ReferenceApp');
  let config;
  let https;
  let appLogger;
  try {
    // The format first, so that every later line, configuration errors included, is written in it.
    appLogger = createAppLogger(logFormatFromEnv());
    Logger.overrideLogger(appLogger);
    config = loadAppConfig();
    https = httpsServerOptions(config.https, config.trustedHeader);
  } catch (error) {
    // A configuration error is the operator's to fix: print the message, not a stack trace.
    logger.error(error instanceof Error ? error.message : String(error));
    process.exit(1);
  }
  const database = await openDatabase(config.database);
  logger.log(`database: ${database.description}`);
  const app = await createApp({ trustedHeader: config.trustedHeader, dataSource: database.options }, config.adapter, {
    https,
    logger: appLogger,
  });
  // Signals are handled here rather than by Nest's shutdown hooks, which re-raise the signal: closing the
  // app and then the embedded database lets PGlite flush its data directory and the process exit with 0.
  const close = async () => {
    logger.log('shutting down');
    await app.close();
    await database.close();
    process.exit(0);
  };
  process.once('SIGINT', close);
  process.once('SIGTERM', close);
  await app.listen(config.port, config.host);
  const scheme = https === null ? 'http' : 'https';
  const clientCertificates = https?.requestCert ? ', client certificates requested' : '';
  logger.log(`listening on ${scheme}://${config.host}:${config.port} (${config.adapter}${clientCertificates})`);
}

void bootstrap();
