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
    if (name.length !== 6 || (name !== 'Cookie' && name !== 'cookie' && name.toLowerCase() !== 'cookie')) continue;
    // Pair by pair (`;`-separated, the name up to the first `=`), by position rather than with split and
    // slice: on every request with a session, that allocated an array and strings per pair (docs/performance.md).
    const line = rawHeaders[i + 1]!;
    // The next `=` is searched for again only once a pair has passed it, so a line of many pairs without one
    // is read once, not once per pair.
    let equals = line.indexOf('=');
    for (let start = 0; start <= line.length;) {
      const semicolon = line.indexOf(';', start);
      const end = semicolon < 0 ? line.length : semicolon;
      if (equals >= 0 && equals < start) equals = line.indexOf('=', start);
      if (equals >= 0 && equals < end && isName(line, start, equals, cookieName)) {
        if (found !== undefined) return MANY;
        found = unquote(trimAsciiWhitespace(line.slice(equals + 1, end)));
      }
      start = end + 1;
    }
  }
  return found === undefined ? NONE : { kind: 'one', value: found };
}

/** Whether `line` from `start` to `end`, spaces and tabs around it trimmed, is `name`. */
function isName(line: string, start: number, end: number, name: string): boolean {
  while (start < end && isBlank(line.charCodeAt(start))) start += 1;
  while (end > start && isBlank(line.charCodeAt(end - 1))) end -= 1;
  return end - start === name.length && line.startsWith(name, start);
}

const isBlank = (code: number): boolean => code === 0x20 || code === 0x09;

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
