import { Inject, Injectable, Logger, Optional, type OnApplicationBootstrap } from '@nestjs/common';
import type { IncomingMessage } from 'node:http';
import { LogBudget, LogThrottle } from '../common/log-throttle.js';
import type { MaybePromise } from '../common/maybe-promise.js';
import type { ResolvedProxyProfile, ResolvedTrustedHeaderOptions } from '../config/trusted-header-options.js';
import { ANONYMOUS, type IdentityResult } from '../identity/identity.js';
import { compileClientCertificateCheck, type ClientCertificateCheck } from '../trust/client-certificate.js';
import { compileProfileSelector, type ProfileSelector } from '../trust/proxy-profiles.js';
import { NO_METRICS, TrustedHeaderMetrics } from '../observability/trusted-header-metrics.js';
import { TRUSTED_HEADER_OPTIONS } from '../trusted-header.constants.js';
import { compileHeaderNameMatcher, removeHeaders, type HeaderNameMatcher } from './header-removal.js';
import { compileProfileIdentity, type ProfileIdentity } from './profile-identity.js';
import { peerAddressOf } from './peer-address.js';
import { incomingMessageOf, type RequestInspection } from './request-inspection.js';
import { reportRequest, type RequestReport } from './request-report.js';

/** What was concluded about one request, computed on its first inspection. */
interface RequestState {
  readonly inspection: RequestInspection;
  /** The profile that accepted the request; -1 for none. */
  readonly profileIndex: number;
  /**
   * Names of the lines removed as shared secrets, and as identity headers the accepting profile does not read:
   * kept for a report of the request (the doctor, a debug line), which can no longer see them. The arrays
   * removal returns anyway; nothing is computed for the report on the request path.
   */
  readonly secretLines: readonly string[];
  readonly notReadLines: readonly string[];
  /** The header list may have lost lines (see mayBeTruncated); decided with the rest, as the request arrives. */
  readonly truncated: boolean;
  /** The request's header lines, as left after removal (removal changes the list in place). */
  readonly rawHeaders: readonly string[];
  identity?: MaybePromise<IdentityResult>;
  /** The adapter's response, kept only for adapters whose request does not lead to it (see responseOf). */
  response?: unknown;
}

/**
 * Where a request's state lives: on the Node request itself, under a symbol each inspector makes for itself (no
 * header, body or JSON can name it, a plain object never passes incomingMessageOf, and two library instances
 * that see one request, each with its own trust list, never read each other's decision). Not in a WeakMap
 * beside the request: every entry keyed by a short-lived object is an ephemeron the garbage collector must
 * process, and in the pinned benchmark that cost 3.3 µs per request on Fastify, more than all the library's
 * own work.
 */
type InspectedMessage = IncomingMessage & Record<symbol, RequestState | undefined>;

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
  profile: null,
});

/** One profile, compiled: how it reads identity, and what is removed from the requests it accepts. */
interface CompiledProfile {
  readonly profile: ResolvedProxyProfile;
  readonly identity: ProfileIdentity;
  /** Identity headers this profile does not read (other profiles', unsigned companions); null: none to remove. */
  readonly foreignHeaders: HeaderNameMatcher | null;
}

/** Every header name a profile reads identity from (none for a signed assertion: only its token counts). */
function identityHeaderNames(profile: ResolvedProxyProfile): string[] {
  if (profile.assertion !== null) return [];
  const { headers, subject } = profile.identity;
  return [headers.user, headers.email, headers.name, headers.groups, ...(subject === null ? [] : [subject.header])];
}

/** Every identity header name a profile knows of: what it reads, what it ignores, and its proxy's unsigned ones. */
function knownIdentityHeaderNames(profile: ResolvedProxyProfile): string[] {
  const { headers, subject } = profile.identity;
  return [
    headers.user,
    headers.email,
    headers.name,
    headers.groups,
    ...(subject === null ? [] : [subject.header]),
    ...profile.unsignedHeaders,
  ];
}

/**
 * Decides, once per request, whether the peer may assert identity and what identity it asserts. For an
 * untrusted peer the identity headers (and their twins) are deleted from the request, so nothing downstream
 * can read them (Gogs CVE-2026-25119), and a rate-limited warning names the peer.
 */
