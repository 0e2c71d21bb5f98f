/** The request hook Nest's Express and Fastify adapters run ahead of every middleware (`setOnRequestHook`). */
type RequestHook = (request: unknown, response: unknown, done: (error?: Error) => void) => unknown;

interface HookableAdapter {
  setOnRequestHook?(hook: RequestHook): void;
  /** Private in the adapters' types: where they keep the hook, and read it on every request. */
  onRequestHook?: RequestHook;
  /** Private: how Nest's Fastify adapter runs the hook its field holds (and the response hook), per request. */
  runLifecycleHook?(hook: RequestHook, request: unknown, response: unknown, done: (error?: Error) => void): void;
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
 * private field assigned, the prototype's method called) replaces this one. The requests reaching the server
 * were inspected on arrival anyway, before any hook; but Fastify answers on a server of its own for each
 * further address the host resolves to (`localhost`: `::1` and `127.0.0.1`), with its handler and not the
 * wrapped listener. Where the adapter runs its hook through `runLifecycleHook` (Nest's Fastify adapter), that
 * becomes a method of the instance too, which inspects before running a request hook other than the library's.
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
  /** The hook the library stored last: it inspects first, so running it needs no inspection before it. */
  let installed = withInspection(hookable!.onRequestHook);
  setHook.call(adapter, installed);
  if (hookable!.onRequestHook !== installed) return false;
  ownMethod(adapter, 'setOnRequestHook', (hook: RequestHook | undefined) => {
    installed = withInspection(hook);
    setHook.call(adapter, installed);
  });
  const runHook = hookable!.runLifecycleHook;
  if (typeof runHook === 'function') {
    ownMethod(
      adapter,
      'runLifecycleHook',
      function runInspected(
        this: unknown,
        hook: RequestHook,
        request: unknown,
        response: unknown,
        done: (error?: Error) => void,
      ) {
        if (hook !== installed && hook === hookable!.onRequestHook) inspect(request, response);
        return runHook.call(this, hook, request, response, done);
      },
    );
  }
  return true;
}

/** A method of this instance that cannot be assigned, deleted or redefined away (a new property: the layout stays fast). */
// eslint-disable-next-line @typescript-eslint/no-unsafe-function-type -- any method
function ownMethod(target: unknown, name: string, method: Function): void {
  Object.defineProperty(target, name, { configurable: false, writable: false, enumerable: false, value: method });
}
