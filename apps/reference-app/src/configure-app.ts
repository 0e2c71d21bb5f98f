import type { INestApplication } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { TrustedHeaderErrorShapeFilter, type TrustedHeaderOptions } from 'nestjs-trusted-header';
import { setupOpenApi } from './openapi.js';

/** What the reference app adds to a created Nest application: one error shape everywhere, and /docs. */
export function configureApp(app: INestApplication, trustedHeader: TrustedHeaderOptions, openApi = true): void {
  app.useGlobalFilters(new TrustedHeaderErrorShapeFilter(app.get(HttpAdapterHost)));
  if (openApi) setupOpenApi(app, trustedHeader);
}
