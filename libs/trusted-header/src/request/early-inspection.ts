/** The request hook Nest's Express and Fastify adapters run ahead of every middleware (`setOnRequestHook`). */
type RequestHook = (request: unknown, response: unknown, done: (error?: Error) => void) => unknown;

interface HookableAdapter {
  setOnRequestHook?(hook: RequestHook): void;
  /** Private in the adapters' types: where they keep the hook, and read it on every request. */
  onRequestHook?: RequestHook;
}

/**
 * Runs `inspect` on every request through the adapter's own request hook, which both adapters install when
 * they are created, ahead of everything registered later: on Fastify, Nest registers `@fastify/middie` (every
 * Nest middleware, of any module) before any module exists, so a hook added when this module initialises
 * would run after them.
 *
 * The adapter keeps one hook, in its `onRequestHook` field. That field becomes an accessor whose setter puts
 * the inspection in front of whatever is stored there, so a hook set before or after the library, through
 * `setOnRequestHook` (the instance's, the prototype's, a subclass's `super` call) or by assigning the field,
 * runs after the inspection instead of replacing it.
 *
 * Returns false, and changes nothing more, when the adapter does not keep the hook it is given in that field
 * (an adapter of another platform, a version that stores it elsewhere, the base class's method that does
 * nothing): the caller then inspects another way.
 */
export function inspectBeforeMiddleware(
  adapter: unknown,
  inspect: (request: unknown, response: unknown) => void,
): boolean {
  const hookable = adapter as HookableAdapter | null | undefined;
  const setHook = hookable?.setOnRequestHook;
  if (typeof setHook !== 'function') return false;
  const withInspection = (hook: RequestHook | undefined): RequestHook =>
    typeof hook === 'function'
      ? (request, response, done) => {
          inspect(request, response);
          return hook.call(adapter, request, response, done);
        }
      : (request, response, done) => {
          inspect(request, response);
          done();
        };
  let current = withInspection(hookable!.onRequestHook);
  setHook.call(adapter, current);
  if (hookable!.onRequestHook !== current) return false;
  // Not configurable: the inspection cannot be deleted or redefined away.
  Object.defineProperty(adapter, 'onRequestHook', {
    configurable: false,
    enumerable: true,
    get: () => current,
    set: (hook: RequestHook | undefined) => {
      current = withInspection(hook);
    },
  });
  return true;
}
