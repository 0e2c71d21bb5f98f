import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TrustedHeaderConfigError } from './config-error.js';
import { trustedHeaderOptionsFromEnv } from './env.js';
import { resolveTrustedHeaderOptions } from './resolve-options.js';
import type { TrustedHeaderOptions } from './trusted-header-options.js';

const SECRET = 'a'.repeat(16) + 'b'.repeat(16);
const OTHER_SECRET = 'c'.repeat(40);
const dir = mkdtempSync(join(tmpdir(), 'trust-profiles-'));
const publicKeyFile = join(dir, 'key.pem');
writeFileSync(
  publicKeyFile,
  generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'pem' }),
);
const ALB_ARN = 'arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/my-alb/50dc6c495c0c9188';

function errorOf(options: TrustedHeaderOptions): TrustedHeaderConfigError {
  try {
    resolveTrustedHeaderOptions(options);
  } catch (error) {
    expect(error).toBeInstanceOf(TrustedHeaderConfigError);
    return error as TrustedHeaderConfigError;
  }
  throw new Error(`expected a TrustedHeaderConfigError for ${JSON.stringify(options)}`);
}

function envErrorOf(env: NodeJS.ProcessEnv): TrustedHeaderConfigError {
  try {
    trustedHeaderOptionsFromEnv(env);
  } catch (error) {
    expect(error).toBeInstanceOf(TrustedHeaderConfigError);
    return error as TrustedHeaderConfigError;
  }
  throw new Error(`expected a TrustedHeaderConfigError for ${JSON.stringify(env)}`);
}

describe('trust profiles: which peers a profile covers', () => {
  it('keeps the loopback default for a profile that trusts by address only', () => {
    const [profile] = resolveTrustedHeaderOptions({}).profiles;
    expect(profile!.trust!.describe()).toEqual(['127.0.0.1/32', '::1/128']);
    expect(profile!.name).toBe('default');
  });

  it('covers any peer when a shared secret, a client certificate or an assertion is the proof', () => {
    expect(resolveTrustedHeaderOptions({ sharedSecrets: [SECRET] }).profiles[0]!.trust).toBeNull();
    const assertion = { header: 'X-Jwt-Assertion', issuer: 'https://idp.example.com', audience: 'app', publicKeyFile };
    expect(resolveTrustedHeaderOptions({ assertion }).profiles[0]!.trust).toBeNull();
  });

  it('narrows a profile with a proof to the listed peers when they are given', () => {
    const [profile] = resolveTrustedHeaderOptions({ sharedSecrets: [SECRET], trustedIps: ['10.0.0.5'] }).profiles;
    expect(profile!.trust!.describe()).toEqual(['10.0.0.5/32']);
  });

  it('refuses a profile that would trust everyone, naming the option', () => {
    expect(errorOf({ trustedIps: ['0.0.0.0/0'] }).setting).toBe('option trustedIps');
    expect(errorOf({ trustedIps: [] }).setting).toBe('option trustedIps');
    expect(envErrorOf({ AUTH_PROXY_TRUSTED_IPS: '*' }).setting).toBe('AUTH_PROXY_TRUSTED_IPS');
  });
});

