import { X509Certificate } from 'node:crypto';
import { TLSSocket, type DetailedPeerCertificate } from 'node:tls';

/**
 * Trust by client certificate, as Kubernetes' authenticating proxy does it: the proxy proves itself with a
 * certificate issued by a CA kept for proxies alone, optionally under one of a few names. A peer address can
 * be shared (a Docker network, a node that runs other pods); a private key cannot be used without holding it.
 */
export interface ResolvedClientCertificateOptions {
  /** Where the CA certificates were read from, for startup logs and error messages. */
  readonly caFile: string;
  /** The CA certificates (PEM), as the server's TLS `ca` option and as this check's own trust anchors. */
  readonly caPem: string;
  /** Subject CNs or DNS names a proxy certificate must carry one of; empty = any certificate from that CA. */
  readonly allowedNames: readonly string[];
}

/** `null` when the connection's client certificate passes; otherwise why not, for the log line. */
export type ClientCertificateCheck = (socket: unknown) => null | string;

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g;
const MAX_NAME_LENGTH = 253;
/**
 * Names are compared exactly, so they are kept to characters that print one way. A name with commas, quotes,
 * plus signs or backslashes is one a certificate printer escapes or splits, and a wildcard would suggest a
 * pattern match that never happens.
 */
const NAME = /^[A-Za-z0-9](?:[A-Za-z0-9._:@ -]*[A-Za-z0-9._:@-])?$/;
/** A chain longer than this is not one a proxy presents; the walk stops rather than follow it. */
const MAX_CHAIN_LENGTH = 8;

/**
 * Validates the CA file's contents and the allowed names once, at startup; throws an Error naming the file or
 * the name. Every PEM block must be a CA certificate: a leaf in the CA file would make every certificate it
 * signs (none, or anything, depending on the verifier) a trust anchor, and a private key there means the key
 * that mints proxy identities lives on the application's host.
 */
export function parseClientCertificateOptions(
  caFile: string,
  caPem: string,
  allowedNames: readonly string[],
): ResolvedClientCertificateOptions {
  readAuthorities(caFile, caPem);
  const names = new Set<string>();
  for (const name of allowedNames) names.add(checkedName(name));
  return { caFile, caPem, allowedNames: [...names] };
}

function readAuthorities(caFile: string, caPem: string): X509Certificate[] {
  if (/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(caPem)) {
    throw new Error(`client CA file ${caFile} holds a private key; it must hold only the CA certificates`);
  }
  const blocks = caPem.match(PEM_CERTIFICATE) ?? [];
  if (blocks.length === 0) throw new Error(`client CA file ${caFile} holds no PEM certificate`);
  return blocks.map((block, index) => {
    let certificate: X509Certificate;
    try {
      certificate = new X509Certificate(block);
    } catch (cause) {
      throw new Error(`client CA file ${caFile}: certificate ${index + 1} cannot be read`, { cause });
    }
    if (!certificate.ca) {
      throw new Error(
        `client CA file ${caFile}: certificate ${index + 1} (${oneLine(certificate.subject)}) is not a CA certificate`,
      );
    }
    return certificate;
  });
}

function checkedName(name: string): string {
  if (name.trim() === '') throw new Error('an allowed client certificate name is empty');
  if (name.includes('*')) {
    throw new Error(`allowed client certificate name ${JSON.stringify(name)} has a wildcard; names match exactly`);
  }
  if (name.length > MAX_NAME_LENGTH || !NAME.test(name)) {
    throw new Error(
      `allowed client certificate name ${JSON.stringify(name)} is not a plain CN or DNS name ` +
        '(letters, digits and . _ : @ - or inner spaces)',
    );
  }
  return name;
}

/**
 * TLS options for the server that receives the proxy's connections; with several profiles, pass each one's
 * options and the server trusts all their CAs. That is safe because each profile's check accepts only its own
 * CAs: a certificate from another profile's CA, which the TLS layer accepts, is still refused by this profile.
 *
 * `rejectUnauthorized: false` lets a handshake without a certificate, or with one the server cannot verify,
 * complete, so the application answers 401 with a reason instead of a bare TLS alert the operator has to decode
 * from the proxy's log. That opens nothing: such a socket reports `authorized === false` or no certificate, and
 * the per-request check refuses every request on it as untrusted.
 */
