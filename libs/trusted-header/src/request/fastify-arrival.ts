import { EventEmitter } from 'node:events';
import type { IncomingMessage } from 'node:http';

type RequestListener = (this: unknown, request: IncomingMessage, response: unknown) => unknown;

/**
 * On Fastify, inspects each request as the server Fastify answers on emits it, before Fastify routes it:
 * identity headers of an untrusted peer are gone before the adapter's request hook, any other `onRequest`
 * hook or any middleware runs, whatever hook was stored on the adapter since. Fastify's request wraps the same
 * Node message (`request.raw`), so the inspections that follow find its state.
 *
 * When Fastify's handler is the server's only `request` listener, as Fastify leaves it, it is replaced by one
 * that inspects and then calls it: Node calls a lone listener directly, but copies the list of two or more on
 * every request, and a listener put in front cost about 1,000 instructions per request under callgrind, the
 * wrapper none measurable (docs/performance.md). Otherwise the inspection is put first among them.
 *
 * An error here is left to the adapter's request hook, which inspects again and reports it
 * (RequestInspector.inspectOnArrival).
 */
export function inspectOnServerArrival(server: unknown, inspect: (request: IncomingMessage) => void): boolean {
  if (!(server instanceof EventEmitter)) return false;
  const arrive = (request: IncomingMessage) => {
    try {
      inspect(request);
    } catch {
      // A throw here would end the process; the adapter's request hook inspects every request again anyway.
    }
  };
  const listeners = server.listeners('request') as RequestListener[];
  if (listeners.length !== 1) {
    server.prependListener('request', arrive);
    return true;
  }
  const [handler] = listeners as [RequestListener];
  server.removeListener('request', handler);
  server.on('request', function inspectThenHandle(this: unknown, request: IncomingMessage, response: unknown) {
    arrive(request);
    return handler.call(this, request, response);
  });
  return true;
}