describe('trust profiles: shared secrets', () => {
  it('reads secrets and the header from the environment, two for a rotation', () => {
    const options = trustedHeaderOptionsFromEnv({
      AUTH_PROXY_SHARED_SECRETS: `${SECRET},${OTHER_SECRET}`,
      AUTH_PROXY_SHARED_SECRET_HEADER: 'X-Edge-Secret',
    });
    const [profile] = resolveTrustedHeaderOptions(options).profiles;
    expect(profile!.sharedSecret).toEqual({ header: 'X-Edge-Secret', secrets: [SECRET, OTHER_SECRET] });
  });

  it('defaults the header to X-Proxy-Secret', () => {
    expect(resolveTrustedHeaderOptions({ sharedSecrets: [SECRET] }).profiles[0]!.sharedSecret!.header).toBe(
      'X-Proxy-Secret',
    );
  });

  it.each([
    ['shorter than 32 characters', ['short-secret-that-is-31-chars-x']],
    ['three at once', [SECRET, OTHER_SECRET, 'd'.repeat(32)]],
    ['with a space', [`${SECRET} x`]],
    ['none', []],
  ])('refuses secrets %s without ever showing them', (_what, secrets) => {
    const error = errorOf({ sharedSecrets: secrets });
    expect(error.setting).toBe('option sharedSecrets');
    for (const secret of secrets) expect(error.message).not.toContain(secret);
  });

  it('refuses a short secret from the environment without showing it', () => {
    const error = envErrorOf({ AUTH_PROXY_SHARED_SECRETS: 'tooshort-but-secret' });
    expect(error.setting).toBe('AUTH_PROXY_SHARED_SECRETS');
    expect(error.message).not.toContain('tooshort-but-secret');
  });

  it('refuses a secret header that clients set or that is an identity header', () => {
    expect(errorOf({ sharedSecrets: [SECRET], sharedSecretHeader: 'Cookie' }).setting).toBe(
      'option sharedSecretHeader',
    );
    expect(errorOf({ sharedSecrets: [SECRET], sharedSecretHeader: 'Remote_User' }).message).toContain(
      'same header as option userHeader',
    );
  });
});

