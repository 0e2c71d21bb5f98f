import { IncomingMessage } from 'node:http';

/** What Node's socket keeps of its peer once `remoteAddress` (or `remotePort`, `remoteFamily`) was read. */
interface PeerName {
  readonly address?: unknown;
}

/**
 * The TCP peer address of a request's connection: what `socket.remoteAddress` answers, read from the place Node
 * keeps it. Node's `remoteAddress` getter asks the socket's handle for the peer once and keeps the answer in the
 * socket's `_peername` field; every later call returns that field, but only after reading the handle three times
 * through an accessor that every kind of socket in the process shares, each a megamorphic lookup (about 430
 * instructions per request, docs/performance.md). Read here at a site that only meets the sockets of HTTP
 * requests, the field answers the same: Node clears it when a socket connects anew, so it never outlives its
 * connection. Until Node has filled it (the connection's first request), or where a socket keeps no such field
 * (a stream handed to the server by the application, an HTTP/2 request's socket), the getter is asked. Once
 * Node has filled it, a `remoteAddress` the application redefines on the socket does not count: the TCP peer
 * does.
 */
export function peerAddressOf(message: IncomingMessage): string | undefined {
  const socket = message.socket as (IncomingMessage['socket'] & { _peername?: PeerName | null }) | null;
  if (message instanceof IncomingMessage && socket !== null) {
    const kept = socket._peername?.address;
    if (typeof kept === 'string') return kept;
  }
  return socket?.remoteAddress;
}