export function clientCertificateServerOptions(
  options: ResolvedClientCertificateOptions | readonly ResolvedClientCertificateOptions[],
): { requestCert: true; rejectUnauthorized: false; ca: string } {
  const all: readonly ResolvedClientCertificateOptions[] = Array.isArray(options) ? options : [options];
  if (all.length === 0) throw new Error('clientCertificateServerOptions needs the options of at least one client CA');
  const pems = new Set(all.map((one) => one.caPem.trim()));
  return { requestCert: true, rejectUnauthorized: false, ca: [...pems].join('\n') + '\n' };
}

/** What was concluded about one connection: a refusal, or the validity window of the certificate that passed. */
type Verdict = { readonly refusal: string } | { readonly notBefore: number; readonly notAfter: number };

/**
 * Compiles the check once. The verdict is kept per TLS socket: a keep-alive connection carries many requests
 * but presents one certificate, so the chain and names are examined once per connection. The validity window
 * is compared on every request, so a long-lived connection stops being trusted when its certificate expires.
 * A renegotiation cannot turn a refused connection into a trusted one, since the refusal is what is kept.
 */
export function compileClientCertificateCheck(options: ResolvedClientCertificateOptions): ClientCertificateCheck {
  const authorities = readAuthorities(options.caFile, options.caPem);
  const exactNames = new Set(options.allowedNames);
  const dnsNames = new Set(options.allowedNames.map(asciiLowerCase));
  const verdicts = new WeakMap<TLSSocket, Verdict>();
  return (socket) => {
    if (!(socket instanceof TLSSocket)) return 'not a TLS connection';
    let verdict = verdicts.get(socket);
    if (verdict === undefined) {
      verdict = examine(socket, authorities, exactNames, dnsNames);
      verdicts.set(socket, verdict);
    }
    if ('refusal' in verdict) return verdict.refusal;
    const now = Date.now();
    if (now < verdict.notBefore) return 'client certificate is not valid yet';
    if (now > verdict.notAfter) return 'client certificate has expired';
    return null;
  };
}

/**
 * Both verifications are required. `socket.authorized` says OpenSSL built and checked a path (signatures,
 * validity of every link, CA constraints, the client-authentication purpose) to *some* certificate in the
 * server's `ca` option; that option may list other CAs (another profile's, a service mesh's), and a
 * certificate from one of those must not make its holder a proxy. The walk here proves the path ends at one
 * of this profile's CAs, which OpenSSL's answer alone does not say.
 */
function examine(
  socket: TLSSocket,
  authorities: readonly X509Certificate[],
  exactNames: ReadonlySet<string>,
  dnsNames: ReadonlySet<string>,
): Verdict {
  const [leaf, ...issuers] = peerChain(socket);
  if (leaf === undefined) return { refusal: 'no client certificate' };
  if (!socket.authorized) {
    return { refusal: `client certificate not verified: ${String(socket.authorizationError ?? 'unknown error')}` };
  }
  if (!reachesAuthority(leaf, issuers, authorities)) {
    return { refusal: `client certificate not issued by the client CA (issuer ${oneLine(leaf.issuer)})` };
  }
  if (exactNames.size > 0 && !hasAllowedName(leaf, exactNames, dnsNames)) {
    return { refusal: `client certificate name not allowed (${describeNames(leaf)})` };
  }
  return { notBefore: Date.parse(leaf.validFrom), notAfter: Date.parse(leaf.validTo) };
}

/**
 * The peer's certificate and those above it, as the TLS layer linked them (sent by the peer or found in the
 * server's `ca`); empty without a certificate. Read through getPeerCertificate(true) alone: on a server socket,
 * calling getPeerX509Certificate first leaves getPeerCertificate without the issuers, and an intermediate CA
 * could then never be followed.
 */
