import { EventEmitter } from 'node:events';
import type { IncomingMessage } from 'node:http';

/** What can be closed when an inspection fails: the socket of an upgrade or CONNECT, the response of a request. */
interface Closable {
  destroy(): unknown;
}

/**
 * Inspects the requests that reach the server's own listeners past the library's usual arrival step, before
 * any of those listeners runs:
 * - `upgrade` and `connect`: a WebSocket handshake (ws, `@nestjs/platform-ws`, socket.io) or a CONNECT, which
 *   Node hands to those listeners instead of the `request` ones, so neither the adapter nor any middleware sees
 *   it; likewise `checkContinue` and `checkExpectation`, which take the place of `request` for a request with
 *   an `Expect` header while a listener for them exists;
 * - `request`, once a listener the library does not cover is added (`covered` are those that inspect already:
 *   the Express application, the Fastify handler as the library wrapped it): engine.io (socket.io) takes the
 *   server's `request` listeners over and serves its HTTP long-polling handshake itself.
 *
 * It wraps the server's `emit` (a method of the instance) rather than listening: it then runs ahead of every
 * listener whenever and however added (`on`, `prependListener`, lazily while a request is handled), two
 * modules on one server nest instead of contending for the first place, and Node's choice between the
 * `upgrade` and the `request` path, which depends on whether an `upgrade` listener exists, is left alone.
 * Fastify's further servers (one per address the host resolves to) hand their `upgrade` events to this `emit`.
 *
 * If an inspection fails, the socket (or the response) is closed and the event not delivered: these requests
 * get no later inspection that could refuse them. Returns false, and changes nothing, when there is no server.
 */
export function inspectBypassingRequests(
  server: unknown,
  covered: readonly unknown[],
  inspect: (request: IncomingMessage) => void,
  refuse: (request: IncomingMessage, error: unknown) => void,
): boolean {
  if (!(server instanceof EventEmitter)) return false;
  let uncoveredRequests = false;
  const watch = (event: string | symbol, listener: unknown) => {
    if (event === 'request' && !covered.includes(listener)) uncoveredRequests = true;
  };
  for (const listener of server.listeners('request')) watch('request', listener);
  server.on('newListener', watch);
  // An `emit` of the instance (another wrapper) is kept; the class's is looked up at each event instead, so that
  // one patched onto `Server.prototype` later (an APM agent's instrumentation) still runs for this server.
  const ownEmit = Object.hasOwn(server, 'emit') ? server.emit : undefined;
  const prototype = Object.getPrototypeOf(server) as EventEmitter;
  // `arguments` passed on as they came: a rest parameter would build an array for every event of the server.
  server.emit = function emitInspected(
    this: EventEmitter,
    event: string | symbol,
    request?: unknown,
    second?: unknown,
  ) {
    if (event === 'request' ? uncoveredRequests : bypassesRequestPath(event)) {
      try {
        inspect(request as IncomingMessage);
      } catch (error) {
        (second as Closable | undefined)?.destroy();
        try {
          refuse(request as IncomingMessage, error);
        } catch {
          // A logger that throws must not reach Node's parser, which would end the process; the socket is closed.
        }
        return true;
      }
    }
    // eslint-disable-next-line prefer-rest-params -- see above
    return Reflect.apply(ownEmit ?? prototype.emit, this, arguments) as boolean;
  };
  return true;
}

/** The events Node emits, while they have listeners, instead of `request` (see above). */
function bypassesRequestPath(event: string | symbol): boolean {
  return event === 'upgrade' || event === 'connect' || event === 'checkContinue' || event === 'checkExpectation';
}
