/** The part of a Fastify instance this step uses. */
interface FastifyDecorating {
  register(plugin: (instance: FastifyDecorating, options: unknown, done: () => void) => void): unknown;
  hasRequestDecorator(name: string): boolean;
  decorateRequest(name: string, value: undefined): void;
}

/** Fastify's own marker for a plugin that decorates the instance it is registered on, not a child context. */
const SKIP_OVERRIDE = Symbol.for('skip-override');

/**
 * Declares `request.user` on Fastify's requests (initially `undefined`, as before), where the guard puts the
 * admitted user. Fastify builds every request with its declared properties; a property added per request
 * moves each request object to a second hidden class, which Fastify's and Nest's code then meets on every
 * request (docs/performance.md has the measurement).
 *
 * Registered as a plugin rather than declared right away, so that it runs after every plugin the application
 * registered before the app initialises: several authentication plugins declare `user` themselves without
 * checking first, and Fastify refuses a second declaration. When one did, it is left as it is. Written by hand
 * rather than with `fastify-plugin`, which the library does not depend on: the symbol is Fastify's documented
 * way to keep a plugin's decorators on the instance it is registered on.
 */
export function declareRequestUser(fastify: FastifyDecorating): void {
  const plugin = (instance: FastifyDecorating, _options: unknown, done: () => void) => {
    if (!instance.hasRequestDecorator('user')) instance.decorateRequest('user', undefined);
    done();
  };
  fastify.register(Object.assign(plugin, { [SKIP_OVERRIDE]: true }));
}
