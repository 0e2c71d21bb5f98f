import { Catch, HttpException, HttpStatus, Logger, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { reasonForStatus } from './generic-reasons.js';
import { toHttpError } from './http-mapping.js';

/**
 * Gives every error the library's shape, `{ statusCode, message, reason }`: also the ones Nest, Express or
 * Fastify raise themselves (malformed JSON, a body too large, an unknown route). Errors that are not HTTP
 * errors become 500 `internal_error` with no detail for the client and the cause in the log.
 * Register it with `app.useGlobalFilters(new TrustedHeaderErrorShapeFilter(app.get(HttpAdapterHost)))`.
 */
@Catch()
export class TrustedHeaderErrorShapeFilter implements ExceptionFilter {
  private readonly logger = new Logger('TrustedHeader');

  constructor(private readonly adapterHost: HttpAdapterHost) {}

  catch(thrown: unknown, host: ArgumentsHost): void {
    if (host.getType() !== 'http') throw thrown;
    // A domain error that reached the top without being mapped (a custom integration calling the services
    // directly) still gets its own status and reason, not a 500.
    const exception = toHttpError(thrown);
    const { httpAdapter } = this.adapterHost;
    const response = host.switchToHttp().getResponse();
    if (exception instanceof HttpException) {
      const status = exception.getStatus();
      const body = exception.getResponse();
      const object = typeof body === 'object' && body !== null ? (body as Record<string, unknown>) : { message: body };
      const message = Array.isArray(object.message)
        ? object.message.join('; ')
        : String(object.message ?? exception.message);
      const { error: _error, ...rest } = object;
      httpAdapter.reply(
        response,
        { ...rest, statusCode: status, message, reason: object.reason ?? reasonForStatus(status) },
        status,
      );
      return;
    }
    // Body parsers report their errors as plain errors carrying a status (Fastify) or statusCode (Express).
    const status = Number(
      (exception as { statusCode?: unknown; status?: unknown })?.statusCode ??
        (exception as { status?: unknown })?.status,
    );
    if (status >= 400 && status < 500) {
      const message = exception instanceof Error ? exception.message : 'Bad request';
      httpAdapter.reply(response, { statusCode: status, message, reason: reasonForStatus(status) }, status);
      return;
    }
    this.logger.error(
      `internal_error: ${exception instanceof Error ? (exception.stack ?? exception.message) : String(exception)}`,
    );
    httpAdapter.reply(
      response,
      { statusCode: HttpStatus.INTERNAL_SERVER_ERROR, message: 'Internal server error', reason: 'internal_error' },
      HttpStatus.INTERNAL_SERVER_ERROR,
    );
  }
}