@Injectable()
export class RequestInspector implements OnApplicationBootstrap {
  private readonly logger = new Logger('TrustedHeader');
  private readonly profiles: readonly CompiledProfile[];
  private readonly selector: ProfileSelector;
  /** Identity headers of every profile: what an untrusted peer's request loses. */
  private readonly isIdentityHeader: HeaderNameMatcher;
  /** Shared-secret headers: removed from every request once checked, so no handler or log ever sees one. */
  private readonly isSecretHeader: HeaderNameMatcher | null;
  private readonly untrustedWarnings: LogThrottle;
  private readonly untrustedWarningBudget = new LogBudget(10, 1_000);
  private readonly keepsResponses: boolean;
  /** This inspector's key for the state it keeps on each request (see InspectedMessage). */
  private readonly stateKey = Symbol('trusted-header:request-state');
  /**
   * The request inspected or looked up last, and its state: from the request hook to the guard a request
   * mostly runs without a break, and a property read on an Express request costs a lookup of its own (see
   * inspectOnArrival). Compared by identity, so it can only ever answer for that very request. It holds that
   * one request (and what hangs on it) until the next one is inspected.
   */
  private lastMessage: IncomingMessage | undefined;
  private lastState: RequestState | undefined;
  /** An inspection on arrival that failed, for the next inspection of that request to throw (inspectOnArrival). */
  private arrivalFailure: { readonly message: IncomingMessage; readonly error: unknown } | undefined;
  /** Client-certificate checks of each profile, compiled on the first report (never on the request path). */
  private certificateChecks?: readonly (ClientCertificateCheck | null)[];

  constructor(
    @Inject(TRUSTED_HEADER_OPTIONS) private readonly options: ResolvedTrustedHeaderOptions,
    @Optional() metrics: TrustedHeaderMetrics = NO_METRICS,
  ) {
    const everyIdentityHeader = options.profiles.flatMap(knownIdentityHeaderNames);
    this.isIdentityHeader = compileHeaderNameMatcher(everyIdentityHeader)!;
    this.isSecretHeader = compileHeaderNameMatcher(
      options.profiles.flatMap((profile) => (profile.sharedSecret === null ? [] : [profile.sharedSecret.header])),
    );
    this.selector = compileProfileSelector(options.profiles);
    this.profiles = options.profiles.map((profile) => {
      const read = new Set(identityHeaderNames(profile).map((name) => name.toLowerCase()));
      const identity = compileProfileIdentity(profile, metrics);
      return {
        profile,
        identity,
        foreignHeaders: compileHeaderNameMatcher(
          everyIdentityHeader.filter((name) => !read.has(name.toLowerCase()) || profile.unsignedHeaders.includes(name)),
        ),
      };
    });
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
    return (message as { res?: unknown }).res ?? (message as InspectedMessage)[this.stateKey]?.response;
  }

  /**
   * The identity the request asserts: anonymous unless a profile accepted the request. Parsed (or the token
   * verified) once, on first use; a promise only while a token's keys are being fetched or it is verified.
   */
  identityOf(request: unknown): MaybePromise<IdentityResult> {
    const message = incomingMessageOf(request);
    if (message === undefined) return ANONYMOUS;
    const state = this.stateOf(message);
    if (state.profileIndex < 0) return ANONYMOUS;
    return (state.identity ??= state.truncated
      ? TRUNCATED
      : this.profiles[state.profileIndex]!.identity.read(state.rawHeaders));
  }

  /**
   * Loads the keys of every signed-assertion profile once the application has started, without waiting for
   * them: a key endpoint that is down is reported here, at start, and asked again on the first token.
   */
  onApplicationBootstrap(): void {
    for (const { profile, identity } of this.profiles) {
      void identity.warmUp?.().then((failure) => {
        if (failure === null) return;
        this.logger.warn(
          `assertion_keys_unavailable: profile ${profile.name}: the keys could not be loaded at startup (${failure}); ` +
            'they are asked for again on the first token',
        );
      });
    }
  }

  private stateOf(request: IncomingMessage): RequestState {
    if (request === this.lastMessage) return this.lastState!;
    if (this.arrivalFailure?.message === request) {
      const { error } = this.arrivalFailure;
      this.arrivalFailure = undefined;
      throw error;
    }
    const state = (request as InspectedMessage)[this.stateKey] ?? this.firstInspection(request);
    this.lastMessage = request;
    this.lastState = state;
    return state;
  }

