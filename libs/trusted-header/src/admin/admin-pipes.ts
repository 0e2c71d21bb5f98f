import { ParseUUIDPipe, ValidationPipe, type ArgumentMetadata } from '@nestjs/common';
import { AdminValidationException, fieldProblems } from './admin-errors.js';

/** Deeper than any admin request needs (the deepest is an array of strings in an object). */
const MAX_NESTING = 8;

/** Whether a parsed JSON value nests objects or arrays deeper than `limit`. Iterative: no recursion to exhaust. */
function nestsDeeperThan(value: unknown, limit: number): boolean {
  const pending: [unknown, number][] = [[value, 0]];
  while (pending.length > 0) {
    const [item, depth] = pending.pop()!;
    if (typeof item !== 'object' || item === null) continue;
    if (depth >= limit) return true;
    for (const child of Object.values(item)) pending.push([child, depth + 1]);
  }
  return false;
}

/**
 * class-transformer walks a body recursively: a body nested a few thousand levels deep exhausts the stack, which
 * would surface as a 500. Such a body is refused first, as a 400 like any other bad field.
 */
class AdminValidationPipe extends ValidationPipe {
  override async transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    if (nestsDeeperThan(value, MAX_NESTING)) {
      throw new AdminValidationException([
        { field: metadata.data ?? metadata.type, problem: `is nested more than ${MAX_NESTING} levels deep` },
      ]);
    }
    return super.transform(value, metadata);
  }
}

/** Bodies and queries: unknown fields refused, values trimmed and converted, errors naming each field. */
export const adminValidationPipe = new AdminValidationPipe({
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