describe('trust profiles: signed assertions', () => {
  const base = { header: 'X-Jwt-Assertion', issuer: 'https://idp.example.com', audience: 'app', publicKeyFile };

  it('pins asymmetric algorithms: never none, never HMAC', () => {
    for (const algorithm of ['none', 'HS256', 'HS512', 'hs256']) {
      expect(errorOf({ assertion: { ...base, algorithms: [algorithm] } }).setting).toBe('option assertion.algorithms');
    }
    expect(
      envErrorOf({
        AUTH_PROXY_JWT_HEADER: 'X-Jwt-Assertion',
        AUTH_PROXY_JWT_ISSUER: 'i',
        AUTH_PROXY_JWT_AUDIENCE: 'a',
        AUTH_PROXY_JWT_PUBLIC_KEY_FILE: publicKeyFile,
        AUTH_PROXY_JWT_ALGORITHMS: 'RS256,HS256',
      }).setting,
    ).toBe('AUTH_PROXY_JWT_ALGORITHMS');
  });

  it('requires the header without a preset', () => {
    expect(errorOf({ assertion: { issuer: 'https://idp.example.com', audience: 'app', publicKeyFile } }).setting).toBe(
      'option assertion.header',
    );
  });

  it('requires an issuer and an audience', () => {
    expect(errorOf({ assertion: { header: 'X-Jwt', audience: 'app', publicKeyFile } }).setting).toBe(
      'option assertion.issuer',
    );
    expect(errorOf({ assertion: { header: 'X-Jwt', issuer: 'https://idp.example.com', publicKeyFile } }).setting).toBe(
      'option assertion.audience',
    );
    expect(
      envErrorOf({ AUTH_PROXY_PRESET: 'cloudflare-access', AUTH_PROXY_JWT_ISSUER: 'https://team.cloudflareaccess.com' })
        .setting,
    ).toBe('AUTH_PROXY_JWT_AUDIENCE');
  });

  it('refuses an issuer longer than the 255 characters an account keeps of it', () => {
    const issuer = (length: number) => `https://idp.example.com/${'x'.repeat(length - 24)}`;
    expect(() => resolveTrustedHeaderOptions({ assertion: { ...base, issuer: issuer(255) } })).not.toThrow();
    const error = errorOf({ assertion: { ...base, issuer: issuer(256) } });
    expect(error.setting).toBe('option assertion.issuer');
    expect(error.message).toMatch(/at most 255 characters/);
  });

  it('fetches keys over https only, or plain http from this machine', () => {
    expect(
      errorOf({ assertion: { ...base, publicKeyFile: undefined, jwksUrl: 'http://keys.example.com/jwks' } }).setting,
    ).toBe('option assertion.jwksUrl');
    expect(
      errorOf({ assertion: { ...base, publicKeyFile: undefined, jwksUrl: 'https://u:p@keys.example.com/' } }).setting,
    ).toBe('option assertion.jwksUrl');
    const [profile] = resolveTrustedHeaderOptions({
      assertion: { ...base, publicKeyFile: undefined, jwksUrl: 'http://127.0.0.1:8080/jwks' },
    }).profiles;
    expect(profile!.assertion!.keys).toMatchObject({ kind: 'jwks' });
  });

  it('takes the preset’s header, algorithm, issuer and key set', () => {
    const [iap] = resolveTrustedHeaderOptions({
      preset: 'google-iap',
      assertion: { audience: '/projects/1/apps/p' },
    }).profiles;
    expect(iap!.assertion).toMatchObject({
      header: 'X-Goog-Iap-Jwt-Assertion',
      algorithms: ['ES256'],
      issuer: 'https://cloud.google.com/iap',
      claims: { username: 'email', email: 'email' },
    });
    expect(iap!.assertion!.keys).toEqual({
      kind: 'jwks',
      url: new URL('https://www.gstatic.com/iap/verify/public_key-jwk'),
    });
    expect(iap!.unsignedHeaders).toContain('X-Goog-Authenticated-User-Email');
    const [cloudflare] = resolveTrustedHeaderOptions({
      preset: 'cloudflare-access',
      assertion: { issuer: 'https://team.cloudflareaccess.com', audience: 'aud-tag' },
    }).profiles;
    expect(cloudflare!.assertion!.keys).toEqual({
      kind: 'jwks',
      url: new URL('https://team.cloudflareaccess.com/cdn-cgi/access/certs'),
    });
  });

  it('needs the ALB ARN for aws-alb and derives the region’s key endpoint from it', () => {
    expect(errorOf({ preset: 'aws-alb', assertion: { issuer: 'https://idp', audience: 'client' } }).setting).toBe(
      'option assertion.albArn',
    );
    const [alb] = resolveTrustedHeaderOptions({
      preset: 'aws-alb',
      assertion: { issuer: 'https://idp', audience: 'client', albArn: ALB_ARN },
    }).profiles;
    expect(alb!.assertion!.keys).toEqual({
      kind: 'alb',
      baseUrl: new URL('https://public-keys.auth.elb.eu-west-1.amazonaws.com/'),
    });
    expect(alb!.assertion!.albArn).toBe(ALB_ARN);
  });

  it('refuses a user-id header beside an assertion: the token’s sub is the subject', () => {
    expect(errorOf({ assertion: base, userIdHeader: 'X-Uid' }).setting).toBe('option userIdHeader');
  });
});

describe('trust profiles: several proxies', () => {
  it('resolves each profile with its own headers and names', () => {
    const { profiles } = resolveTrustedHeaderOptions({
      proxies: [
        { name: 'lan', trustedIps: ['10.0.0.5'] },
        { preset: 'authentik', sharedSecrets: [SECRET] },
      ],
    });
    expect(profiles.map((profile) => profile.name)).toEqual(['lan', 'authentik']);
    expect(profiles[1]!.identity.headers.user).toBe('X-authentik-username');
  });

  it('labels errors with the profile’s position', () => {
    expect(errorOf({ proxies: [{}, { trustedIps: ['*'] }] }).setting).toBe('option proxies[1].trustedIps');
  });

  it('refuses two profiles of one name, and proxy fields beside proxies', () => {
    expect(errorOf({ proxies: [{ name: 'a' }, { name: 'a', trustedIps: ['10.0.0.1'] }] }).setting).toBe(
      'option proxies[1].name',
    );
    expect(errorOf({ proxies: [{}], trustedIps: ['10.0.0.1'] }).setting).toBe('option trustedIps');
    expect(errorOf({ proxies: [] }).setting).toBe('option proxies');
  });
});
