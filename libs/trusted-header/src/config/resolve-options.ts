import { hasInvisibleOrControlCharacter, trimAsciiWhitespace } from '../identity/header-value.js';
import { TrustedHeaderConfigError } from './config-error.js';
import { resolveProfile, type ProfileContext } from './resolve-profile.js';
import { resolveCsrfOptions, resolveLogoutOptions, resolveSessionOptions } from './resolve-session-options.js';
import { booleanSetting, integerSetting, type FailSetting, type IntegerSetting } from './setting-values.js';
import { DEFAULTS, OPTION_LABELS, optionLabels, type SettingKey, type SettingLabels } from './settings.js';
import type {
  ProxyProfileOptions,
  ResolvedProxyProfile,
  ResolvedTrustedHeaderOptions,
  TrustedHeaderOptions,
} from './trusted-header-options.js';

/** The fields of TrustedHeaderOptions that describe the one proxy profile given without `proxies`. */
const PROFILE_FIELDS = [
  'name',
  'trustedIps',
  'preset',
  'userHeader',
  'emailHeader',
  'nameHeader',
  'groupsHeader',
  'groupsSeparator',
  'userIdHeader',
  'sharedSecrets',
  'sharedSecretHeader',
  'clientCertificate',
  'assertion',
] as const satisfies readonly (keyof ProxyProfileOptions)[];

/**
 * Applies defaults and the preset, then validates every option once, at startup. Anything doubtful stops the
 * application: a trust list that trusts everyone, or a header any client can set, is worse than no login.
 */
export function resolveTrustedHeaderOptions(
  options: TrustedHeaderOptions = {},
  labels: SettingLabels = OPTION_LABELS,
): ResolvedTrustedHeaderOptions {
  const fail = (key: SettingKey, value: unknown, problem: string): never => {
    throw new TrustedHeaderConfigError(labels[key], value, problem);
  };

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
  const profiles = resolveProfiles(options, labels, {
    caseFoldUsername: bool('caseFoldUsername'),
    maxGroups: int('maxGroups'),
    cacheMaxEntries: int('cacheMaxEntries'),
  });
  return {
    profiles,
    createUnknownUser: bool('createUnknownUser'),
    // Exact, like asserted groups: no Unicode trimming, no normalisation.
    adminGroups: adminGroups.map(trimAsciiWhitespace),
    adminLocalGroup: trimAsciiWhitespace(adminLocalGroup),
    syncTtlMs: int('syncTtlSeconds') * 1000,
    cacheMaxEntries: int('cacheMaxEntries'),
    databaseTimeoutMs: int('databaseTimeoutMs'),
    notifyUrl: resolveNotifyUrl(options.notifyUrl, fail),
    untrustedWarningIntervalMs: int('untrustedWarningIntervalSeconds') * 1000,
    session,
    csrf: resolveCsrfOptions(options, fail),
    logout: resolveLogoutOptions(options, session !== null, fail),
  };
}

/**
 * AUTH_PROXY_NOTIFY_URL: a PostgreSQL URL, checked at startup. It usually holds a password, so errors show it
 * only as a postgres URL with the password masked, and otherwise not at all.
 */
function resolveNotifyUrl(value: unknown, fail: FailSetting): string | null {
  if (value === undefined) return null;
  if (typeof value !== 'string') return fail('notifyUrl', '<not shown>', 'must be a postgres:// or postgresql:// URL');
  let url: URL;
  try {
    url = new URL(value.trim());
  } catch {
    return fail('notifyUrl', '<not shown>', 'is not a URL; use postgres://user:password@host:5432/database');
  }
  // Not shown even masked: `user:password@host` parses as a URL of scheme `user:` whose password is empty.
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') {
    return fail('notifyUrl', '<not shown>', 'must be a postgres:// or postgresql:// URL');
  }
  if (url.hostname === '' && !url.searchParams.has('host')) {
    return fail('notifyUrl', maskedUrl(url), 'names no host');
  }
  return value.trim();
}

/** The URL with its password replaced by `***`, for errors and logs. */
export function maskedUrl(url: URL | string): string {
  const copy = new URL(url);
  if (copy.password !== '') copy.password = '***';
  return copy.toString();
}

function resolveProfiles(
  options: TrustedHeaderOptions,
  labels: SettingLabels,
  shared: Omit<ProfileContext, 'fail' | 'label'>,
): ResolvedProxyProfile[] {
  const failWith =
    (profileLabels: SettingLabels): FailSetting =>
    (key, value, problem) => {
      throw new TrustedHeaderConfigError(profileLabels[key], value, problem);
    };
  if (options.proxies === undefined) {
    return [resolveProfile(options, { ...shared, fail: failWith(labels), label: (key) => labels[key] })];
  }
  for (const field of PROFILE_FIELDS) {
    if (options[field] !== undefined) {
      throw new TrustedHeaderConfigError(
        `option ${field}`,
        field === 'sharedSecrets' ? '<redacted>' : options[field],
        'cannot be combined with option proxies; put it in one of the profiles',
      );
    }
  }
  if (!Array.isArray(options.proxies) || options.proxies.length === 0) {
    throw new TrustedHeaderConfigError('option proxies', options.proxies, 'must list at least one proxy profile');
  }
  const names = new Set<string>();
  return options.proxies.map((given: ProxyProfileOptions, index) => {
    const profileLabels = optionLabels(`proxies[${index}].`);
    if (typeof given !== 'object' || given === null) {
      throw new TrustedHeaderConfigError(`option proxies[${index}]`, given, 'must be a proxy profile object');
    }
    // Without names, profiles are told apart by position; a preset's name is used by one profile at most.
    const named =
      given.name === undefined && given.preset === undefined ? { ...given, name: `proxy-${index + 1}` } : given;
    const profile = resolveProfile(named, {
      ...shared,
      fail: failWith(profileLabels),
      label: (key) => profileLabels[key],
    });
    if (names.has(profile.name)) {
      throw new TrustedHeaderConfigError(
        profileLabels.name,
        profile.name,
        'is the name of two proxy profiles; name each one',
      );
    }
    names.add(profile.name);
    return profile;
  });
}
