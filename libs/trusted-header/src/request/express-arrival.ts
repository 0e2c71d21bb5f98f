import { EventEmitter } from 'node:events';
import type { IncomingMessage } from 'node:http';

/**
 * On Express, inspects each request and declares `request.user` the moment the server emits it, before
 * Express sets the request's prototype to its own (`Object.setPrototypeOf`, on every request). V8 does not
 * keep the hidden classes of an object whose prototype was set that way: each property added afterwards makes
 * a new one, on every request, and every later access meets a class it has not seen (docs/performance.md has
 * the measurements). So the library's own properties, its per-request state and `user` (initially `undefined`, as before, unless
 * something set it already), are added while the request is still Node's own.
 *
 * Only a speed-up: the listener is on the server Nest created for the adapter, and a request that reaches the
 * Express application through another server (one the application created around it) is inspected by the
 * adapter's request hook, as every request is (and there `user` is not declared up front). An error here is
 * left to that hook, which reports it.
 */
export function inspectOnArrival(server: unknown, inspect: (request: IncomingMessage) => void): boolean {
  if (!(server instanceof EventEmitter)) return false;
  server.prependListener('request', (request: IncomingMessage & { user?: unknown }) => {
    if (!('user' in request)) request.user = undefined;
    try {
      inspect(request);
    } catch {
      // A throw here would end the process. The inspector keeps its own failures for the adapter's request
      // hook to report (RequestInspector.inspectOnArrival); the hook inspects every request again anyway.
    }
  });
  return true;
}
