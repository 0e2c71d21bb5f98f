import type { IdentityRules } from '../identity/identity.js';
import type { ResolvedAssertionOptions } from '../trust/assertion/assertion-options.js';
import type { ResolvedClientCertificateOptions } from '../trust/client-certificate.js';
import type { ResolvedSharedSecret } from '../trust/shared-secret.js';
import type { TrustList } from '../trust/trust-list.js';
import type { PresetName } from './presets.js';

/**
 * One proxy the application trusts: which peers it covers, how a request proves it came through that proxy,
 * and where the identity comes from. A request is trusted when it matches a profile and passes every check the
 * profile names.
 */
export interface ProxyProfileOptions {
  /**
   * Name used in logs and as the namespace of stable subjects from AUTH_PROXY_USER_ID_HEADER (keep it stable
   * once accounts are keyed on subjects). Default: the preset's name, else `default`.
   */
  name?: string;
  /**
   * Peers allowed to speak for this proxy (IPs and CIDRs). Default `127.0.0.1/32`, `::1/128` when the profile
   * has no other check; with a shared secret, a client certificate or a signed assertion, default any peer.
   */
  trustedIps?: readonly string[];
  /** Header names, separator and assertion settings of a known proxy; every other field overrides them. */
  preset?: PresetName;
  /** Username header. Default `Remote-User`. The CGI spelling `HTTP_REMOTE_USER` is accepted. */
  userHeader?: string;
  /** Default `Remote-Email`. */
  emailHeader?: string;
  /** Display-name header. Default `Remote-Name`. */
  nameHeader?: string;
  /** Default `Remote-Groups`. */
  groupsHeader?: string;
  /** Default `,` (`|` for the authentik preset). */
  groupsSeparator?: string;
  /**
   * Header with the identity provider's stable id for the user (authentik `X-authentik-uid`, Kubernetes
   * `X-Remote-Uid`): accounts are then keyed on it and follow renames. Default none.
   */
  userIdHeader?: string;
  /** Secrets the proxy sends in `sharedSecretHeader` (at least 32 characters; two during a rotation). */
  sharedSecrets?: readonly string[];
  /** Default `X-Proxy-Secret`. */
  sharedSecretHeader?: string;
  /** The proxy connects over TLS with a certificate issued by this CA (and, if listed, with one of these names). */
  clientCertificate?: ClientCertificateProfileOptions;
  /** The proxy signs who the user is (a JWT in a header); identity then comes from the verified claims only. */
  assertion?: AssertionProfileOptions;
}

export interface ClientCertificateProfileOptions {
  /** PEM file with the CA certificate(s) that issue the proxy's client certificate. */
  caFile: string;
  /** Subject CN or DNS SAN the certificate must carry; empty: any certificate from that CA. */
  allowedNames?: readonly string[];
}

export interface AssertionProfileOptions {
  /** Header carrying the token. Default per preset. */
  header?: string;
  /** Key set URL (HTTPS; plain HTTP only to a loopback host). One of jwksUrl and publicKeyFile, unless the preset knows it. */
  jwksUrl?: string;
  /** PEM file with the public key (SPKI or X.509 certificate). */
  publicKeyFile?: string;
  /** Required `iss`. */
  issuer?: string;
  /** Required `aud` (any one of them). */
  audience?: string | readonly string[];
  /** Accepted signature algorithms (asymmetric only). Default per preset, else RS256 and ES256. */
  algorithms?: readonly string[];
  /** Default 30. */
  clockToleranceSeconds?: number;
  /** Claim holding the username. Default per preset, else `sub`. */
  usernameClaim?: string;
  emailClaim?: string;
  nameClaim?: string;
  /** An array claim, or a string split by the groups separator. */
  groupsClaim?: string;
  /** aws-alb: the load balancer's ARN, which must sign the token (its `signer` field). */
  albArn?: string;
}

/**
 * Options as a user gives them, in code (`forRoot`/`forRootAsync`) or from the environment
 * (`trustedHeaderOptionsFromEnv`). Every field is optional; `resolveTrustedHeaderOptions` fills defaults,
 * applies the preset and validates. The proxy fields describe one profile; `proxies` lists several instead.
 */
