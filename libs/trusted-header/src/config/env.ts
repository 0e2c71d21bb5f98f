import { trimAsciiWhitespace } from '../identity/header-value.js';
import { TrustedHeaderConfigError } from './config-error.js';
import { isPresetName, PRESETS, type PresetName } from './presets.js';
import { resolveTrustedHeaderOptions } from './resolve-options.js';
import { ENV_VARIABLES, INTEGER_RANGES, type SettingKey, type SettingLabels } from './settings.js';
import type { AssertionProfileOptions, SessionMode, TrustedHeaderOptions } from './trusted-header-options.js';

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
    // The value is not shown: a misspelt secret variable (AUTH_PROXY_SHARED_SECRET) would print the secret.
    if (name.startsWith('AUTH_PROXY_') && !KNOWN.has(name)) {
      throw new TrustedHeaderConfigError(name, '<not shown>', `is not a known setting; known: ${[...KNOWN].join(', ')}`);
    }
  }
  const read = (key: SettingKey): string | undefined => {
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

  const secrets = read('sharedSecrets');
  const caFile = read('clientCertificate.caFile')?.trim();
  const allowedNames = env[ENV_VARIABLES['clientCertificate.allowedNames']];
  if (allowedNames !== undefined && caFile === undefined) {
    throw new TrustedHeaderConfigError(
      ENV_VARIABLES['clientCertificate.allowedNames'],
      allowedNames,
      `is set but ${ENV_VARIABLES['clientCertificate.caFile']} is not`,
    );
  }
  const assertion = assertionFromEnv(read, int, list);

  const options: TrustedHeaderOptions = {
    name: read('name')?.trim(),
    trustedIps: trustedIps === undefined ? undefined : list(trustedIps),
    userIdHeader: read('userIdHeader'),
    // Secrets are taken verbatim but for the commas between them; never echoed in errors.
    sharedSecrets: secrets === undefined ? undefined : secrets.split(','),
    sharedSecretHeader: read('sharedSecretHeader'),
    clientCertificate:
      caFile === undefined
        ? undefined
        : {
            caFile,
            allowedNames:
              allowedNames === undefined ? [] : list(allowedNames).filter((allowedName) => allowedName !== ''),
          },
    assertion,
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
    notifyUrl: read('notifyUrl')?.trim(),
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

const ASSERTION_KEYS = [
  'header',
  'jwksUrl',
  'publicKeyFile',
  'issuer',
  'audience',
  'algorithms',
  'usernameClaim',
  'emailClaim',
  'nameClaim',
  'groupsClaim',
  'albArn',
] as const satisfies readonly (keyof AssertionProfileOptions)[];

/** The AUTH_PROXY_JWT_* variables, or undefined when none is set (a signing preset still implies an assertion). */
function assertionFromEnv(
  read: (key: SettingKey) => string | undefined,
  int: (key: 'assertion.clockToleranceSeconds') => number | undefined,
  list: (value: string) => string[],
): AssertionProfileOptions | undefined {
  const assertion: Record<string, unknown> = {};
  for (const key of ASSERTION_KEYS) {
    const value = read(`assertion.${key}`)?.trim();
    if (value === undefined) continue;
    assertion[key] = key === 'audience' || key === 'algorithms' ? list(value) : value;
  }
  const tolerance = int('assertion.clockToleranceSeconds');
  if (tolerance !== undefined) assertion.clockToleranceSeconds = tolerance;
  return Object.keys(assertion).length === 0 ? undefined : (assertion as AssertionProfileOptions);
}