function peerChain(socket: TLSSocket): X509Certificate[] {
  const chain: X509Certificate[] = [];
  let link: DetailedPeerCertificate | undefined = socket.getPeerCertificate(true);
  while (link?.raw !== undefined && chain.length < MAX_CHAIN_LENGTH) {
    chain.push(new X509Certificate(link.raw));
    // Node links a self-issued root to itself: the end of the chain.
    link = link.issuerCertificate === link ? undefined : link.issuerCertificate;
  }
  return chain;
}

/**
 * Whether the leaf, through CA certificates of the presented chain each signed by the next, was signed by one of
 * the configured CAs. Names and key identifiers (checkIssued) and the signature (verify) must both hold: a CA
 * of another operator can copy a configured CA's name but not its key.
 */
function reachesAuthority(
  leaf: X509Certificate,
  issuers: readonly X509Certificate[],
  authorities: readonly X509Certificate[],
): boolean {
  const signs = (issuer: X509Certificate, subject: X509Certificate) =>
    subject.checkIssued(issuer) && subject.verify(issuer.publicKey);
  let current = leaf;
  for (const issuer of [...issuers, undefined]) {
    if (authorities.some((authority) => signs(authority, current))) return true;
    if (issuer === undefined || !issuer.ca || !signs(issuer, current)) return false;
    current = issuer;
  }
  return false;
}

/**
 * The subject CN matches exactly, case included (Kubernetes' requestheader-allowed-names semantics); a DNS
 * name in the subjectAltName matches ignoring ASCII case, as DNS does. Neither is a pattern: a certificate
 * whose CN is `*.internal` matches only the allowed name `*.internal`, which the options refuse. A subject with
 * several CNs has no single name and is matched by its DNS names alone.
 */
function hasAllowedName(
  leaf: X509Certificate,
  exactNames: ReadonlySet<string>,
  dnsNames: ReadonlySet<string>,
): boolean {
  const cn = commonNameOf(leaf);
  if (cn !== undefined && exactNames.has(cn)) return true;
  return dnsNamesOf(leaf).some((name) => dnsNames.has(asciiLowerCase(name)));
}

function commonNameOf(certificate: X509Certificate): string | undefined {
  // The legacy object holds each attribute's value decoded and unescaped, and an array when it is repeated.
  const cn = (certificate.toLegacyObject().subject as Record<string, unknown> | undefined)?.CN;
  return typeof cn === 'string' ? cn : undefined;
}

/**
 * DNS entries of the subjectAltName. Node prints a value holding a comma, quote or non-printable character as a
 * quoted string with the comma escaped, so splitting on `, ` cannot cut a forged `DNS:` entry out of another
 * value; quoted values are skipped, as no allowed name needs quoting.
 */
function dnsNamesOf(certificate: X509Certificate): string[] {
  const text = certificate.subjectAltName;
  if (text === undefined) return [];
  return text
    .split(', ')
    .filter((entry) => entry.startsWith('DNS:') && !entry.startsWith('DNS:"'))
    .map((entry) => entry.slice('DNS:'.length));
}

function describeNames(leaf: X509Certificate): string {
  const cn = (leaf.toLegacyObject().subject as Record<string, unknown> | undefined)?.CN;
  const dns = dnsNamesOf(leaf);
  return `CN ${JSON.stringify(cn ?? null)}, DNS ${JSON.stringify(dns)}`;
}

function asciiLowerCase(text: string): string {
  return text.replace(/[A-Z]/g, (letter) => letter.toLowerCase());
}

/** A subject or issuer as one log-safe line. */
function oneLine(distinguishedName: string): string {
  return JSON.stringify(distinguishedName.split('\n').join(', '));
}

/**
 * The subject of the connection's client certificate as one line, for a report; null without one. Read
 * through getPeerCertificate(true), as the check reads it (see peerChain).
 */
export function clientCertificateSubject(socket: unknown): string | null {
  if (!(socket instanceof TLSSocket)) return null;
  const raw = socket.getPeerCertificate(true)?.raw;
  if (raw === undefined) return null;
  return new X509Certificate(raw).subject.split('\n').join(', ');
}
