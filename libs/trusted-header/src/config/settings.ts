import type {
  AssertionProfileOptions,
  ClientCertificateProfileOptions,
  TrustedHeaderOptions,
} from './trusted-header-options.js';

/**
 * Every setting that has an environment variable: the options (nested ones as `assertion.issuer`), except
 * `proxies`, which only code can give.
 */
export type SettingKey =
  | Exclude<keyof TrustedHeaderOptions, 'proxies' | 'clientCertificate' | 'assertion'>
  | `clientCertificate.${keyof ClientCertificateProfileOptions}`
  | `assertion.${keyof AssertionProfileOptions}`;

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
  notifyUrl: 'AUTH_PROXY_NOTIFY_URL',
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
  name: 'AUTH_PROXY_PROFILE_NAME',
  userIdHeader: 'AUTH_PROXY_USER_ID_HEADER',
  sharedSecrets: 'AUTH_PROXY_SHARED_SECRETS',
  sharedSecretHeader: 'AUTH_PROXY_SHARED_SECRET_HEADER',
  'clientCertificate.caFile': 'AUTH_PROXY_CLIENT_CA_FILE',
  'clientCertificate.allowedNames': 'AUTH_PROXY_CLIENT_ALLOWED_NAMES',
  'assertion.header': 'AUTH_PROXY_JWT_HEADER',
  'assertion.jwksUrl': 'AUTH_PROXY_JWT_JWKS_URL',
  'assertion.publicKeyFile': 'AUTH_PROXY_JWT_PUBLIC_KEY_FILE',
  'assertion.issuer': 'AUTH_PROXY_JWT_ISSUER',
  'assertion.audience': 'AUTH_PROXY_JWT_AUDIENCE',
  'assertion.algorithms': 'AUTH_PROXY_JWT_ALGORITHMS',
  'assertion.clockToleranceSeconds': 'AUTH_PROXY_JWT_CLOCK_TOLERANCE_SECONDS',
  'assertion.usernameClaim': 'AUTH_PROXY_JWT_USERNAME_CLAIM',
  'assertion.emailClaim': 'AUTH_PROXY_JWT_EMAIL_CLAIM',
  'assertion.nameClaim': 'AUTH_PROXY_JWT_NAME_CLAIM',
  'assertion.groupsClaim': 'AUTH_PROXY_JWT_GROUPS_CLAIM',
  'assertion.albArn': 'AUTH_PROXY_JWT_ALB_ARN',
} as const satisfies Record<SettingKey, string>;

/** What a setting is called in error messages: its environment variable, or the option's path in code. */
export type SettingLabels = Record<SettingKey, string>;

/** Labels used when options come from code: the option's own name, under a prefix such as `proxies[1].`. */
export function optionLabels(prefix = ''): SettingLabels {
  return Object.fromEntries(Object.keys(ENV_VARIABLES).map((key) => [key, `option ${prefix}${key}`])) as SettingLabels;
}

export const OPTION_LABELS = optionLabels();

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
  'assertion.clockToleranceSeconds': [0, 300],
} as const satisfies Partial<Record<SettingKey, readonly [number, number]>>;

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
  sharedSecretHeader: 'X-Proxy-Secret',
  'assertion.clockToleranceSeconds': 30,
  /** Without a preset: the two asymmetric algorithms identity proxies use. */
  'assertion.algorithms': ['RS256', 'ES256'] as string[],
  'assertion.usernameClaim': 'sub',
} as const;
