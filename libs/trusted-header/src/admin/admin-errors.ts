import { HttpStatus, type ValidationError } from '@nestjs/common';
import { ConflictError, NotFoundError } from '../errors/domain-errors.js';
import { TrustedHeaderErrorBody, TrustedHeaderException } from '../errors/trusted-header.exception.js';
import { isUniqueViolation } from '../persistence/database-errors.js';

export interface FieldProblem {
  readonly field: string;
  readonly problem: string;
}

/** 400 `validation_failed`, naming each field and what is wrong with it; same shape as every other error. */
export class AdminValidationException extends TrustedHeaderException {
  constructor(readonly errors: readonly FieldProblem[]) {
    super(
      HttpStatus.BAD_REQUEST,
      'validation_failed',
      errors.map((error) => `${error.field}: ${error.problem}`).join('; '),
    );
  }

  override getResponse(): TrustedHeaderErrorBody & { errors: readonly FieldProblem[] } {
    return { ...(super.getResponse() as TrustedHeaderErrorBody), errors: this.errors };
  }
}

/** Turns class-validator errors into field problems (nested fields as `a.b`, array items as `a[0]`). */
export function fieldProblems(errors: readonly ValidationError[], prefix = ''): FieldProblem[] {
  const problems: FieldProblem[] = [];
  for (const error of errors) {
    const field = /^\d+$/.test(error.property)
      ? `${prefix}[${error.property}]`
      : prefix
        ? `${prefix}.${error.property}`
        : error.property;
    for (const message of Object.values(error.constraints ?? {})) {
      // whitelist's message names the property itself; say it the same way as the others.
      problems.push({ field, problem: message.startsWith('property ') ? 'is not an accepted field' : message });
    }
    problems.push(...fieldProblems(error.children ?? [], field));
  }
  return problems;
}

export function notFound(what: string): NotFoundError {
  return new NotFoundError(what);
}

export function conflict(message: string, cause?: unknown): ConflictError {
  return new ConflictError(message, cause === undefined ? undefined : { cause });
}

/**
 * Runs a statement that may hit a unique constraint and turns that violation into a ConflictError (409). Done inside the
 * transaction, before the database gate would report any other error as 503.
 */
export async function conflictOnUnique<T>(statement: Promise<T>, constraint: string, message: string): Promise<T> {
  try {
    return await statement;
  } catch (error) {
    if (isUniqueViolation(error, constraint)) throw conflict(message, error);
    throw error;
  }
}
