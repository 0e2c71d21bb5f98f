import { IncomingMessage } from 'node:http';
import { Http2ServerRequest } from 'node:http2';
import type { ResolvedProxyProfile } from '../config/trusted-header-options.js';

/**
 * What the library concluded about the peer of one request, computed once and shared by middleware, strategy
 * and guard. The identity itself is parsed only when a guard asks for it (RequestInspector.identityOf).
 */
export interface RequestInspection {
  /** TCP peer address as the socket reports it. */
  readonly peer: string | undefined;
  /**
   * A proxy profile's checks passed: peer range, shared secret, client certificate, and for a signed assertion
   * the presence of its header. The assertion's signature is verified when the identity is read, so with such
   * a profile this alone admits nobody.
   */
  readonly trusted: boolean;
  /** Names of identity headers an untrusted peer sent (removed from the request). */
  readonly strippedHeaders: readonly string[];
  /** The proxy profile whose checks the request passed; null when untrusted. */
  readonly profile: ResolvedProxyProfile | null;
}

/**
 * The Node request under any adapter: Express passes the IncomingMessage itself, Fastify wraps it in `raw`.
 * Trust and headers are always read from it, so both adapters see the same socket and raw header lines.
 *
 * Only a message Node's HTTP server made counts (an IncomingMessage, or an Http2ServerRequest): anything
 * else is undefined, which means no trusted peer and no identity. A plain object with `socket.remoteAddress`
 * and `rawHeaders` is data someone wrote, such as an RPC payload that a guard handed over as "the request"
 * (AuthGuard on a non-HTTP handler takes the first argument): it must never pass for the proxy.
 */
export function incomingMessageOf(request: unknown): IncomingMessage | undefined {
  // The message itself first: probing an Express request for a missing `raw` walks a prototype chain
  // Express swaps per request, which cost more than everything else the library does per request.
  if (request instanceof IncomingMessage) return request;
  const raw = (request as { raw?: unknown } | null | undefined)?.raw;
  if (raw instanceof IncomingMessage) return raw;
  if (request instanceof Http2ServerRequest) return request as unknown as IncomingMessage;
  if (raw instanceof Http2ServerRequest) return raw as unknown as IncomingMessage;
  return undefined;
}
