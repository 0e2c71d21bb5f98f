import { trimAsciiWhitespace } from '../identity/header-value.js';
import { TrustedHeaderConfigError } from './config-error.js';
import { isPresetName, PRESETS, type PresetName } from './presets.js';
import { resolveTrustedHeaderOptions } from './resolve-options.js';
import { ENV_VARIABLES, INTEGER_RANGES, type SettingLabels } from './settings.js';
import type { SessionMode, TrustedHeaderOptions } from './trusted-header-options.js';

const TRUE = new Set(['true', '1', 'yes', 'on']);
const FALSE = new Set(['false', '0', 'no', 'off']);
const KNOWN = new Set<string>(Object.values(ENV_VARIABLES));

/**
 * Reads `AUTH_PROXY_*` from the environment into options and validates them, naming the variable in every
 * error. Unknown `AUTH_PROXY_*` variables are errors too: a typo such as `AUTH_PROXY_TRUSTED_IP` would
 * otherwise leave the default in force without anyone noticing.
 */
export function trustedHeaderOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): TrustedHeaderOptions {
  for (const name of Object.keys(env)) {
    if (name.startsWith('AUTH_PROXY_') && !KNOWN.has(name)) {
      throw new TrustedHeaderConfigError(name, env[name], `is not a known setting; known: ${[...KNOWN].join(', ')}`);
    }
  }
  const read = (key: keyof TrustedHeaderOptions): string | undefined => {
    const value = env[ENV_VARIABLES[key]];
    if (value === undefined) return undefined;
    if (value === '' || (value.trim() === '' && key !== 'groupsSeparator')) {
      throw new TrustedHeaderConfigError(ENV_VARIABLES[key], value, 'is empty; unset it to use the default');
    }
    return value;
  };
  const list = (value: string): string[] => value.split(',').map(trimAsciiWhitespace);
  const bool = (
    key: 'createUnknownUser' | 'caseFoldUsername' | 'sessionCookieSecure' | 'csrfCheck',
  ): boolean | undefined => {
    const value = read(key)?.trim().toLowerCase();
    if (value === undefined) return undefined;
    if (TRUE.has(value)) return true;
    if (FALSE.has(value)) return false;
    throw new TrustedHeaderConfigError(ENV_VARIABLES[key], env[ENV_VARIABLES[key]], 'must be true or false');
  };
  const int = (key: keyof typeof INTEGER_RANGES): number | undefined => {
    const value = read(key)?.trim();
    if (value === undefined) return undefined;
    if (!/^[0-9]{1,10}$/.test(value)) {
      throw new TrustedHeaderConfigError(ENV_VARIABLES[key], value, 'must be a whole number');
    }
    return Number(value);
  };

  const presetText = read('preset')?.trim().toLowerCase();
  if (presetText !== undefined && !isPresetName(presetText)) {
    throw new TrustedHeaderConfigError(
      ENV_VARIABLES.preset,
      env[ENV_VARIABLES.preset],
      `is not a known preset; use one of ${Object.keys(PRESETS).join(', ')}`,
    );
  }
  const sessionText = read('session')?.trim().toLowerCase();
  if (sessionText !== undefined && sessionText !== 'off' && sessionText !== 'persistent') {
    throw new TrustedHeaderConfigError(ENV_VARIABLES.session, env[ENV_VARIABLES.session], 'must be off or persistent');
  }
  const allowedOrigins = env[ENV_VARIABLES.allowedOrigins];
  const trustedIps = read('trustedIps');
  const adminGroups = env[ENV_VARIABLES.adminGroups];

  const options: TrustedHeaderOptions = {
    trustedIps: trustedIps === undefined ? undefined : list(trustedIps),
    preset: presetText as PresetName | undefined,
    userHeader: read('userHeader'),
    emailHeader: read('emailHeader'),
    nameHeader: read('nameHeader'),
    groupsHeader: read('groupsHeader'),
    // The separator is taken verbatim: ' ' or '|' are meaningful.
    groupsSeparator: read('groupsSeparator'),
    createUnknownUser: bool('createUnknownUser'),
    adminGroups: adminGroups === undefined || adminGroups.trim() === '' ? undefined : list(adminGroups),
    adminLocalGroup: read('adminLocalGroup'),
    caseFoldUsername: bool('caseFoldUsername'),
    syncTtlSeconds: int('syncTtlSeconds'),
    cacheMaxEntries: int('cacheMaxEntries'),
    databaseTimeoutMs: int('databaseTimeoutMs'),
    maxGroups: int('maxGroups'),
    untrustedWarningIntervalSeconds: int('untrustedWarningIntervalSeconds'),
    session: sessionText as SessionMode | undefined,
    sessionIdleSeconds: int('sessionIdleSeconds'),
    sessionMaxSeconds: int('sessionMaxSeconds'),
    sessionCookie: read('sessionCookie')?.trim(),
    sessionCookieSecure: bool('sessionCookieSecure'),
    logoutPath: read('logoutPath')?.trim(),
    logoutUrl: read('logoutUrl')?.trim(),
    csrfCheck: bool('csrfCheck'),
    allowedOrigins:
      allowedOrigins === undefined || allowedOrigins.trim() === ''
        ? undefined
        : list(allowedOrigins).filter((origin) => origin !== ''),
  };
  for (const key of Object.keys(options) as (keyof TrustedHeaderOptions)[]) {
    if (options[key] === undefined) delete options[key];
  }
  // Validate now so that errors name the environment variable rather than the option.
  resolveTrustedHeaderOptions(options, ENV_VARIABLES as SettingLabels);
  return options;
}
