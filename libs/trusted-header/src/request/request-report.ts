import type { ResolvedProxyProfile } from '../config/trusted-header-options.js';
import {
  findIdentityHeaderProblems,
  watchedHeaders,
  type HeaderFinding,
  type SeenIdentityHeader,
} from '../identity/header-findings.js';
import type { IdentityResult } from '../identity/identity.js';
import type { ResolvedAssertionOptions } from '../trust/assertion/assertion-options.js';
import { decodeJsonObject, readToken } from '../trust/assertion/token-shape.js';
import type { ClientCertificateCheck } from '../trust/client-certificate.js';
import { reportProfiles, type CheckedRequest, type ProfileReport } from '../trust/profile-checks.js';
import { headerValues } from '../trust/proxy-profiles.js';

/** A header line inspection removed before routing, and why. Names only: the values are gone. */
export interface RemovedHeader {
  readonly name: string;
  /**
   * `shared_secret`: a proxy's secret, removed from every request once checked; `untrusted_peer`: an identity
   * header from a peer no profile accepted; `not_read`: an identity header the accepting profile does not read
   * (another profile's, or a signing proxy's unsigned companion).
   */
  readonly why: 'shared_secret' | 'untrusted_peer' | 'not_read';
}

/** The identity the request asserted, without its values: only the username is shown. */
export type IdentityReport =
  | {
      readonly outcome: 'identity';
      readonly username: string;
      /** Namespace of the stable subject (never the subject itself); null without one. */
      readonly subjectIssuer: string | null;
      readonly emailAsserted: boolean;
      readonly displayNameAsserted: boolean;
      readonly externalGroupCount: number;
    }
  | { readonly outcome: 'anonymous'; readonly detail: string }
  | { readonly outcome: 'rejected'; readonly reason: string; readonly detail: string }
  | { readonly outcome: 'not_read'; readonly detail: string };

/** What a signed assertion says about itself; never the token, never its other claims. */
export interface AssertionFacts {
  readonly issuer: string | null;
  readonly kid: string | null;
  readonly alg: string | null;
  /** `exp` as an ISO timestamp; null without one. */
  readonly expiresAt: string | null;
}

export interface RequestReport {
  readonly peer: string | null;
  readonly trusted: boolean;
  /** The profile that accepted the request; null for none. */
  readonly profile: string | null;
  readonly profiles: ProfileReport[];
  readonly headers: {
    /** Identity headers the accepting profile reads (or its assertion's header), as they reached the app. */
    readonly seen: SeenIdentityHeader[];
    readonly findings: HeaderFinding[];
    readonly removed: RemovedHeader[];
  };
  readonly identity: IdentityReport;
  readonly assertion: AssertionFacts | null;
}

/** A request after inspection, with what inspection kept of the lines it removed. */
export interface InspectedRequest extends CheckedRequest {
  /** Identity headers of an untrusted peer, removed. */
  readonly strippedLines: readonly string[];
  /** Identity headers the accepting profile does not read, removed. */
  readonly notReadLines: readonly string[];
  /** What the identity step concluded; undefined when it has not run (an untrusted peer). */
  readonly identity: IdentityResult | undefined;
}

/**
 * Everything the library saw of one request and what it made of it, with nothing secret: no shared secret
 * (only its header's name), no token (only issuer, kid, alg and exp), no cookie, and of identity headers only
 * the username's value.
 */
export function reportRequest(
  profiles: readonly ResolvedProxyProfile[],
  request: InspectedRequest,
  certificateCheckOf: (index: number) => ClientCertificateCheck | null,
): RequestReport {
  const profile = request.accepted >= 0 ? profiles[request.accepted]! : null;
  const { seen, findings } =
    profile === null
      ? { seen: [], findings: [] }
      : findIdentityHeaderProblems(
          watchedHeaders(profile.identity, profile.assertion?.header ?? null),
          request.rawHeaders,
        );
  const removed: RemovedHeader[] = [
    ...request.secretLines.map((name) => ({ name, why: 'shared_secret' as const })),
    ...request.strippedLines.map((name) => ({ name, why: 'untrusted_peer' as const })),
    ...request.notReadLines.map((name) => ({ name, why: 'not_read' as const })),
  ];
  return {
    peer: request.peer ?? null,
    trusted: profile !== null,
    profile: profile?.name ?? null,
    profiles: reportProfiles(profiles, request, certificateCheckOf),
    headers: { seen, findings, removed },
    identity: identityReport(request.identity),
    assertion: profile?.assertion ? assertionFacts(profile.assertion, request.rawHeaders) : null,
  };
}

