import { booleanSetting, integerSetting, type FailSetting } from './setting-values.js';
import { DEFAULTS } from './settings.js';
import type {
  ResolvedCsrfOptions,
  ResolvedLogoutOptions,
  ResolvedSessionOptions,
  TrustedHeaderOptions,
} from './trusted-header-options.js';

/** RFC 6265 cookie-name: an RFC 7230 token. */
const COOKIE_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,128}$/;
/** Path segments of RFC 3986 unreserved characters only: nothing to encode, nothing a router reads twice. */
const ROUTE_PATH = /^(\/[A-Za-z0-9._~-]+)+$/;
const SECURE_ONLY_PREFIXES = ['__Host-', '__Secure-'];

export function resolveSessionOptions(options: TrustedHeaderOptions, fail: FailSetting): ResolvedSessionOptions | null {
  const mode = options.session ?? DEFAULTS.session;
  if (mode !== 'off' && mode !== 'persistent') fail('session', mode, 'must be off or persistent');
  const cookieSecure = booleanSetting(options, 'sessionCookieSecure', fail);
  const idleMs = integerSetting(options, 'sessionIdleSeconds', fail) * 1000;
  const maxMs = integerSetting(options, 'sessionMaxSeconds', fail) * 1000;
  let cookieName = options.sessionCookie ?? DEFAULTS.sessionCookie;
  if (typeof cookieName !== 'string' || !COOKIE_NAME.test(cookieName)) {
    fail('sessionCookie', cookieName, 'must be a cookie name (1 to 128 token characters)');
  }
  if (!cookieSecure) {
    if (options.sessionCookie === undefined) {
      cookieName = cookieName.replace(/^__Host-/, '');
    } else if (SECURE_ONLY_PREFIXES.some((prefix) => cookieName.startsWith(prefix))) {
      fail(
        'sessionCookie',
        cookieName,
        'has a prefix browsers accept only on a Secure cookie; keep Secure on or rename it',
      );
    }
  }
  if (mode === 'off') return null;
  return { idleMs, maxMs, cookieName, cookieSecure };
}

export function resolveCsrfOptions(options: TrustedHeaderOptions, fail: FailSetting): ResolvedCsrfOptions {
  const enabled = booleanSetting(options, 'csrfCheck', fail);
  const given = options.allowedOrigins ?? DEFAULTS.allowedOrigins;
  if (!Array.isArray(given)) fail('allowedOrigins', given, 'must be a list of origins');
  const allowedOrigins = new Set<string>();
  for (const entry of given as unknown[]) {
    const origin = typeof entry === 'string' ? serialisedOrigin(entry) : null;
    if (origin === null) {
      fail(
        'allowedOrigins',
        entry,
        'must be origins such as https://ui.example.com (scheme, host, optional port; no path)',
      );
    }
    allowedOrigins.add(origin!);
  }
  return { enabled, allowedOrigins };
}

export function resolveLogoutOptions(
  options: TrustedHeaderOptions,
  sessions: boolean,
  fail: FailSetting,
): ResolvedLogoutOptions | null {
  const path = options.logoutPath ?? DEFAULTS.logoutPath;
  if (typeof path !== 'string' || !ROUTE_PATH.test(path)) {
    fail('logoutPath', path, 'must be a path such as /auth/logout (letters, digits, . _ ~ - between slashes)');
  }
  let redirectTo: string | null = null;
  if (options.logoutUrl !== undefined) {
    redirectTo = logoutTarget(options.logoutUrl);
    if (redirectTo === null) {
      fail(
        'logoutUrl',
        options.logoutUrl,
        'must be an absolute http(s) URL without credentials (https://auth.example.com/logout) or a path starting with one slash (/oauth2/sign_out)',
      );
    }
  }
  if (!sessions && redirectTo === null) return null;
  return { path, redirectTo };
}

/** `https://Host:443` -> `https://host`: the form browsers send in Origin, or null when it is not an origin. */
export function serialisedOrigin(text: string): string | null {
  let url: URL;
  try {
    url = new URL(text.trim());
  } catch {
    return null;
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return null;
  if (url.username || url.password || url.search || url.hash || url.pathname !== '/') return null;
  if (
    /[/?#]/.test(
      text
        .trim()
        .replace(/^https?:\/\//i, '')
        .replace(/\/$/, ''),
    )
  )
    return null;
  return url.origin;
}

/**
 * The logout target as written, once it is known to be harmless in a Location header: an absolute http(s)
 * URL, or a path on this host. Never a protocol-relative `//host` (another site), never control characters.
 */
function logoutTarget(value: unknown): string | null {
  if (typeof value !== 'string' || value.length === 0 || value.length > 2048) return null;
  if (/[\u0000-\u0020\u007f-\uffff\\]/.test(value)) return null;
  if (value.startsWith('/')) return value.startsWith('//') ? null : value;
  try {
    const url = new URL(value);
    if (url.protocol !== 'https:' && url.protocol !== 'http:') return null;
    if (url.username || url.password) return null;
  } catch {
    return null;
  }
  return value;
}
