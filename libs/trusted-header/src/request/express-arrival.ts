import type { IncomingMessage } from 'node:http';

/** The part of an Express application this step uses: the method every request enters it through. */
interface ExpressApplication {
  handle(request: IncomingMessage, response: unknown, callback?: unknown): unknown;
}

/**
 * On Express, inspects each request and declares `request.user` as the request enters the Express application
 * (`app.handle`, which the application function calls for every request, whatever server or parent application
 * it came from), before Express sets the request's prototype to its own (`Object.setPrototypeOf`, on every
 * request). V8 does not keep the hidden classes of an object whose prototype was set that way: each property
 * added afterwards makes a new one, on every request, and every later access meets a class it has not seen
 * (docs/performance.md has the measurements). So the library's own properties, its per-request state and
 * `user` (initially `undefined`, as before, unless something set it already), are added while the request is
 * still Node's own.
 *
 * It is also the first step of every request: identity headers of an untrusted peer are gone before the
 * adapter's request hook or any middleware runs, whatever hook was stored on the adapter since. An error here
 * is left to the adapter's request hook, which inspects again and reports it (RequestInspector.inspectOnArrival).
 */
export function inspectOnArrival(application: unknown, inspect: (request: IncomingMessage) => void): boolean {
  const handle = (application as Partial<ExpressApplication> | null | undefined)?.handle;
  if (typeof handle !== 'function') return false;
  (application as ExpressApplication).handle = function handleInspected(
    this: unknown,
    request: IncomingMessage & { user?: unknown },
    response: unknown,
    callback?: unknown,
  ) {
    if (!('user' in request)) {
      // Two different values, so that V8 marks `user` as a field that changes in the request's hidden class,
      // before Express copies that class: the guard's store then does not have to change that copy on every
      // request (docs/performance.md).
      request.user = null;
      request.user = undefined;
    }
    try {
      inspect(request);
    } catch {
      // A throw here would end the process; the adapter's request hook inspects every request again anyway.
    }
    return handle.call(this, request, response, callback);
  };
  return true;
}
