import { applyDecorators } from '@nestjs/common';
import { Transform } from 'class-transformer';
import { IsNotEmpty, IsString, MaxLength, ValidateBy } from 'class-validator';
import { hasInvisibleOrControlCharacter, trimAsciiWhitespace } from '../../identity/header-value.js';
import { MAX_GROUP_NAME_LENGTH } from '../../identity/identity.js';

/** Spaces and tabs only: a name keeps its Unicode spaces and so matches exactly what the proxy asserts. */
const trim = Transform(({ value }) =>
  typeof value === 'string'
    ? trimAsciiWhitespace(value)
    : Array.isArray(value)
      ? value.map((item) => (typeof item === 'string' ? trimAsciiWhitespace(item) : item))
      : value,
);

/** No control, zero-width, bidi or other invisible characters: names an admin reads must be what they look like. */
export function NoControlCharacters(options: { each?: boolean } = {}): PropertyDecorator {
  return ValidateBy(
    {
      name: 'noControlCharacters',
      validator: {
        validate: (value: unknown) => typeof value !== 'string' || !hasInvisibleOrControlCharacter(value),
        defaultMessage: () => 'must not contain control or invisible characters',
      },
    },
    options,
  );
}

/** A group name (local or external): trimmed, non-empty, at most 256 characters, visible characters only. */
export function IsGroupName(options: { each?: boolean } = {}): PropertyDecorator {
  return applyDecorators(
    trim,
    IsString({ ...options, message: 'must be a string' }),
    IsNotEmpty({ ...options, message: 'must not be empty' }),
    MaxLength(MAX_GROUP_NAME_LENGTH, { ...options, message: `must be at most ${MAX_GROUP_NAME_LENGTH} characters` }),
    NoControlCharacters(options),
  );
}

/** Free text such as a description or a search term. */
export function IsText(maxLength: number): PropertyDecorator {
  return applyDecorators(
    trim,
    IsString({ message: 'must be a string' }),
    MaxLength(maxLength, { message: `must be at most ${maxLength} characters` }),
    NoControlCharacters(),
  );
}

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,6})?)?(?:Z|[+-](\d{2}):(\d{2})))?$/;

/**
 * Whether a date or date-time names a real instant that PostgreSQL reads the same way. Checked field by field:
 * Date.parse accepts what PostgreSQL refuses (`2026-02-30` rolls over to March, year 0000 does not exist in
 * PostgreSQL, offsets beyond ±15:59), and a refused value must be a 400, not a failed statement.
 */
export function isTimestamp(value: unknown): boolean {
  if (typeof value !== 'string') return false;
  const match = RFC3339.exec(value);
  if (!match) return false;
  const [year, month, day, hour = 0, minute = 0, second = 0, offsetHour = 0, offsetMinute = 0] = match
    .slice(1)
    .map((part) => (part === undefined ? undefined : Number(part))) as number[];
  const daysInMonth = new Date(Date.UTC(year!, month!, 0)).getUTCDate();
  return (
    year! >= 1 &&
    month! >= 1 &&
    month! <= 12 &&
    day! >= 1 &&
    day! <= daysInMonth &&
    hour <= 23 &&
    minute <= 59 &&
    second <= 59 &&
    offsetHour <= 15 &&
    offsetMinute <= 59
  );
}

/** A date (`2026-11-22`) or an RFC 3339 date-time (`2026-11-22T10:00:00Z`): forms both JS and PostgreSQL read alike. */
export function IsTimestamp(): PropertyDecorator {
  return ValidateBy({
    name: 'isTimestamp',
    validator: {
      validate: isTimestamp,
      defaultMessage: () => 'must be a real date (YYYY-MM-DD) or RFC 3339 date-time',
    },
  });
}
