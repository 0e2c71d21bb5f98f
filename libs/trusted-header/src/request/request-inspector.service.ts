import { Inject, Injectable, Logger } from '@nestjs/common';
import type { IncomingMessage } from 'node:http';
import { LogBudget, LogThrottle } from '../common/log-throttle.js';
import type { ResolvedTrustedHeaderOptions } from '../config/trusted-header-options.js';
import { ANONYMOUS, type IdentityResult } from '../identity/identity.js';
import { compileIdentityHeaderMatcher, compileIdentityReader, type IdentityReader } from '../identity/read-identity.js';
import { TRUSTED_HEADER_OPTIONS } from '../trusted-header.constants.js';
import { incomingMessageOf, type RequestInspection } from './request-inspection.js';

/**
 * What was concluded about each request, kept beside it rather than on it: Express swaps the prototype of every
 * request, and reading or adding a property the object lacks then walks that chain without inline caching;
 * in the benchmark that cost more than all the rest the library does per request on Express.
 */
interface RequestState {
  readonly inspection: RequestInspection;
  identity?: IdentityResult;
  /** The adapter's response, kept only for adapters whose request does not lead to it (see responseOf). */
  response?: unknown;
}

/**
 * Node keeps only the first `maxHeadersCount` header lines (1000 by default) and drops the rest without an
 * error; it stops collecting once the list reaches that size, so a list at or past it may have lost lines. A
 * duplicate identity header hidden behind enough junk lines would never be seen: such a request asserts no
 * identity, it is refused (THREATS 7).
 */
const TRUNCATED: IdentityResult = Object.freeze({
  kind: 'rejected',
  reason: 'header_list_truncated',
  detail: 'The request has more header lines than the server keeps; an identity header may have been dropped',
});

/** Node's default `maxHeaderPairs` (name and value count as two) when the server sets no maxHeadersCount. */
const NODE_DEFAULT_HEADER_ENTRIES = 2000;

function mayBeTruncated(message: IncomingMessage): boolean {
  const entries = message.rawHeaders.length;
  const socket = message.socket as
    (IncomingMessage['socket'] & { server?: { maxHeadersCount?: number | null } }) | null;
  const configured = socket?.server?.maxHeadersCount;
  // maxHeadersCount 0 means no limit; a number n keeps n lines (2n entries).
  const limit = typeof configured === 'number' ? configured * 2 : NODE_DEFAULT_HEADER_ENTRIES;
  return limit > 0 && entries >= limit;
}

/** Property of Fastify requests (declared with decorateRequest) holding the reply, when sessions are on. */
export const FASTIFY_REPLY = 'trustedHeaderReply';

/** Trusted peers have nothing stripped: one shared empty list rather than one per request. */
const NOTHING_STRIPPED: readonly string[] = Object.freeze([]);

/** What anything but a request Node's HTTP server made is: no peer, not trusted, nothing to strip. */
const NOT_A_REQUEST: RequestInspection = Object.freeze({
  peer: undefined,
  trusted: false,
  strippedHeaders: NOTHING_STRIPPED,
});

/**
 * Decides, once per request, whether the peer may assert identity and what identity it asserts. For an
 * untrusted peer the identity headers (and their twins) are deleted from the request, so nothing downstream
 * can read them (Gogs CVE-2026-25119), and a rate-limited warning names the peer.
 */
@Injectable()
export class RequestInspector {
  private readonly logger = new Logger('TrustedHeader');
  private readonly readIdentity: IdentityReader;
  private readonly isIdentityHeader: (name: string) => boolean;
  private readonly untrustedWarnings: LogThrottle;
  private readonly untrustedWarningBudget = new LogBudget(10, 1_000);
  private readonly states = new WeakMap<IncomingMessage, RequestState>();
  private readonly keepsResponses: boolean;

  constructor(@Inject(TRUSTED_HEADER_OPTIONS) private readonly options: ResolvedTrustedHeaderOptions) {
    this.readIdentity = compileIdentityReader(options.identity);
    this.isIdentityHeader = compileIdentityHeaderMatcher(options.identity);
    this.untrustedWarnings = new LogThrottle(options.untrustedWarningIntervalMs);
    this.keepsResponses = options.session !== null;
  }

