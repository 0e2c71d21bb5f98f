import { DEFAULTS, INTEGER_RANGES, type SettingKey } from './settings.js';
import type { TrustedHeaderOptions } from './trusted-header-options.js';

/** Reports an unusable setting: names it (the option or its environment variable) and the value. */
export type FailSetting = (key: SettingKey, value: unknown, problem: string) => never;

export type IntegerSetting = Extract<keyof typeof INTEGER_RANGES, keyof TrustedHeaderOptions>;
export type BooleanSetting = 'createUnknownUser' | 'caseFoldUsername' | 'sessionCookieSecure' | 'csrfCheck';

/** The setting or its default, an integer within its range in INTEGER_RANGES. */
export function integerSetting(options: TrustedHeaderOptions, key: IntegerSetting, fail: FailSetting): number {
  const value = options[key] ?? DEFAULTS[key];
  const [min, max] = INTEGER_RANGES[key];
  if (!Number.isInteger(value) || value < min || value > max) {
    fail(key, value, `must be an integer from ${min} to ${max}`);
  }
  return value;
}

/** The setting or its default, a boolean. */
export function booleanSetting(options: TrustedHeaderOptions, key: BooleanSetting, fail: FailSetting): boolean {
  const value = options[key] ?? DEFAULTS[key];
  if (typeof value !== 'boolean') fail(key, value, 'must be true or false');
  return value;
}
