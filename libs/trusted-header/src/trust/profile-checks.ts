import type { ResolvedProxyProfile } from '../config/trusted-header-options.js';
import { clientCertificateSubject, type ClientCertificateCheck } from './client-certificate.js';
import { headerValues, type TrustEvidence } from './proxy-profiles.js';

export type ProfileCheckName = 'peer_address' | 'shared_secret' | 'client_certificate' | 'signed_assertion';

export interface ProfileCheckReport {
  readonly check: ProfileCheckName;
  /** null: cannot be told afterwards (a single secret line, already removed, beside another failed check). */
  readonly passed: boolean | null;
  readonly detail: string;
}

export interface ProfileReport {
  readonly profile: string;
  /** `not_consulted`: an earlier profile accepted the request, so this one was never tried. */
  readonly outcome: 'accepted' | 'refused' | 'not_consulted';
  readonly checks: ProfileCheckReport[];
}

/** A request as it is after inspection, and what inspection kept of what it removed. */
export interface CheckedRequest extends TrustEvidence {
  /** The peer address the decision was made on (the inspection's). */
  readonly peer: string | undefined;
  /** Index of the profile that accepted the request; -1 for none. */
  readonly accepted: number;
  /** Names of the shared-secret header lines the request carried (removed by inspection; values never kept). */
  readonly secretLines: readonly string[];
}

/**
 * Every check of every profile, for one request, with what each found: the explanation an operator asks for. Not on
 * the request path, where the first failed check is enough. Certificate and assertion header are read again from the
 * request, the peer is the one the decision was made on; the shared secret was removed from it, so only how many
 * lines it had is known: when a profile with one line and every other check passing was tried and did not accept,
 * its secret must be the one that did not match.
 */
export function reportProfiles(
  profiles: readonly ResolvedProxyProfile[],
  request: CheckedRequest,
  certificateCheckOf: (index: number) => ClientCertificateCheck | null,
): ProfileReport[] {
  return profiles.map((profile, index) => {
    const accepted = index === request.accepted;
    const consulted = request.accepted < 0 || index <= request.accepted;
    const checks: ProfileCheckReport[] = [];
    const { trust, sharedSecret, assertion } = profile;
    if (trust !== null) {
      const { peer } = request;
      const passed = trust.isTrustedPeer(peer);
      checks.push({
        check: 'peer_address',
        passed,
        detail: `peer ${peer ?? 'unknown'} is ${passed ? '' : 'not '}in ${trust.describe().join(', ')}`,
      });
    }
    const secretAt = checks.length;
    if (sharedSecret !== null) {
      const lower = sharedSecret.header.toLowerCase();
      const lines = request.secretLines.filter((name) => name.toLowerCase() === lower).length;
      checks.push(
        accepted
          ? { check: 'shared_secret', passed: true, detail: `${sharedSecret.header} matched` }
          : lines === 0
            ? { check: 'shared_secret', passed: false, detail: `no ${sharedSecret.header} header` }
            : lines > 1
              ? { check: 'shared_secret', passed: false, detail: `${sharedSecret.header} sent ${lines} times` }
              : { check: 'shared_secret', passed: null, detail: `${sharedSecret.header} sent once` },
      );
    }
    const certificate = certificateCheckOf(index);
    if (certificate !== null) {
      const problem = certificate(request.socket);
      const subject = clientCertificateSubject(request.socket);
      checks.push({
        check: 'client_certificate',
        passed: problem === null,
        detail: problem ?? `subject ${subject ?? 'unknown'}`,
      });
    }
    if (assertion !== null) {
      const sent = headerValues(request.rawHeaders, assertion.header.toLowerCase()).length > 0;
      checks.push({
        check: 'signed_assertion',
        passed: sent,
        // The signature is verified when the identity is read: the identity section says whether it did.
        detail: sent ? `${assertion.header} present` : `no ${assertion.header} header`,
      });
    }
    const secret = checks[secretAt];
    if (secret?.check === 'shared_secret' && secret.passed === null && consulted && !accepted) {
      const othersPassed = checks.every((check) => check === secret || check.passed === true);
      if (othersPassed)
        checks[secretAt] = { ...secret, passed: false, detail: `${sharedSecret!.header} does not match` };
    }
    return { profile: profile.name, outcome: accepted ? 'accepted' : consulted ? 'refused' : 'not_consulted', checks };
  });
}
