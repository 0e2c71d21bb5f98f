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
 * would run after them. A hook the application set before is kept and runs after the inspection, and so does
 * one set later through `setOnRequestHook` (it would otherwise replace this one). Returns false when the
 * adapter has no such hook (adapters of other platforms, older versions): the caller inspects another way.
 */
export function inspectBeforeMiddleware(
  adapter: unknown,
  inspect: (request: unknown, response: unknown) => void,
): boolean {
  const hookable = adapter as HookableAdapter | null | undefined;
  const setHook = hookable?.setOnRequestHook;
  if (typeof setHook !== 'function') return false;
  const install = (hook: RequestHook | undefined): void =>
    setHook.call(
      adapter,
      typeof hook === 'function'
        ? (request, response, done) => {
            inspect(request, response);
            return hook.call(adapter, request, response, done);
          }
        : (request, response, done) => {
            inspect(request, response);
            done();
          },
    );
  install(hookable!.onRequestHook);
  hookable!.setOnRequestHook = install;
  return true;
}
