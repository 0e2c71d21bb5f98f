/** Presets whose proxies sign what they assert (a JWT in a request header). */
export type AssertionPresetName = 'cloudflare-access' | 'google-iap' | 'aws-alb' | 'pomerium' | 'oauth2-proxy-jwt';

/** Where the verification keys come from. Exactly one source per profile. */
export type AssertionKeySource =
  /** A JSON Web Key Set fetched over HTTPS (plain HTTP only to a loopback host), refetched on an unknown `kid`. */
  | { readonly kind: 'jwks'; readonly url: URL }
  /** One PEM public key (SPKI or an X.509 certificate) read from a file at startup. */
  | { readonly kind: 'pem'; readonly file: string; readonly pem: string }
  /**
   * AWS ALB: one PEM key per `kid`, fetched from `<baseUrl><kid>` (the region's public-keys endpoint,
   * `https://public-keys.auth.elb.<region>.amazonaws.com/`).
   */
  | { readonly kind: 'alb'; readonly baseUrl: URL };

/** Claim names mapped to the identity. `groups` is an array claim, or a string split by the separator. */
export interface AssertionClaims {
  readonly username: string;
  readonly email: string | null;
  readonly name: string | null;
  readonly groups: string | null;
}

/** A signed assertion, validated at startup: what the verifier consumes. */
export interface ResolvedAssertionOptions {
  /** Request header carrying the token (display form, e.g. `Cf-Access-Jwt-Assertion`). */
  readonly header: string;
  /** `Authorization: Bearer <token>` (oauth2-proxy-jwt): the token follows the `Bearer ` scheme. */
  readonly bearer: boolean;
  readonly keys: AssertionKeySource;
  readonly issuer: string;
  /** Accepted audiences (any one must match). For aws-alb, compared with the token header's `client` field. */
  readonly audience: readonly string[];
  /** Pinned: never `none`, never an HMAC algorithm. */
  readonly algorithms: readonly string[];
  readonly clockToleranceSeconds: number;
  readonly claims: AssertionClaims;
  /** aws-alb: the token header's `signer` must equal this load balancer ARN. Null for other kinds. */
  readonly albArn: string | null;
  readonly preset: AssertionPresetName | null;
  /** Key fetching: timeout of one fetch, least time between two fetches, age after which keys are refreshed. */
  readonly fetchTimeoutMs: number;
  readonly fetchCooldownMs: number;
  readonly keysMaxAgeMs: number;
  /** Bound on verified tokens kept until their `exp`. */
  readonly cacheMaxEntries: number;
}
