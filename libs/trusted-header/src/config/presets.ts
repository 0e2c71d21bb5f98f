import type { AssertionPresetName } from '../trust/assertion/assertion-options.js';
import type { TrustedHeaderOptions } from './trusted-header-options.js';

export type HeaderPresetName = 'authelia' | 'authentik' | 'oauth2-proxy';
export type PresetName = HeaderPresetName | AssertionPresetName;

type HeaderFields = Required<
  Pick<TrustedHeaderOptions, 'userHeader' | 'emailHeader' | 'nameHeader' | 'groupsHeader' | 'groupsSeparator'>
>;

/** What a signing proxy's preset fixes: where the token is, how it is signed, where its keys are. */
export interface AssertionPreset {
  readonly header: string;
  readonly bearer: boolean;
  readonly algorithms: readonly string[];
  /** The key set's URL when it follows from the issuer (or is fixed); null: AUTH_PROXY_JWT_JWKS_URL is needed. */
  readonly jwksUrlFor: ((issuer: string) => string | null) | null;
  readonly issuer: string | null;
  readonly usernameClaim: string;
  readonly emailClaim: string | null;
  readonly nameClaim: string | null;
  readonly groupsClaim: string | null;
}

export interface Preset {
  /** Identity header names. With an assertion they are never read, and removed from every request. */
  readonly headers: HeaderFields;
  readonly assertion: AssertionPreset | null;
  /**
   * The signing proxy's unsigned companions of its token: forgeable wherever the proxy is bypassed (Google warns
   * so for IAP's x-goog-authenticated-user-*), so never read, and removed from every request.
   */
  readonly unsignedHeaders: readonly string[];
}

const REMOTE_HEADERS: HeaderFields = {
  userHeader: 'Remote-User',
  emailHeader: 'Remote-Email',
  nameHeader: 'Remote-Name',
  groupsHeader: 'Remote-Groups',
  groupsSeparator: ',',
};

const OAUTH2_PROXY_HEADERS: HeaderFields = {
  userHeader: 'X-Forwarded-User',
  emailHeader: 'X-Forwarded-Email',
  nameHeader: 'X-Forwarded-Preferred-Username',
  groupsHeader: 'X-Forwarded-Groups',
  groupsSeparator: ',',
};

/** Header names each proxy sends to the upstream application, and how signing proxies sign, from their documentation. */
export const PRESETS: Readonly<Record<PresetName, Preset>> = {
  // Authelia's forward-auth endpoints answer with Remote-User, Remote-Groups, Remote-Email, Remote-Name.
  authelia: { headers: REMOTE_HEADERS, assertion: null, unsignedHeaders: [] },
  // authentik's proxy outpost sets X-authentik-* and joins groups with '|'.
  authentik: {
    headers: {
      userHeader: 'X-authentik-username',
      emailHeader: 'X-authentik-email',
      nameHeader: 'X-authentik-name',
      groupsHeader: 'X-authentik-groups',
      groupsSeparator: '|',
    },
    assertion: null,
    unsignedHeaders: [],
  },
  // oauth2-proxy with --pass-user-headers (reverse-proxy mode) sets X-Forwarded-*.
  'oauth2-proxy': { headers: OAUTH2_PROXY_HEADERS, assertion: null, unsignedHeaders: [] },
  // Cloudflare Access: an RS256 application token; issuer https://<team>.cloudflareaccess.com, keys under it.
  'cloudflare-access': {
    headers: REMOTE_HEADERS,
    assertion: {
      header: 'Cf-Access-Jwt-Assertion',
      bearer: false,
      algorithms: ['RS256'],
      jwksUrlFor: (issuer) => `${issuer.replace(/\/+$/, '')}/cdn-cgi/access/certs`,
      issuer: null,
      usernameClaim: 'email',
      emailClaim: 'email',
      nameClaim: null,
      groupsClaim: 'groups',
    },
    unsignedHeaders: ['Cf-Access-Authenticated-User-Email'],
  },
  // Google IAP: ES256, fixed issuer and key set; x-goog-authenticated-user-* are its unsigned companions.
  'google-iap': {
    headers: REMOTE_HEADERS,
    assertion: {
      header: 'X-Goog-Iap-Jwt-Assertion',
      bearer: false,
      algorithms: ['ES256'],
      jwksUrlFor: () => 'https://www.gstatic.com/iap/verify/public_key-jwk',
      issuer: 'https://cloud.google.com/iap',
      usernameClaim: 'email',
      emailClaim: 'email',
      nameClaim: null,
      groupsClaim: null,
    },
    unsignedHeaders: ['X-Goog-Authenticated-User-Email', 'X-Goog-Authenticated-User-Id'],
  },
  // AWS ALB: ES256, one PEM key per kid from the region's endpoint; x-amzn-oidc-identity is unsigned.
  'aws-alb': {
    headers: REMOTE_HEADERS,
    assertion: {
      header: 'X-Amzn-Oidc-Data',
      bearer: false,
      algorithms: ['ES256'],
      jwksUrlFor: null,
      issuer: null,
      usernameClaim: 'email',
      emailClaim: 'email',
      nameClaim: 'name',
      groupsClaim: null,
    },
    unsignedHeaders: ['X-Amzn-Oidc-Identity', 'X-Amzn-Oidc-Accesstoken'],
  },
  // Pomerium: ES256; issuer and audience are the route's host, keys at /.well-known/pomerium/jwks.json there.
  pomerium: {
    headers: REMOTE_HEADERS,
    assertion: {
      header: 'X-Pomerium-Jwt-Assertion',
      bearer: false,
      algorithms: ['ES256'],
      jwksUrlFor: (issuer) =>
        /^[A-Za-z0-9.-]+(:[0-9]+)?$/.test(issuer) ? `https://${issuer}/.well-known/pomerium/jwks.json` : null,
      issuer: null,
      usernameClaim: 'email',
      emailClaim: 'email',
      nameClaim: 'name',
      groupsClaim: 'groups',
    },
    unsignedHeaders: [
      'X-Pomerium-Claim-Email',
      'X-Pomerium-Claim-User',
      'X-Pomerium-Claim-Groups',
      'X-Pomerium-Claim-Name',
    ],
  },
  // oauth2-proxy --pass-authorization-header: the IdP's ID token as a bearer token, verified with the IdP's keys.
  'oauth2-proxy-jwt': {
    headers: REMOTE_HEADERS,
    assertion: {
      header: 'Authorization',
      bearer: true,
      algorithms: ['RS256', 'ES256'],
      jwksUrlFor: null,
      issuer: null,
      usernameClaim: 'email',
      emailClaim: 'email',
      nameClaim: 'name',
      groupsClaim: 'groups',
    },
    unsignedHeaders: [
      'X-Forwarded-User',
      'X-Forwarded-Email',
      'X-Forwarded-Preferred-Username',
      'X-Forwarded-Groups',
      'X-Auth-Request-User',
      'X-Auth-Request-Email',
    ],
  },
};

export const DEFAULT_PRESET: Preset = PRESETS.authelia;

export function isPresetName(value: string): value is PresetName {
  return Object.prototype.hasOwnProperty.call(PRESETS, value);
}
