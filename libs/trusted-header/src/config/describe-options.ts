import type { ResolvedProxyProfile, ResolvedTrustedHeaderOptions } from './trusted-header-options.js';

/** One profile's checks and identity source, for the startup log. Never a secret: only how many there are. */
export function describeProfile(profile: ResolvedProxyProfile): string {
  const checks: string[] = [];
  checks.push(profile.trust === null ? 'any peer' : `peers ${profile.trust.describe().join(', ')}`);
  if (profile.sharedSecret !== null) {
    checks.push(`shared secret in ${profile.sharedSecret.header} (${profile.sharedSecret.secrets.length} accepted)`);
  }
  if (profile.clientCertificate !== null) {
    const names = profile.clientCertificate.allowedNames;
    checks.push(
      `client certificate from ${profile.clientCertificate.caFile}${names.length > 0 ? ` named ${names.join(', ')}` : ''}`,
    );
  }
  const { assertion, identity } = profile;
  let source: string;
  if (assertion !== null) {
    const keys =
      assertion.keys.kind === 'pem'
        ? assertion.keys.file
        : assertion.keys.kind === 'jwks'
          ? assertion.keys.url.href
          : `${assertion.keys.baseUrl.href}<kid>`;
    checks.push(
      `signed assertion in ${assertion.header} (${assertion.algorithms.join('/')}, issuer ${assertion.issuer}, audience ${assertion.audience.join(' | ')}, keys ${keys}${assertion.albArn === null ? '' : `, signer ${assertion.albArn}`})`,
    );
    const claims = assertion.claims;
    source = `claims ${claims.username}, ${claims.email ?? '-'}, ${claims.name ?? '-'}, ${claims.groups ?? '-'}; subject: sub`;
  } else {
    const { headers } = identity;
    source =
      `headers ${headers.user}, ${headers.email}, ${headers.name}, ${headers.groups} ` +
      `(separator ${JSON.stringify(identity.groupsSeparator)})` +
      (identity.subject === null ? '' : `; subject: ${identity.subject.header}`);
  }
  return `proxy ${profile.name}${profile.preset === null ? '' : ` (preset ${profile.preset})`}: ${checks.join(' + ')}; identity from ${source}`;
}

/** The startup log: one line per proxy profile, then one for the rest. */
export function describeOptions(resolved: ResolvedTrustedHeaderOptions): string[] {
  return [
    ...resolved.profiles.map(describeProfile),
    `create unknown users: ${resolved.createUnknownUser}; ` +
      `sessions: ${resolved.session ? `persistent (cookie ${resolved.session.cookieName}${resolved.session.cookieSecure ? '' : ', not Secure'})` : 'off'}; ` +
      `cross-site check: ${resolved.csrf.enabled ? 'on' : 'off'}; ` +
      `logout: ${resolved.logout ? `POST ${resolved.logout.path} -> ${resolved.logout.redirectTo ?? '204'}` : 'none'}`,
  ];
}
