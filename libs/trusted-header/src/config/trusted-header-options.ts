import type { IdentityRules } from '../identity/identity.js';
import type { TrustList } from '../trust/trust-list.js';
import type { PresetName } from './presets.js';

/**
 * Options as a user gives them, in code (`forRoot`/`forRootAsync`) or from the environment
 * (`trustedHeaderOptionsFromEnv`). Every field is optional; `resolveTrustedHeaderOptions` fills defaults,
 * applies the preset and validates.
 */
export interface TrustedHeaderOptions {
  /** Proxies allowed to assert identity (IPs and CIDRs). Default `127.0.0.1/32`, `::1/128`. */
  trustedIps?: readonly string[];
  /** Header names and separator of a known proxy; every other field overrides it. */
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

/** Options after defaults, preset and validation: what the rest of the library consumes. */
export interface ResolvedTrustedHeaderOptions {
  readonly trust: TrustList;
  readonly preset: PresetName | null;
  readonly identity: IdentityRules;
  readonly createUnknownUser: boolean;
  readonly adminGroups: readonly string[];
  readonly adminLocalGroup: string;
  readonly syncTtlMs: number;
  readonly cacheMaxEntries: number;
  readonly databaseTimeoutMs: number;
  readonly untrustedWarningIntervalMs: number;
  /** null when AUTH_PROXY_SESSION is off. */
  readonly session: ResolvedSessionOptions | null;
  readonly csrf: ResolvedCsrfOptions;
  /** null when neither sessions nor a logout URL are configured. */
  readonly logout: ResolvedLogoutOptions | null;
}