export interface TrustedHeaderOptions extends ProxyProfileOptions {
  /** Several trusted proxies, each with its own checks and header names; tried in order. */
  proxies?: readonly ProxyProfileOptions[];
  /** Create a user on first sight. Default false: unknown users get 401 and no row. */
  createUnknownUser?: boolean;
  /** Proxy groups whose members get the local admin group (bootstrap). Default none. */
  adminGroups?: readonly string[];
  /** Local group that AUTH_PROXY_ADMIN_GROUPS members receive. Default `admin`. */
  adminLocalGroup?: string;
  /** Lower-case usernames so `Admin` and `admin` are one account. Default true. */
  caseFoldUsername?: boolean;
  /** How long a synced identity is served from memory before the database is read again. Default 60. */
  syncTtlSeconds?: number;
  /** Bound on cached identities. Default 10000. */
  cacheMaxEntries?: number;
  /** Bound on the database work of one request; past it the request gets 503. Default 2000. */
  databaseTimeoutMs?: number;
  /**
   * A direct PostgreSQL URL (`postgres://` or `postgresql://`) for the connection that listens for other
   * instances' changes, for when the DataSource goes through PgBouncer in transaction mode or to a replica,
   * which do not deliver notifications. Default: the DataSource's own connection options.
   */
  notifyUrl?: string;
  /** Most groups one identity may assert. Default 100. */
  maxGroups?: number;
  /** At most one warning per untrusted peer per interval. Default 60. */
  untrustedWarningIntervalSeconds?: number;
  /**
   * `off` (default): identity headers on every request. `persistent`: a trusted identity also starts a
   * server-side session (cookie), and later requests without identity headers are that user until logout,
   * revocation or expiry.
   */
  session?: SessionMode;
  /** A session unused this long ends. Default 28800 (8 hours). */
  sessionIdleSeconds?: number;
  /** A session ends this long after it started, used or not. Default 604800 (7 days). */
  sessionMaxSeconds?: number;
  /** Session cookie name. Default `__Host-trusted_header_session` (`trusted_header_session` without Secure). */
  sessionCookie?: string;
  /** Mark the session cookie Secure (HTTPS only). Default true. */
  sessionCookieSecure?: boolean;
  /** Path of the logout endpoint (POST). Default `/auth/logout`. */
  logoutPath?: string;
  /** Where logout sends the browser (303): the proxy's sign-out URL. Default none (204). */
  logoutUrl?: string;
  /** Refuse cross-site unsafe requests authenticated by headers or a session. Default true. */
  csrfCheck?: boolean;
  /** Origins besides the request's own whose unsafe requests are accepted (`https://ui.example.com`). */
  allowedOrigins?: readonly string[];
}

export type SessionMode = 'off' | 'persistent';

/** Persistent sessions, when on. */
export interface ResolvedSessionOptions {
  readonly idleMs: number;
  readonly maxMs: number;
  readonly cookieName: string;
  readonly cookieSecure: boolean;
}

/** The cross-site request check on unsafe methods. */
export interface ResolvedCsrfOptions {
  readonly enabled: boolean;
  /** Serialised origins (`https://ui.example.com`), compared exactly. */
  readonly allowedOrigins: ReadonlySet<string>;
}

/** The logout endpoint, registered when sessions or a logout URL are configured. */
export interface ResolvedLogoutOptions {
  readonly path: string;
  /** Where the browser goes after logout (303); null answers 204. */
  readonly redirectTo: string | null;
}

/** One trusted proxy after defaults, preset and validation. */
export interface ResolvedProxyProfile {
  readonly name: string;
  readonly preset: PresetName | null;
  /** Peers it covers; null: any peer (the profile has a cryptographic check). */
  readonly trust: TrustList | null;
  /** Header names: where identity comes from, or (with an assertion) what is ignored and removed. */
  readonly identity: IdentityRules;
  /** The signing proxy's unsigned companion headers: never read, removed from every request. */
  readonly unsignedHeaders: readonly string[];
  readonly sharedSecret: ResolvedSharedSecret | null;
  readonly clientCertificate: ResolvedClientCertificateOptions | null;
  readonly assertion: ResolvedAssertionOptions | null;
}

/** Options after defaults, preset and validation: what the rest of the library consumes. */
export interface ResolvedTrustedHeaderOptions {
  /** At least one; tried in order. */
  readonly profiles: readonly ResolvedProxyProfile[];
  readonly createUnknownUser: boolean;
  readonly adminGroups: readonly string[];
  readonly adminLocalGroup: string;
  readonly syncTtlMs: number;
  readonly cacheMaxEntries: number;
  readonly databaseTimeoutMs: number;
  /** null: the listener connects with the DataSource's options. */
  readonly notifyUrl: string | null;
  readonly untrustedWarningIntervalMs: number;
  /** null when AUTH_PROXY_SESSION is off. */
  readonly session: ResolvedSessionOptions | null;
  readonly csrf: ResolvedCsrfOptions;
  /** null when neither sessions nor a logout URL are configured. */
  readonly logout: ResolvedLogoutOptions | null;
}
