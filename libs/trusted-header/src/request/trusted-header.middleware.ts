import { Injectable, type NestMiddleware } from '@nestjs/common';
import { RequestInspector } from './request-inspector.service.js';

/**
 * Runs the inspection before routing, so identity headers from untrusted peers are gone before any guard,
 * interceptor, pipe or controller (including @Public() ones) could read them.
 */
@Injectable()
export class TrustedHeaderMiddleware implements NestMiddleware {
  constructor(private readonly inspector: RequestInspector) {}

  use(request: unknown, response: unknown, next: (error?: unknown) => void): void {
    this.inspector.inspect(request, response);
    next();
  }
}
