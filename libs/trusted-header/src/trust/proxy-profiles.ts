import type { IncomingMessage } from 'node:http';
import type { ResolvedProxyProfile } from '../config/trusted-header-options.js';
import { compileClientCertificateCheck, type ClientCertificateCheck } from './client-certificate.js';
import { compileSharedSecretCheck } from './shared-secret.js';

/** The parts of a request the trust decision reads: the socket and the raw header lines, nothing parsed. */
export type TrustEvidence = Pick<IncomingMessage, 'socket' | 'rawHeaders'>;

/** Why a profile did not accept a request: the check that failed, as named in logs. */
export type ProfileCheckFailure =
  'peer_not_trusted' | 'secret_mismatch' | 'client_certificate_rejected' | 'assertion_missing';

export interface ProfileRefusal {
  readonly profile: string;
  readonly check: ProfileCheckFailure;
  readonly detail: string;
}

/** Decides which profile, if any, a request came through. */
export interface ProfileSelector {
  /**
   * Index into the profiles of the first one whose every check passes; -1 for none. `peer` is the request's
   * socket address as the caller read it (request/peer-address.ts): every profile's address check decides on
   * it, so one request is never judged on two readings.
   */
  select(request: TrustEvidence, peer: string | undefined): number;
  /** For the log line of a refused request: what each profile found wrong. Not on the request path. */
  explain(request: TrustEvidence, peer: string | undefined): ProfileRefusal[];
}

type Check = (request: TrustEvidence, peer: string | undefined) => ProfileRefusal | null;

/**
 * Compiles each profile's checks once, cheapest first (peer address, shared secret, client certificate,
 * presence of the assertion header); the assertion's signature is verified later, by the identity step, since
 * it may need the key set. Profiles are tried in order and the first that passes every check is the one: later
 * profiles are not consulted, so an order the operator wrote is an order the library keeps.
 */
export function compileProfileSelector(profiles: readonly ResolvedProxyProfile[]): ProfileSelector {
  const compiled = profiles.map(compileChecks);
  // The common case, one profile that trusts by address only, is one memoised lookup per request.
  const only = profiles.length === 1 ? profiles[0]! : null;
  if (only !== null && only.trust !== null && compiled[0]!.length === 1) {
    const trust = only.trust;
    return {
      select: (_request, peer) => (trust.isTrustedPeer(peer) ? 0 : -1),
      explain: (request, peer) => refusals(compiled, request, peer),
    };
  }
  return {
    select(request, peer) {
      for (let index = 0; index < compiled.length; index++) {
        if (compiled[index]!.every((check) => check(request, peer) === null)) return index;
      }
      return -1;
    },
    explain: (request, peer) => refusals(compiled, request, peer),
  };
}

function refusals(compiled: readonly Check[][], request: TrustEvidence, peer: string | undefined): ProfileRefusal[] {
  const found: ProfileRefusal[] = [];
  for (const checks of compiled) {
    for (const check of checks) {
      const refusal = check(request, peer);
      if (refusal !== null) {
        found.push(refusal);
        break;
      }
    }
  }
  return found;
}

function compileChecks(profile: ResolvedProxyProfile): Check[] {
  const checks: Check[] = [];
  const refuse = (check: ProfileCheckFailure, detail: string): ProfileRefusal => ({
    profile: profile.name,
    check,
    detail,
  });
  const { trust, sharedSecret, clientCertificate, assertion } = profile;
  if (trust !== null) {
    checks.push((_request, peer) => {
      return trust.isTrustedPeer(peer)
        ? null
        : refuse('peer_not_trusted', `peer ${peer ?? 'unknown'} is not in ${trust.describe().join(', ')}`);
    });
  }
  if (sharedSecret !== null) {
    const matches = compileSharedSecretCheck(sharedSecret);
    const name = sharedSecret.header.toLowerCase();
    checks.push((request) => {
      const values = headerValues(request.rawHeaders, name);
      if (values.length === 0) return refuse('secret_mismatch', `no ${sharedSecret.header} header`);
      // Two secret lines are two claims; which one a proxy added cannot be told, so neither counts.
      if (values.length > 1) return refuse('secret_mismatch', `${sharedSecret.header} sent ${values.length} times`);
      return matches(values[0]) ? null : refuse('secret_mismatch', `${sharedSecret.header} does not match`);
    });
  }
  if (clientCertificate !== null) {
    const check: ClientCertificateCheck = compileClientCertificateCheck(clientCertificate);
    checks.push((request) => {
      const problem = check(request.socket);
      return problem === null ? null : refuse('client_certificate_rejected', problem);
    });
  }
  if (assertion !== null) {
    const name = assertion.header.toLowerCase();
    checks.push((request) =>
      headerValues(request.rawHeaders, name).length > 0
        ? null
        : refuse('assertion_missing', `no ${assertion.header} header`),
    );
  }
  return checks;
}

/** Every value of one header, from the raw lines: Node's parsed views join or drop repeated lines. */
export function headerValues(rawHeaders: readonly string[], lowerName: string): string[] {
  const values: string[] = [];
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!;
    if (name.length === lowerName.length && name.toLowerCase() === lowerName) values.push(rawHeaders[i + 1]!);
  }
  return values;
}