  /**
   * The trust decision for the request's peer, made (and identity headers of an untrusted peer removed) on the
   * first call. `response` is kept only where the request cannot lead to it (see responseOf) and sessions,
   * which set cookies, are on.
   */
  inspect(request: unknown, response?: unknown): RequestInspection {
    const message = incomingMessageOf(request);
    if (message === undefined) return NOT_A_REQUEST;
    const state = this.stateOf(message);
    if (response !== undefined && this.keepsResponses) state.response ??= response;
    return state.inspection;
  }

  /**
   * The adapter's response to a request, where a session cookie is set: Fastify's reply, which the request hook
   * puts on the Fastify request (FASTIFY_REPLY); Express's response, which Express puts on its request as `res`;
   * otherwise what `inspect` kept. Not kept beside every request: a WeakMap value that references its key (a
   * reply references its request) is an ephemeron V8 must revisit while marking, and in the benchmark that
   * added 10 µs of garbage collection to every request on Fastify.
   */
  responseOf(request: unknown): unknown {
    const reply = (request as Record<string, unknown> | null | undefined)?.[FASTIFY_REPLY];
    if (reply !== undefined && reply !== null) return reply;
    const message = incomingMessageOf(request);
    if (message === undefined) return undefined;
    return (message as { res?: unknown }).res ?? this.states.get(message)?.response;
  }

  /** The identity the request asserts: anonymous unless the peer is trusted. Parsed once, on first use. */
  identityOf(request: unknown): IdentityResult {
    const message = incomingMessageOf(request);
    if (message === undefined) return ANONYMOUS;
    const state = this.stateOf(message);
    if (!state.inspection.trusted) return ANONYMOUS;
    return (state.identity ??= mayBeTruncated(message) ? TRUNCATED : this.readIdentity(message.rawHeaders));
  }

  private stateOf(message: IncomingMessage): RequestState {
    let state = this.states.get(message);
    if (state === undefined) {
      const peer = message.socket?.remoteAddress;
      const inspection = this.options.trust.isTrustedPeer(peer)
        ? { peer, trusted: true, strippedHeaders: NOTHING_STRIPPED }
        : { peer, trusted: false, strippedHeaders: this.stripIdentityHeaders(message, peer) };
      state = { inspection, identity: undefined, response: undefined };
      this.states.set(message, state);
    }
    return state;
  }

  private stripIdentityHeaders(message: IncomingMessage, peer: string | undefined): string[] {
    const stripped: string[] = [];
    const raw = message.rawHeaders;
    for (let i = raw.length - 2; i >= 0; i -= 2) {
      if (this.isIdentityHeader(raw[i]!)) stripped.push(raw[i]!);
    }
    if (stripped.length === 0) return stripped;
    // Node builds `headers` and `headersDistinct` lazily from rawHeaders and a line count it keeps apart; after
    // rawHeaders shrinks, building them would read past its end (a TypeError in headersDistinct). Both views
    // are built first, from the full list, and the identity headers then removed from all three. An HTTP/2
    // request (Http2ServerRequest) has no headersDistinct.
    const views = [message.headers, message.headersDistinct].filter(
      (view): view is NonNullable<typeof view> => view !== undefined && view !== null,
    ) as Record<string, unknown>[];
    for (let i = raw.length - 2; i >= 0; i -= 2) {
      if (this.isIdentityHeader(raw[i]!)) raw.splice(i, 2);
    }
    for (const view of views) {
      for (const name of Object.keys(view)) {
        if (this.isIdentityHeader(name)) delete view[name];
      }
    }
    stripped.reverse();
    // Per peer, and at most ten lines a second overall: many addresses (an IPv6 /64) must not flood the log.
    const skipped = this.untrustedWarnings.admit(peer ?? 'unknown');
    if (skipped !== null && this.untrustedWarningBudget.spend()) {
      const more = skipped > 0 ? `; ${skipped} more from this peer since the last warning` : '';
      this.logger.warn(
        `untrusted_proxy: peer ${peer ?? 'unknown'} sent identity headers (${[...new Set(stripped)].join(', ')}); ignored and removed${more}`,
      );
    }
    return stripped;
  }
}
