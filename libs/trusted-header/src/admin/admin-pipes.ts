import { ParseUUIDPipe, ValidationPipe } from '@nestjs/common';
import { AdminValidationException, fieldProblems } from './admin-errors.js';

/** Bodies and queries: unknown fields refused, values trimmed and converted, errors naming each field. */
export const adminValidationPipe = new ValidationPipe({
  whitelist: true,
  forbidNonWhitelisted: true,
  transform: true,
  // One problem per field: the first rule it breaks (a missing name is "must be a string", not also "too long").
  stopAtFirstError: true,
  exceptionFactory: (errors) => new AdminValidationException(fieldProblems(errors)),
});

/** Ids in paths are UUIDs; anything else is a 400 naming the parameter, not a database error. */
export function uuidParam(field: string): ParseUUIDPipe {
  return new ParseUUIDPipe({
    exceptionFactory: () => new AdminValidationException([{ field, problem: 'must be a UUID' }]),
  });
}
