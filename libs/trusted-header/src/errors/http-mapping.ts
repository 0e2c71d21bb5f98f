import { HttpStatus, Injectable, type CallHandler, type ExecutionContext, type NestInterceptor } from '@nestjs/common';
import { catchError, throwError, type Observable } from 'rxjs';
import { TrustedHeaderError } from './domain-errors.js';
import type { RejectionReason } from './rejection-reason.js';
import { TrustedHeaderException } from './trusted-header.exception.js';

/** The one table from reason code to HTTP status. */
export const STATUS_OF_REASON: Readonly<Record<RejectionReason, HttpStatus>> = Object.freeze({
  untrusted_proxy: HttpStatus.UNAUTHORIZED,
  missing_identity: HttpStatus.UNAUTHORIZED,
  unknown_user: HttpStatus.UNAUTHORIZED,
  duplicate_header: HttpStatus.BAD_REQUEST,
  header_twin: HttpStatus.BAD_REQUEST,
  hop_by_hop_header: HttpStatus.BAD_REQUEST,
  header_list_truncated: 431 as HttpStatus, // Request Header Fields Too Large (RFC 6585); not in Nest's enum
  invalid_header_encoding: HttpStatus.BAD_REQUEST,
  invalid_username: HttpStatus.BAD_REQUEST,
  invalid_email: HttpStatus.BAD_REQUEST,
  invalid_display_name: HttpStatus.BAD_REQUEST,
  invalid_groups: HttpStatus.BAD_REQUEST,
  too_many_groups: HttpStatus.BAD_REQUEST,
  value_too_long: HttpStatus.BAD_REQUEST,
  user_disabled: HttpStatus.FORBIDDEN,
  username_taken: HttpStatus.CONFLICT,
  missing_group: HttpStatus.FORBIDDEN,
  unsupported_context: HttpStatus.FORBIDDEN,
  invalid_session: HttpStatus.UNAUTHORIZED,
  cross_site_request: HttpStatus.FORBIDDEN,
  invalid_token: HttpStatus.UNAUTHORIZED,
  admin_required: HttpStatus.FORBIDDEN,
  unsupported_media_type: HttpStatus.UNSUPPORTED_MEDIA_TYPE,
  validation_failed: HttpStatus.BAD_REQUEST,
  not_found: HttpStatus.NOT_FOUND,
  conflict: HttpStatus.CONFLICT,
  database_unavailable: HttpStatus.SERVICE_UNAVAILABLE,
  assertion_keys_unavailable: HttpStatus.SERVICE_UNAVAILABLE,
});

/** The HTTP answer to a refusal: status from the table, the reason and message as they are. */
export function httpExceptionFor(reason: RejectionReason, message: string, cause?: unknown): TrustedHeaderException {
  return new TrustedHeaderException(STATUS_OF_REASON[reason], reason, message, cause);
}

/** Domain errors become their HTTP answer (keeping the error as `cause`); anything else passes unchanged. */
export function toHttpError(error: unknown): unknown {
  return error instanceof TrustedHeaderError ? httpExceptionFor(error.reason, error.message, error) : error;
}

/** Maps the domain errors a controller's services throw to their HTTP answer. */
@Injectable()
export class DomainErrorsInterceptor implements NestInterceptor {
  intercept(_context: ExecutionContext, next: CallHandler): Observable<unknown> {
    return next.handle().pipe(catchError((error: unknown) => throwError(() => toHttpError(error))));
  }
}
