import type { IncomingMessage } from 'node:http';

/**
 * The TCP peer address of a request's connection, as the socket reports it (`remoteAddress`): the one place the
 * inspection reads it, so that every check of one request decides on one reading.
 *
 * Read through the getter on every request, although Node keeps the answer in the socket's `_peername` after
 * the first call and the getter costs two megamorphic lookups (about 430 instructions per request,
 * docs/performance.md): a socket whose `remoteAddress` an application redefines (a PROXY-protocol wrapper
 * answering the client behind a load balancer) may have that field filled with the load balancer's address by
 * any later call of Node's own getters, and a request on that connection must not then be judged on another
 * address than the one before it.
 */
export function peerAddressOf(message: IncomingMessage): string | undefined {
  return message.socket?.remoteAddress;
}
