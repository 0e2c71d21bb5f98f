import { HttpException, HttpStatus } from '@nestjs/common';
import type { RejectionReason } from './rejection-reason.js';

/** The JSON body of every error the library produces. */
export interface TrustedHeaderErrorBody {
  statusCode: number;
  message: string;
  reason: RejectionReason;
}

/**
 * An HttpException whose body carries a `reason` code. Nest's default exception filter sends the body as is,
 * so applications need no filter of their own to get `{ statusCode, message, reason }`.
 */
export class TrustedHeaderException extends HttpException {
  constructor(
    status: HttpStatus,
    readonly reason: RejectionReason,
    message: string,
    cause?: unknown,
  ) {
    super(
      { statusCode: status, message, reason } satisfies TrustedHeaderErrorBody,
      status,
      cause === undefined ? undefined : { cause },
    );
  }
}
