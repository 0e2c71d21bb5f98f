import { serialize } from 'cookie';
import type { ResolvedSessionOptions } from '../config/trusted-header-options.js';
import { trimAsciiWhitespace } from '../identity/header-value.js';

export type SessionCookie =
  | { readonly kind: 'none' }
  | { readonly kind: 'one'; readonly value: string }
  /** The name appears more than once (two Cookie lines, or one line with it twice): ambiguous, never guessed. */
  | { readonly kind: 'many' };

const NONE: SessionCookie = Object.freeze({ kind: 'none' });
const MANY: SessionCookie = Object.freeze({ kind: 'many' });

/**
 * The session cookie among the request's Cookie header lines, from the raw lines.
 *
 * Written by hand rather than with a cookie parser: parsers (cookie, cookie-parser, @fastify/cookie) keep the
 * first of two equal names and drop the other silently, and a cookie planted beside ours (by a sibling
 * subdomain, or a script on a non-`__Host-` setup) must be seen as a second value, not resolved in anyone's
 * favour. Only the one name is looked for; nothing else is decoded.
 *
 * Around a name and a value only spaces and tabs are trimmed, as browsers write them. String.prototype.trim
 * would also remove U+00A0 (one byte, 0xA0, in a header decoded as latin1): a cookie named `\xa0__Host-…` is a
 * cookie of another name to the browser, one without the `__Host-` rules, which a sibling subdomain may set,
 * and read as ours it would plant that subdomain's session in the victim's browser (a `__Host-` prefix bypass).
 */
export function readSessionCookie(rawHeaders: readonly string[], cookieName: string): SessionCookie {
  let found: string | undefined;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!;
    if (name.length !== 6 || name.toLowerCase() !== 'cookie') continue;
    for (const pair of rawHeaders[i + 1]!.split(';')) {
      const equals = pair.indexOf('=');
      if (equals < 0 || trimAsciiWhitespace(pair.slice(0, equals)) !== cookieName) continue;
      if (found !== undefined) return MANY;
      found = unquote(trimAsciiWhitespace(pair.slice(equals + 1)));
    }
  }
  return found === undefined ? NONE : { kind: 'one', value: found };
}

function unquote(value: string): string {
  return value.length >= 2 && value.startsWith('"') && value.endsWith('"') ? value.slice(1, -1) : value;
}

/** HttpOnly, SameSite=Lax, Path=/, Secure as configured; lives as long as the session may. */
export function sessionCookieHeader(options: ResolvedSessionOptions, token: string): string {
  return serialize(options.cookieName, token, {
    httpOnly: true,
    sameSite: 'lax',
    path: '/',
    secure: options.cookieSecure,
    maxAge: Math.floor(options.maxMs / 1000),
  });
}

/** The same cookie, expired: the browser drops it. */
export function clearedSessionCookieHeader(options: ResolvedSessionOptions): string {
  return serialize(options.cookieName, '', {
    httpOnly: true,
    sameSite: 'lax',
    path: '/',
    secure: options.cookieSecure,
    maxAge: 0,
    expires: new Date(0),
  });
}
