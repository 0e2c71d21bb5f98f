import type { RawResponse } from './raw-request.js';

export type Header = [string, string];

/** The identity headers of a user with these groups (comma-separated). */
export const identity = (user: string, groups = ''): Header[] => [
  ['Remote-User', user],
  ['Remote-Groups', groups],
];

/** The session cookie's name with Secure on (the default). */
export const SESSION_COOKIE = '__Host-trusted_header_session';

/** The token of the session cookie a response set; throws when it set none. */
export function sessionTokenOf(response: RawResponse): string {
  const line = response.headerLines.find(
    ([name, value]) => name === 'set-cookie' && value.startsWith(`${SESSION_COOKIE}=`),
  );
  if (!line) throw new Error('no session cookie set');
  return line[1].slice(SESSION_COOKIE.length + 1).split(';')[0]!;
}
