import {
  FORBIDDEN_IDENTITY_HEADERS,
  HEADER_NAME_TOKEN,
  headerNameFromConfig,
  twinKey,
} from '../identity/header-names.js';
import { hasInvisibleOrControlCharacter, trimAsciiWhitespace } from '../identity/header-value.js';
import type { IdentityHeaderNames } from '../identity/identity.js';
import { TrustEntryError } from '../trust/trust-entry.js';
import { parseTrustList, type TrustList } from '../trust/trust-list.js';
import { TrustedHeaderConfigError } from './config-error.js';
import { DEFAULT_HEADERS, isPresetName, PRESETS } from './presets.js';
import { resolveCsrfOptions, resolveLogoutOptions, resolveSessionOptions } from './resolve-session-options.js';
import { booleanSetting, integerSetting, type IntegerSetting } from './setting-values.js';
import { DEFAULTS, OPTION_LABELS, type SettingLabels } from './settings.js';
import type { ResolvedTrustedHeaderOptions, TrustedHeaderOptions } from './trusted-header-options.js';

/**
 * Applies defaults and the preset, then validates every option once, at startup. Anything doubtful stops the
 * application: a trust list that trusts everyone, or a header any client can set, is worse than no login.
 */
export function resolveTrustedHeaderOptions(
  options: TrustedHeaderOptions = {},
  labels: SettingLabels = OPTION_LABELS,
): ResolvedTrustedHeaderOptions {
  const fail = (key: keyof TrustedHeaderOptions, value: unknown, problem: string): never => {
    throw new TrustedHeaderConfigError(labels[key], value, problem);
  };

  let presetFields = DEFAULT_HEADERS;
  if (options.preset !== undefined) {
    if (typeof options.preset !== 'string' || !isPresetName(options.preset)) {
      fail('preset', options.preset, `is not a known preset; use one of ${Object.keys(PRESETS).join(', ')}`);
    }
    presetFields = PRESETS[options.preset!];
  }

  const trust = resolveTrustList(options.trustedIps ?? DEFAULTS.trustedIps, (value, problem) =>
    fail('trustedIps', value, problem),
  );

  const headers = {} as Record<keyof IdentityHeaderNames, string>;
  const headerKeys = { user: 'userHeader', email: 'emailHeader', name: 'nameHeader', groups: 'groupsHeader' } as const;
  const seen = new Map<string, keyof TrustedHeaderOptions>();
  for (const [role, key] of Object.entries(headerKeys) as [
    keyof IdentityHeaderNames,
    (typeof headerKeys)[keyof typeof headerKeys],
  ][]) {
    const given = options[key] ?? presetFields[key];
    if (typeof given !== 'string' || given.trim() === '') fail(key, given, 'is empty');
    const name = headerNameFromConfig(given.trim());
    if (!HEADER_NAME_TOKEN.test(name)) fail(key, given, 'is not a valid HTTP header name');
    // Compared in twin form: X_Forwarded_For is X-Forwarded-For to every server that folds _ into -.
    if (FORBIDDEN_IDENTITY_HEADERS.has(twinKey(name))) {
      fail(key, given, 'is a standard HTTP header that clients or intermediaries set; use a dedicated header');
    }
    const clash = seen.get(twinKey(name));
    if (clash) fail(key, given, `is the same header as ${labels[clash]}`);
    seen.set(twinKey(name), key);
    headers[role] = name;
  }

  const groupsSeparator = options.groupsSeparator ?? presetFields.groupsSeparator;
  if (typeof groupsSeparator !== 'string' || groupsSeparator.length === 0 || groupsSeparator.length > 8) {
    fail('groupsSeparator', groupsSeparator, 'must be 1 to 8 characters');
  }
  if (hasInvisibleOrControlCharacter(groupsSeparator)) {
    fail('groupsSeparator', groupsSeparator, 'must not contain control or invisible characters');
  }

  const bool = (key: 'createUnknownUser' | 'caseFoldUsername') => booleanSetting(options, key, fail);
  const int = (key: IntegerSetting) => integerSetting(options, key, fail);

  const adminGroups = [...(options.adminGroups ?? DEFAULTS.adminGroups)];
  for (const group of adminGroups) {
    if (typeof group !== 'string' || trimAsciiWhitespace(group) === '' || hasInvisibleOrControlCharacter(group)) {
      fail('adminGroups', group, 'must be non-empty group names');
    }
  }
  const adminLocalGroup = options.adminLocalGroup ?? DEFAULTS.adminLocalGroup;
  if (
    typeof adminLocalGroup !== 'string' ||
    trimAsciiWhitespace(adminLocalGroup) === '' ||
    hasInvisibleOrControlCharacter(adminLocalGroup)
  ) {
    fail('adminLocalGroup', adminLocalGroup, 'must be a non-empty group name');
  }

  const session = resolveSessionOptions(options, fail);
  return {
    trust,
    preset: options.preset ?? null,
    identity: {
      headers,
      groupsSeparator,
      maxGroups: int('maxGroups'),
      caseFoldUsername: bool('caseFoldUsername'),
    },
    createUnknownUser: bool('createUnknownUser'),
    // Exact, like asserted groups: no Unicode trimming, no normalisation.
    adminGroups: adminGroups.map(trimAsciiWhitespace),
    adminLocalGroup: trimAsciiWhitespace(adminLocalGroup),
    syncTtlMs: int('syncTtlSeconds') * 1000,
    cacheMaxEntries: int('cacheMaxEntries'),
    databaseTimeoutMs: int('databaseTimeoutMs'),
    untrustedWarningIntervalMs: int('untrustedWarningIntervalSeconds') * 1000,
    session,
    csrf: resolveCsrfOptions(options, fail),
    logout: resolveLogoutOptions(options, session !== null, fail),
  };
}

function resolveTrustList(entries: unknown, fail: (value: unknown, problem: string) => never): TrustList {
  if (!Array.isArray(entries) || entries.length === 0) {
    fail(entries, 'is empty; list the IP addresses or CIDR ranges of your proxies');
  }
  for (const entry of entries as unknown[]) {
    if (typeof entry !== 'string') fail(entry, 'is not a string');
  }
  try {
    return parseTrustList(entries as string[]);
  } catch (error) {
    if (error instanceof TrustEntryError) fail(error.entry, error.problem);
    throw error;
  }
}
