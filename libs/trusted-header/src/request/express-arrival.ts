import { EventEmitter } from 'node:events';
import type { IncomingMessage } from 'node:http';

/**
 * On Express, inspects each request and declares `request.user` the moment the server emits it, before
 * Express sets the request's prototype to its own (`Object.setPrototypeOf`, on every request). V8 does not
 * keep the hidden classes of an object whose prototype was set that way: each property added afterwards makes
 * a new one, on every request, and every later access meets a class it has not seen. A property added after
 * Express took the request cost 1.2 to 1.9 µs here, one added before it 0.04 µs (docs/performance.md). So the
 * library's own properties, its per-request state and `user` (initially `undefined`, as before, unless
 * something set it already), are added while the request is still Node's own.
 *
 * Only a speed-up: the listener is on the server Nest created for the adapter, and a request that reaches the
 * Express application through another server (one the application created around it) is inspected by the
 * adapter's request hook, as every request is. An error here is left to that hook, which reports it.
 */
export function inspectOnArrival(server: unknown, inspect: (request: IncomingMessage) => void): boolean {
  if (!(server instanceof EventEmitter)) return false;
  server.prependListener('request', (request: IncomingMessage & { user?: unknown }) => {
    if (!('user' in request)) request.user = undefined;
    try {
      inspect(request);
    } catch {
      // The adapter's request hook inspects the request again and reports the error through Express.
    }
  });
  return true;
}
