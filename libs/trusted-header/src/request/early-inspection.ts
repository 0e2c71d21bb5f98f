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
 * The adapter keeps one hook. A hook set before the library runs after the inspection; so does one set later
 * through the adapter's `setOnRequestHook`, which becomes a method of the instance (not writable, not
 * configurable) that puts the inspection in front of the hook it is given. A hook stored past that method (the
 * private field assigned, the prototype's method called) replaces this one; the requests reaching the
 * application were inspected on arrival anyway (inspectOnArrival), before any hook.
 *
 * The field itself is left a plain field: turning it into an accessor put the whole adapter object into
 * dictionary mode, and Nest reads the adapter's fields and methods on every request (docs/performance.md).
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
  const first = withInspection(hookable!.onRequestHook);
  setHook.call(adapter, first);
  if (hookable!.onRequestHook !== first) return false;
  Object.defineProperty(adapter, 'setOnRequestHook', {
    configurable: false,
    writable: false,
    enumerable: false,
    value: (hook: RequestHook | undefined) => setHook.call(adapter, withInspection(hook)),
  });
  return true;
}
