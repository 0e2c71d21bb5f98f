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

const RFC3339 = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:\d{2}))?$/;

/** A date (`2026-11-22`) or an RFC 3339 date-time (`2026-11-22T10:00:00Z`): forms both JS and PostgreSQL read alike. */
export function IsTimestamp(): PropertyDecorator {
  return ValidateBy({
    name: 'isTimestamp',
    validator: {
      validate: (value: unknown) =>
        typeof value === 'string' && RFC3339.test(value) && !Number.isNaN(Date.parse(value)),
      defaultMessage: () => 'must be a date (YYYY-MM-DD) or an RFC 3339 date-time',
    },
  });
}
