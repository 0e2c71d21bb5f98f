import type { TrustedHeaderOptions } from './trusted-header-options.js';

/** Each option and the environment variable it is read from. Names follow wger's AUTH_PROXY_* vocabulary. */
export const ENV_VARIABLES = {
  trustedIps: 'AUTH_PROXY_TRUSTED_IPS',
  preset: 'AUTH_PROXY_PRESET',
  userHeader: 'AUTH_PROXY_HEADER',
  emailHeader: 'AUTH_PROXY_USER_EMAIL_HEADER',
  nameHeader: 'AUTH_PROXY_USER_NAME_HEADER',
  groupsHeader: 'AUTH_PROXY_USER_GROUPS_HEADER',
  groupsSeparator: 'AUTH_PROXY_GROUPS_SEPARATOR',
  createUnknownUser: 'AUTH_PROXY_CREATE_UNKNOWN_USER',
  adminGroups: 'AUTH_PROXY_ADMIN_GROUPS',
  adminLocalGroup: 'AUTH_PROXY_ADMIN_LOCAL_GROUP',
  caseFoldUsername: 'AUTH_PROXY_CASE_FOLD_USERNAME',
  syncTtlSeconds: 'AUTH_PROXY_SYNC_TTL_SECONDS',
  cacheMaxEntries: 'AUTH_PROXY_CACHE_MAX_ENTRIES',
  databaseTimeoutMs: 'AUTH_PROXY_DB_TIMEOUT_MS',
  maxGroups: 'AUTH_PROXY_MAX_GROUPS',
  untrustedWarningIntervalSeconds: 'AUTH_PROXY_UNTRUSTED_WARNING_INTERVAL_SECONDS',
  session: 'AUTH_PROXY_SESSION',
  sessionIdleSeconds: 'AUTH_PROXY_SESSION_IDLE_SECONDS',
  sessionMaxSeconds: 'AUTH_PROXY_SESSION_MAX_SECONDS',
  sessionCookie: 'AUTH_PROXY_SESSION_COOKIE',
  sessionCookieSecure: 'AUTH_PROXY_SESSION_COOKIE_SECURE',
  logoutPath: 'AUTH_PROXY_LOGOUT_PATH',
  logoutUrl: 'AUTH_PROXY_LOGOUT_URL',
  csrfCheck: 'AUTH_PROXY_CSRF_CHECK',
  allowedOrigins: 'AUTH_PROXY_ALLOWED_ORIGINS',
} as const satisfies Record<keyof TrustedHeaderOptions, string>;

export type SettingLabels = Record<keyof TrustedHeaderOptions, string>;

/** Labels used when options come from code: the option's own name. */
export const OPTION_LABELS = Object.fromEntries(
  Object.keys(ENV_VARIABLES).map((key) => [key, `option ${key}`]),
) as SettingLabels;

/** Integer settings: [minimum, maximum]. */
export const INTEGER_RANGES = {
  syncTtlSeconds: [0, 86_400],
  cacheMaxEntries: [0, 10_000_000],
  databaseTimeoutMs: [50, 600_000],
  maxGroups: [1, 10_000],
  untrustedWarningIntervalSeconds: [0, 86_400],
  // At least a minute: last-seen is written at most once a minute, so a shorter idle timeout could not hold.
  sessionIdleSeconds: [60, 31_536_000],
  sessionMaxSeconds: [60, 31_536_000],
} as const satisfies Partial<Record<keyof TrustedHeaderOptions, readonly [number, number]>>;

export const DEFAULTS = {
  trustedIps: ['127.0.0.1/32', '::1/128'],
  createUnknownUser: false,
  adminGroups: [] as string[],
  adminLocalGroup: 'admin',
  caseFoldUsername: true,
  syncTtlSeconds: 60,
  cacheMaxEntries: 10_000,
  databaseTimeoutMs: 2_000,
  maxGroups: 100,
  untrustedWarningIntervalSeconds: 60,
  session: 'off',
  sessionIdleSeconds: 28_800,
  sessionMaxSeconds: 604_800,
  /** With Secure off the `__Host-` prefix is dropped: browsers refuse a `__Host-` cookie without Secure. */
  sessionCookie: '__Host-trusted_header_session',
  sessionCookieSecure: true,
  logoutPath: '/auth/logout',
  csrfCheck: true,
  allowedOrigins: [] as string[],
} as const;
