import type { IncomingMessage } from 'node:http';
import type { HeaderNameMatcher } from '../identity/header-names.js';

export { compileHeaderNameMatcher, type HeaderNameMatcher } from '../identity/header-names.js';

/**
 * Deletes every matching header line from the request, in all the forms Node keeps, and returns the names
 * removed (in order). Node builds `headers` and `headersDistinct` lazily from rawHeaders and a line count it
 * keeps apart; after rawHeaders shrinks, building them would read past its end (a TypeError in
 * headersDistinct). Both views are built first, from the full list, and the headers then removed from all
 * three. An HTTP/2 request (Http2ServerRequest) has no headersDistinct.
 */
export function removeHeaders(message: IncomingMessage, matches: HeaderNameMatcher): string[] {
  const raw = message.rawHeaders;
  const removed: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    if (matches(raw[i]!)) removed.push(raw[i]!);
  }
  if (removed.length === 0) return removed;
  const views = [message.headers, message.headersDistinct].filter(
    (view): view is NonNullable<typeof view> => view !== undefined && view !== null,
  ) as Record<string, unknown>[];
  for (let i = raw.length - 2; i >= 0; i -= 2) {
    if (matches(raw[i]!)) raw.splice(i, 2);
  }
  for (const view of views) {
    for (const name of Object.keys(view)) {
      if (matches(name)) delete view[name];
    }
  }
  return removed;
}
