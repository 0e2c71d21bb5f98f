import { IncomingMessage } from 'node:http';
import { Socket } from 'node:net';

/** Where the address is kept on a connection's socket: a symbol of this module, which no request can name. */
const PEER_ADDRESS = Symbol('trusted-header:peer-address');

type AddressedSocket = Socket & { [PEER_ADDRESS]?: string };

/**
 * The TCP peer address of a request's connection, read from Node's socket on the connection's first request and
 * kept on the socket for the next ones: a connection's peer never changes. Node's `remoteAddress` getter reads
 * the socket's handle three times through an accessor over a symbol-keyed field, and every kind of socket in
 * the process goes through it, so each read is a megamorphic lookup (docs/performance.md).
 *
 * Kept only on a `net.Socket` of an HTTP/1 request: an HTTP/2 request's `socket` is a proxy of its session's
 * socket, read through and never written.
 */
export function peerAddressOf(message: IncomingMessage): string | undefined {
  const socket: unknown = message.socket;
  if (!(message instanceof IncomingMessage) || !(socket instanceof Socket)) {
    return (socket as { remoteAddress?: string } | null | undefined)?.remoteAddress;
  }
  const known = (socket as AddressedSocket)[PEER_ADDRESS];
  if (known !== undefined) return known;
  const address = socket.remoteAddress;
  // A socket already closed has no address; nothing is kept, so it is never taken for a peer.
  if (address !== undefined) (socket as AddressedSocket)[PEER_ADDRESS] = address;
  return address;
}
