/**
 * Header-name rules. Proxies, CGI gateways and some servers treat `Remote_User`, `Remote.User` and
 * `Remote-User` as one header (Django CVE-2015-0219, gunicorn #2799, oauth2-proxy CVE-2025-64484), so names
 * are compared in a form where `_` and `.` stand for `-`: a different spelling of an identity header is a twin.
 */
export function twinKey(headerName: string): string {
  return headerName.toLowerCase().replace(/[_.]/g, '-');
}

/** Whether a header name is one of a set, in any of its twin spellings (`X_Proxy_Secret`, `x.proxy.secret`). */
export type HeaderNameMatcher = (name: string) => boolean;

/** Compiles a matcher for these header names and their twins; null when the set is empty (nothing to scan). */
export function compileHeaderNameMatcher(names: Iterable<string>): HeaderNameMatcher | null {
  const keys = new Set([...names].map(twinKey));
  if (keys.size === 0) return null;
  const lengths = new Set([...keys].map((key) => key.length));
  return (name) => lengths.has(name.length) && keys.has(twinKey(name));
}

/** RFC 9110 token characters: what a header name may contain. */
export const HEADER_NAME_TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/**
 * Headers that can never carry identity: credentials, framing, hop-by-hop, routing and forwarding headers.
 * Each is set or rewritten by clients, browsers or intermediaries for its own purpose.
 */
export const FORBIDDEN_IDENTITY_HEADERS: ReadonlySet<string> = new Set([
  'authorization',
  'proxy-authorization',
  'proxy-authenticate',
  'www-authenticate',
  'cookie',
  'set-cookie',
  'host',
  'connection',
  'keep-alive',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'content-length',
  'content-type',
  'content-encoding',
  'expect',
  'forwarded',
  'via',
  'x-forwarded-for',
  'x-forwarded-host',
  'x-forwarded-proto',
  'x-forwarded-port',
  'x-real-ip',
  'origin',
  'referer',
  'user-agent',
  'accept',
  'accept-encoding',
  'accept-language',
]);

/**
 * Accepts the CGI/Django spelling used by wger-style configuration (`HTTP_REMOTE_USER`) and returns the HTTP
 * header it denotes (`Remote-User`). Other names are returned unchanged.
 */
export function headerNameFromConfig(name: string): string {
  const match = /^HTTP_([A-Z0-9_]+)$/.exec(name);
  if (!match) return name;
  return match[1]!
    .split('_')
    .map((word) => word.charAt(0) + word.slice(1).toLowerCase())
    .join('-');
}
