/** The request hook Nest's Express and Fastify adapters run ahead of every middleware (`setOnRequestHook`). */
type RequestHook = (request: unknown, response: unknown, done: (error?: Error) => void) => unknown;

interface HookableAdapter {
  setOnRequestHook?(hook: RequestHook): void;
  /** Private in the adapters' types: read only to keep a hook the application set before this one. */
  onRequestHook?: RequestHook;
}

/**
 * Runs `inspect` on every request through the adapter's own request hook, which both adapters install when
 * they are created, ahead of everything registered later: on Fastify, Nest registers `@fastify/middie` (every
 * Nest middleware, of any module) before any module exists, so a hook added when this module initialises
 * would run after them. A hook the application set before is kept and runs after the inspection. Returns
 * false when the adapter has no such hook (adapters of other platforms).
 *
 * A hook set later replaces this one: the module's own request hook (the Fastify `onRequest` hook or Express
 * middleware it registers as well) still inspects every request before routing, as it did before this one.
 */
export function inspectBeforeMiddleware(adapter: unknown, inspect: (request: unknown) => void): boolean {
  const hookable = adapter as HookableAdapter | null | undefined;
  if (typeof hookable?.setOnRequestHook !== 'function') return false;
  const previous = hookable.onRequestHook;
  hookable.setOnRequestHook(
    typeof previous === 'function'
      ? (request, response, done) => {
          inspect(request);
          return previous.call(adapter, request, response, done);
        }
      : (request, _response, done) => {
          inspect(request);
          done();
        },
  );
  return true;
}
