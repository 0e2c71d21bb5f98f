import type { IncomingMessage } from 'node:http';
import type { ResolvedCsrfOptions } from '../config/trusted-header-options.js';

/**
 * The methods that are never checked, as in Go's CrossOriginProtection: GET, HEAD and OPTIONS are safe by
 * RFC 9110 (and OPTIONS is the CORS preflight, sent without credentials). Every other method is checked: not
 * only POST, PUT, PATCH and DELETE, but WebDAV's PROPPATCH, MKCOL, COPY, MOVE, LOCK and the others Node parses
 * and an `@All()` or `@Proppatch()` route accepts. A CORS policy that lets another origin send them says the
 * origin may; it does not say the user meant to.
 */
function isSafeMethod(method: string): boolean {
  // Compared rather than looked up in a Set: Node hands out the same few method strings, and a lookup hashes.
  return method === 'GET' || method === 'HEAD' || method === 'OPTIONS';
}

/**
 * Whether an authenticated request may have been sent by another site: the detail of the refusal, or null.
 *
 * A browser sends the proxy's cookie (hence our identity headers) and our session cookie with cross-site
 * requests, so any method but GET, HEAD and OPTIONS is accepted only when the browser says it came from this
 * origin:
 * 1. an origin in AUTH_PROXY_ALLOWED_ORIGINS passes;
 * 2. otherwise `Sec-Fetch-Site` decides where the browser sent it: `same-origin` or `none` (typed, bookmarked);
 * 3. without it (older browsers), `Origin` must name this host;
 * 4. with neither, the client is not a browser (curl, a server) or a browser too old to send either, and it
 *    passes: such requests carry no ambient credentials of a victim's browser.
 *
 * Step 3 compares the host only: behind a TLS-terminating proxy the app cannot know the scheme the browser
 * used, and a cross-scheme request on the same host needs a network attacker, who has easier ways in.
 * The order follows Go's net/http CrossOriginProtection, a published and reviewed design for the same check.
 */
export function crossSiteProblem(message: IncomingMessage, options: ResolvedCsrfOptions): string | null {
  // The method first: Node builds `headers` from the raw lines on first use, which safe requests never need.
  const method = message.method;
  if (!options.enabled || method === undefined || isSafeMethod(method)) return null;
  const headers = message.headers;
  const origin = headers.origin;
  if (typeof origin === 'string' && options.allowedOrigins.has(origin)) return null;
  const site = headers['sec-fetch-site'];
  if (site !== undefined) {
    return site === 'same-origin' || site === 'none' ? null : `Sec-Fetch-Site is ${JSON.stringify(site)}`;
  }
  if (origin === undefined) return null;
  const host = headers.host ?? (headers[':authority'] as string | undefined);
  if (host !== undefined && hostOfOrigin(origin) === host.toLowerCase()) return null;
  return `Origin ${JSON.stringify(origin)} is neither this host nor an allowed origin`;
}

/** `https://App.example.com:8443` -> `app.example.com:8443`; null for `null` and anything unparsable. */
function hostOfOrigin(origin: string): string | null {
  try {
    const url = new URL(origin);
    return url.protocol === 'http:' || url.protocol === 'https:' ? url.host : null;
  } catch {
    return null;
  }
}