  /**
   * Decides on a request not seen before, and keeps the state on it. Removes what must not reach anything
   * after the library (secrets, identity headers it does not read or an untrusted peer sent).
   */
  private firstInspection(request: IncomingMessage): RequestState {
    const message = request as InspectedMessage;
    const peer = peerAddressOf(message);
    // The secret is read by the selection and removed right after, whether it matched or not.
    const profileIndex = this.selector.select(message, peer);
    // Before anything is removed: the count says whether Node dropped lines.
    const truncated = profileIndex >= 0 && mayBeTruncated(message);
    const secretLines = this.isSecretHeader === null ? NOTHING_STRIPPED : removeHeaders(message, this.isSecretHeader);
    const secretSent = secretLines.length > 0;
    let inspection: RequestInspection;
    let notReadLines = NOTHING_STRIPPED;
    /** What an untrusted peer sent that was removed, to be warned about once the state is kept. */
    let warning: readonly string[] | undefined;
    if (profileIndex >= 0) {
      const { profile, foreignHeaders } = this.profiles[profileIndex]!;
      if (foreignHeaders !== null) {
        const removed = removeHeaders(message, foreignHeaders);
        if (removed.length > 0) notReadLines = removed;
      }
      inspection = { peer, trusted: true, strippedHeaders: NOTHING_STRIPPED, profile };
    } else {
      const stripped = removeHeaders(message, this.isIdentityHeader);
      if (stripped.length > 0 || secretSent) warning = stripped;
      inspection = {
        peer,
        trusted: false,
        strippedHeaders: stripped.length > 0 ? stripped : NOTHING_STRIPPED,
        profile: null,
      };
    }
    const state: RequestState = {
      inspection,
      profileIndex,
      secretLines: secretSent ? secretLines : NOTHING_STRIPPED,
      notReadLines,
      truncated,
      rawHeaders: message.rawHeaders,
      identity: undefined,
      response: undefined,
    };
    message[this.stateKey] = state;
    // After the state is kept: a failing log line must not leave the request half inspected.
    if (warning !== undefined) this.warnUntrusted(message, peer, warning);
    return state;
  }

  /**
   * The inspection as the request arrives (in the server's listener on Fastify, as it enters the application on
   * Express), where nothing could report an error: it is kept and thrown by the next inspection of that
   * request, in the adapter's request hook, which reports it as it would have reported it itself.
   */
  inspectOnArrival(request: IncomingMessage): void {
    if (request === this.lastMessage || this.arrivalFailure?.message === request) return;
    try {
      // stateOf's lookup, at a site of its own: a request arrives with the one layout its server gives it, where
      // stateOf meets requests at every later stage and with every property added since, and its lookup is
      // megamorphic (docs/performance.md).
      const state = (request as InspectedMessage)[this.stateKey] ?? this.firstInspection(request);
      this.lastMessage = request;
      this.lastState = state;
    } catch (error) {
      this.arrivalFailure = { message: request, error };
    }
  }

  /**
   * What the library saw of the request and concluded, for the doctor and the debug line of a refusal: every
   * check of every profile, the identity headers (values redacted but the username), what was removed, and the
   * identity. Recomputed from the request as it is now and the names inspection kept; not on the request path.
   * The identity is read (a token verified) if it has not been yet.
   */
  async report(request: unknown): Promise<RequestReport | null> {
    const message = incomingMessageOf(request);
    if (message === undefined) return null;
    const state = this.stateOf(message);
    const identity = state.profileIndex >= 0 ? await this.identityOf(request) : undefined;
    this.certificateChecks ??= this.options.profiles.map((profile) =>
      profile.clientCertificate === null ? null : compileClientCertificateCheck(profile.clientCertificate),
    );
    const checks = this.certificateChecks;
    return reportRequest(
      this.options.profiles,
      {
        socket: message.socket,
        rawHeaders: message.rawHeaders,
        peer: state.inspection.peer,
        accepted: state.profileIndex,
        secretLines: state.secretLines,
        strippedLines: state.inspection.strippedHeaders,
        notReadLines: state.notReadLines,
        identity,
      },
      (index) => checks[index] ?? null,
    );
  }

  /**
   * Names the peer and, for each profile, the check that refused the request (`secret_mismatch`,
   * `client_certificate_rejected`, ...). Per peer, and at most ten lines a second overall: many addresses (an
   * IPv6 /64) must not flood the log.
   */
  private warnUntrusted(message: IncomingMessage, peer: string | undefined, stripped: readonly string[]): void {
    const skipped = this.untrustedWarnings.admit(peer ?? 'unknown');
    if (skipped === null || !this.untrustedWarningBudget.spend()) return;
    const more = skipped > 0 ? `; ${skipped} more from this peer since the last warning` : '';
    const sent =
      stripped.length > 0
        ? `sent identity headers (${[...new Set(stripped)].join(', ')}); ignored and removed`
        : 'sent a shared secret; removed';
    const why = this.selector
      .explain(message, peer)
      .map((refusal) =>
        this.profiles.length > 1
          ? `${refusal.check} (profile ${refusal.profile}: ${refusal.detail})`
          : `${refusal.check} (${refusal.detail})`,
      )
      .join('; ');
    this.logger.warn(`untrusted_proxy: peer ${peer ?? 'unknown'} ${sent}: ${why}${more}`);
  }
}
