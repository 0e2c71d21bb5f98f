import { ParseUUIDPipe, ValidationPipe, type ArgumentMetadata } from '@nestjs/common';
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

/**
 * A UUID in its canonical lower-case form. PostgreSQL reads `AB…` and `ab…` as one id, so a comparison of the
 * strings themselves (the self-disable check) must see them alike too.
 */
class ParseCanonicalUuidPipe extends ParseUUIDPipe {
  override async transform(value: unknown, metadata: ArgumentMetadata): Promise<string | undefined | null> {
    return (await super.transform(value, metadata))?.toLowerCase();
  }
}

/** Ids in paths are UUIDs (any case, handed on in lower case); anything else is a 400 naming the parameter. */
export function uuidParam(field: string): ParseUUIDPipe {
  return new ParseCanonicalUuidPipe({
    exceptionFactory: () => new AdminValidationException([{ field, problem: 'must be a UUID' }]),
  });
}