function identityReport(result: IdentityResult | undefined): IdentityReport {
  if (result === undefined) return { outcome: 'not_read', detail: 'No profile accepted the request' };
  if (result.kind === 'rejected') return { outcome: 'rejected', reason: result.reason, detail: result.detail };
  if (result.kind === 'anonymous') {
    return {
      outcome: 'anonymous',
      detail: result.withoutUser
        ? 'Identity headers without the user header: nobody in particular'
        : 'No identity headers: a session cookie, if any, says who the user is',
    };
  }
  const { identity } = result;
  return {
    outcome: 'identity',
    username: identity.username,
    subjectIssuer: identity.subject?.issuer ?? null,
    emailAsserted: identity.email !== null,
    displayNameAsserted: identity.displayName !== null,
    externalGroupCount: identity.groups.length,
  };
}

/** Read from the token as sent, without verifying it again: the identity section says whether it verified. */
function assertionFacts(assertion: ResolvedAssertionOptions, rawHeaders: readonly string[]): AssertionFacts | null {
  const [value] = headerValues(rawHeaders, assertion.header.toLowerCase());
  if (value === undefined) return null;
  const token = assertion.bearer ? /^Bearer +(\S+) *$/i.exec(value)?.[1] : value;
  if (token === undefined) return null;
  const reading = readToken(token, assertion.keys.kind === 'alb');
  if (reading.kind !== 'parts') return null;
  const { header, payloadSegment } = reading.parts;
  const payload = decodeJsonObject(payloadSegment.replace(/=+$/, '')) ?? {};
  const text = (value: unknown) => (typeof value === 'string' ? value : null);
  // AWS ALB carries iss and exp in the token header as well as in the payload.
  const exp = payload.exp ?? header.exp;
  return {
    issuer: text(payload.iss) ?? text(header.iss),
    kid: text(header.kid),
    alg: text(header.alg),
    expiresAt: typeof exp === 'number' && Number.isFinite(exp) ? new Date(exp * 1000).toISOString() : null,
  };
}

/** The report as one log line: the same facts, nothing secret. */
export function formatRequestReport(report: RequestReport): string {
  const profiles = report.profiles
    .map(
      (profile) =>
        `${profile.profile} ${profile.outcome} [${profile.checks
          .map(
            (check) =>
              `${check.check} ${check.passed === null ? 'unknown' : check.passed ? 'ok' : 'failed'}: ${check.detail}`,
          )
          .join('; ')}]`,
    )
    .join(', ');
  const seen = report.headers.seen.map((line) => `${line.name}=${JSON.stringify(line.value)}`).join(' ');
  const removed = report.headers.removed.map((line) => `${line.name} (${line.why})`).join(' ');
  const findings = report.headers.findings.map((finding) => `${finding.reason}: ${finding.detail}`).join('; ');
  const { identity } = report;
  const who =
    identity.outcome === 'identity'
      ? `identity ${JSON.stringify(identity.username)}`
      : identity.outcome === 'rejected'
        ? `rejected ${identity.reason}: ${identity.detail}`
        : `${identity.outcome}: ${identity.detail}`;
  const assertion = report.assertion
    ? `; assertion iss ${report.assertion.issuer} kid ${report.assertion.kid} alg ${report.assertion.alg} exp ${report.assertion.expiresAt}`
    : '';
  return (
    `request report: peer ${report.peer ?? 'unknown'} ${report.trusted ? `trusted by ${report.profile}` : 'untrusted'}; ` +
    `profiles: ${profiles}; headers: ${seen || 'none'}; removed: ${removed || 'none'}; ` +
    `findings: ${findings || 'none'}; ${who}${assertion}`
  );
}
