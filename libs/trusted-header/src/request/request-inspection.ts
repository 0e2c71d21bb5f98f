import type { IncomingMessage } from 'node:http';

/**
 * What the library concluded about the peer of one request, computed once and shared by middleware, strategy
 * and guard. The identity itself is parsed only when a guard asks for it (RequestInspector.identityOf).
 */
export interface RequestInspection {
  /** TCP peer address as the socket reports it. */
  readonly peer: string | undefined;
  readonly trusted: boolean;
  /** Names of identity headers an untrusted peer sent (removed from the request). */
  readonly strippedHeaders: readonly string[];
}

/**
 * The Node request under any adapter: Express passes the IncomingMessage itself, Fastify wraps it in `raw`.
 * Trust and headers are always read from it, so both adapters see the same socket and raw header lines.
 */
export function incomingMessageOf(request: unknown): IncomingMessage {
  const candidate = request as { raw?: IncomingMessage } & IncomingMessage;
  // The message's own rawHeaders first: probing an Express request for a missing `raw` walks a prototype
  // chain Express swaps per request, which cost more than everything else the library does per request.
  if (Array.isArray(candidate.rawHeaders)) return candidate;
  return candidate.raw && typeof candidate.raw === 'object' && 'rawHeaders' in candidate.raw
    ? candidate.raw
    : candidate;
}
