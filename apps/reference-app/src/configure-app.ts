import type { INestApplication } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { shapeClientErrors, TrustedHeaderErrorShapeFilter, type TrustedHeaderOptions } from 'nestjs-trusted-header';
import { setupOpenApi } from './openapi.js';

/**
 * What the reference app adds to a created Nest application: one error shape everywhere (errors of Nest and
 * the adapters through the filter, requests Node's parser refuses through shapeClientErrors), and /docs.
 */
export function configureApp(app: INestApplication, trustedHeader: TrustedHeaderOptions, openApi = true): void {
  app.useGlobalFilters(new TrustedHeaderErrorShapeFilter(app.get(HttpAdapterHost)));
  shapeClientErrors(app.getHttpServer());
  if (openApi) setupOpenApi(app, trustedHeader);
}
