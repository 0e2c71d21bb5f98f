import { jest } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';
import {
  TrustedHeaderConfigError,
  trustedHeaderOptionsFromEnv,
  type TrustedHeaderOptions,
} from 'nestjs-trusted-header';
import { resolveTrustedHeaderOptions } from 'nestjs-trusted-header/building-blocks';
import type { HttpAdapterName } from '../apps/reference-app/src/config/app-config.js';
import { startHeaderEchoApp } from './support/header-echo.js';
import {
  base64url,
  handSignedEs256,
  signingKey,
  startKeyServer,
  type KeyServer,
  type SigningKey,
} from './support/key-server.js';
import type { RawResponse } from './support/raw-request.js';
import { ADAPTERS, type TestApp } from './support/test-app.js';
import { createTestDatabase, type TestDatabase } from './support/test-database.js';

/**
 * THREATS 10 (signed assertions) as an attacker probes them, over both adapters: tokens shaped like each signing
 * proxy's own (Cloudflare Access, Google IAP, AWS ALB, Pomerium, an OIDC ID token through oauth2-proxy), keys
 * served by a real key endpoint on loopback that the tests rotate, redirect and take down.
 */

type Header = [name: string, value: string];

const CF_TEAM = 'https://acme.cloudflareaccess.com';
const CF_AUD = '4714c1358e65fe4b408ad6d432a5f878f08194bdb4752441fd56faefa9b2b6f2';
const CF_OTHER_APP_AUD = '9a0d8e1c5b4f3a2e1d0c9b8a7f6e5d4c3b2a1f0e9d8c7b6a5f4e3d2c1b0a9f8e';
const IAP_ISSUER = 'https://cloud.google.com/iap';
const IAP_AUD = '/projects/123/global/backendServices/456';
const ALB_ISSUER = 'https://cognito-idp.eu-central-1.amazonaws.com/eu-central-1_Pool';
const ALB_CLIENT = '4fmvht22tjrgd7d3k3tghttct7';
const ALB_ARN = 'arn:aws:elasticloadbalancing:eu-central-1:123456789012:loadbalancer/app/ours/6284be65b827c598';
const ALB_OTHER_ARN = 'arn:aws:elasticloadbalancing:eu-central-1:123456789012:loadbalancer/app/theirs/0a1b2c3d4e5f6071';
const POMERIUM_ROUTE = 'app.example.com';
const OIDC_ISSUER = 'https://idp.example.com/realms/main';
const OIDC_CLIENT = 'reference-app';

const now = () => Math.floor(Date.now() / 1000);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A token signed with jose, as the identity provider or proxy signs it. */
function jwt(key: SigningKey, payload: Record<string, unknown>, header: Record<string, unknown> = {}): Promise<string> {
  return new SignJWT(payload)
    .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'JWT', ...header })
    .sign(key.privateKey);
}

/** Cloudflare Access's application token (RS256, `Cf-Access-Jwt-Assertion`). */
const cloudflareToken = (key: SigningKey, claims: Record<string, unknown> = {}) =>
  jwt(key, {
    aud: [CF_AUD],
    email: 'ann@example.com',
    sub: randomUUID(),
    identity_nonce: 'v2QhVmBBlXdyB1Xz',
    type: 'app',
    country: 'DE',
    iss: CF_TEAM,
    iat: now(),
    nbf: now(),
    exp: now() + 86_400,
    ...claims,
  });

/** Google IAP's assertion (ES256, `X-Goog-Iap-Jwt-Assertion`). */
const iapClaims = (claims: Record<string, unknown> = {}) => ({
  iss: IAP_ISSUER,
  aud: IAP_AUD,
  email: 'iap-user@example.com',
  sub: 'accounts.google.com:1234567890',
  hd: 'example.com',
  iat: now(),
  exp: now() + 600,
  ...claims,
});
const iapToken = (key: SigningKey, claims: Record<string, unknown> = {}) => jwt(key, iapClaims(claims));

/** AWS ALB's `X-Amzn-Oidc-Data`: ALB's fields in the header, base64 padding kept in every segment. */
function albToken(
  key: SigningKey,
  { header = {}, claims = {}, padded = true }: { header?: object; claims?: object; padded?: boolean } = {},
): string {
  const exp = now() + 120;
  return handSignedEs256(
    key,
    { typ: 'JWT', kid: key.kid, alg: 'ES256', iss: ALB_ISSUER, client: ALB_CLIENT, signer: ALB_ARN, exp, ...header },
    { sub: 'f0c9d1e2-alb-user', email: 'alb-user@example.com', name: 'Alb User', exp, iss: ALB_ISSUER, ...claims },
    padded,
  );
}

/** Pomerium's assertion (ES256): issuer and audience are the route's host. */
const pomeriumToken = (key: SigningKey, claims: Record<string, unknown> = {}) =>
  jwt(key, {
    iss: POMERIUM_ROUTE,
    aud: POMERIUM_ROUTE,
    email: 'pom-user@example.com',
    groups: ['engineering', 'on-call'],
    sub: 'pomerium-user-77',
    user: 'pomerium-user-77',
    name: 'Pom User',
    iat: now(),
    exp: now() + 300,
    ...claims,
  });

/** An OIDC ID token (RS256), forwarded by oauth2-proxy as `Authorization: Bearer`. */
const oidcToken = (key: SigningKey, claims: Record<string, unknown> = {}) =>
  jwt(key, {
    iss: OIDC_ISSUER,
    aud: OIDC_CLIENT,
    azp: OIDC_CLIENT,
    sub: '3f1b6a52-7d0e-4c1b-9a3d-oidc-user',
    email: 'oidc-user@example.com',
    email_verified: true,
    preferred_username: 'oidc-user',
    name: 'Oidc User',
    roles: ['readers', 'writers'],
    iat: now(),
    exp: now() + 300,
    ...claims,
  });

/** `alg: none`: no signature at all. */
function unsignedToken(kid: string, payload: Record<string, unknown>, signature = ''): string {
  return `${base64url(JSON.stringify({ alg: 'none', kid, typ: 'JWT' }))}.${base64url(JSON.stringify(payload))}.${signature}`;
}

/**
 * A hand-signed token whose every segment carries `=` padding: header and payload lengths are varied until
 * neither is a multiple of three bytes (the ES256 signature, 64 bytes, always is padded).
 */
function untilPadded(make: (headerPad: string, claimsPad: string) => string): string {
  for (let n = 0; n < 9; n += 1) {
    const token = make('x'.repeat(n % 3), 'y'.repeat(Math.floor(n / 3)));
    if (token.split('.').every((segment) => segment.endsWith('='))) return token;
  }
  throw new Error('no padded form found');
}

function expectRefused(response: RawResponse, status = 401, reason = 'untrusted_proxy'): void {
  expect({ status: response.status, body: response.body }).toEqual({
    status,
    body: { statusCode: status, message: expect.any(String), reason },
  });
}

describe.each(ADAPTERS)('signed assertions (%s)', (adapter: HttpAdapterName) => {
  // A database per app: PGlite serves one session at a time, so two apps cannot share one.
  const databases: TestDatabase[] = [];
  const started: TestApp[] = [];
  const servers: KeyServer[] = [];
  const start = async (options: TrustedHeaderOptions) => {
    const database = await createTestDatabase();
    databases.push(database);
    const api = await startHeaderEchoApp(adapter, options, await database.options());
    started.push(api);
    return api;
  };
  const serve = async (...keys: SigningKey[]) => {
    const server = await startKeyServer(keys);
    servers.push(server);
    return server;
  };

  afterAll(async () => {
    await Promise.all(started.map((api) => api.close()));
    await Promise.all(servers.map((server) => server.close()));
    await Promise.all(databases.map((database) => database.close()));
  });

  const userRows = async (api: TestApp, username: string) =>
    Number((await api.sql(`SELECT count(*)::int AS n FROM auth_proxy_users WHERE username = $1`, [username]))[0].n);
  /** The stable-subject columns, where the schema has them (null when it does not). */
  const subjectOf = async (api: TestApp, username: string) => {
    const columns = await api.sql(
      `SELECT column_name FROM information_schema.columns WHERE table_name = 'auth_proxy_users' AND column_name = 'subject'`,
    );
    if (columns.length === 0) return null;
    const rows = await api.sql(`SELECT subject_issuer, subject FROM auth_proxy_users WHERE username = $1`, [username]);
    return rows;
  };

  describe('Cloudflare Access (RS256)', () => {
    let key: SigningKey;
    let server: KeyServer;
    let api: TestApp;
    const assertion = (token: string): Header => ['Cf-Access-Jwt-Assertion', token];

    beforeAll(async () => {
      key = await signingKey('RS256', 'cf-key-1');
      server = await serve(key);
      api = await start({
        preset: 'cloudflare-access',
        assertion: { issuer: CF_TEAM, audience: CF_AUD, jwksUrl: server.jwksUrl },
        createUnknownUser: true,
      });
    });

    it('logs in the user the token names, keyed by its subject, with the groups claim as a list', async () => {
      const sub = randomUUID();
      const token = await cloudflareToken(key, { email: 'Cf-Ann@Example.com', sub, groups: ['staff', 'dev'] });
      const response = await api.request('/me', [assertion(token)]);
      expect(response.status).toBe(200);
      expect(response.body).toMatchObject({ username: 'cf-ann@example.com', email: 'cf-ann@example.com' });
      expect([...response.body.externalGroups].sort()).toEqual(['dev', 'staff']);
      expect(await userRows(api, 'cf-ann@example.com')).toBe(1);
      const subject = await subjectOf(api, 'cf-ann@example.com');
      if (subject !== null) expect(subject).toEqual([{ subject_issuer: CF_TEAM, subject: sub }]);
    });

    it('serves 200 requests presenting one token from one key-set fetch', async () => {
      const token = await cloudflareToken(key, { email: 'cf-steady@example.com' });
      const statuses: number[] = [];
      for (let batch = 0; batch < 10; batch += 1) {
        const responses = await Promise.all(Array.from({ length: 20 }, () => api.request('/me', [assertion(token)])));
        statuses.push(...responses.map((response) => response.status));
      }
      expect(statuses).toEqual(Array(200).fill(200));
      expect(server.hits()).toBe(1);
    });

    it('reads a groups claim given as one string with the separator', async () => {
      const token = await cloudflareToken(key, { email: 'cf-string-groups@example.com', groups: 'ops,audit' });
      const response = await api.request('/me', [assertion(token)]);
      expect(response.status).toBe(200);
      expect([...response.body.externalGroups].sort()).toEqual(['audit', 'ops']);
    });

    it('refuses alg none, with or without a signature segment', async () => {
      const claims = { iss: CF_TEAM, aud: [CF_AUD], email: 'cf-none@example.com', exp: now() + 600 };
      for (const token of [unsignedToken(key.kid, claims), unsignedToken(key.kid, claims, 'c2lnbmF0dXJl')]) {
        expectRefused(await api.request('/me', [assertion(token)]));
      }
      expect(await userRows(api, 'cf-none@example.com')).toBe(0);
    });

    it('refuses HS256 signed with the public key as the secret (algorithm confusion)', async () => {
      const payload = { iss: CF_TEAM, aud: [CF_AUD], email: 'cf-hmac@example.com', sub: 'x', exp: now() + 600 };
      for (const secret of [key.publicPem, JSON.stringify(key.jwk)]) {
        const token = await new SignJWT(payload)
          .setProtectedHeader({ alg: 'HS256', kid: key.kid, typ: 'JWT' })
          .sign(new TextEncoder().encode(secret));
        expectRefused(await api.request('/me', [assertion(token)]));
      }
      expect(await userRows(api, 'cf-hmac@example.com')).toBe(0);
    });

    it('refuses a token of another issuer, and one minted for another application of the same team', async () => {
      const otherTeam = await cloudflareToken(key, {
        email: 'cf-iss@example.com',
        iss: 'https://evil.cloudflareaccess.com',
      });
      expectRefused(await api.request('/me', [assertion(otherTeam)]));
      const otherApp = await cloudflareToken(key, { email: 'cf-aud@example.com', aud: [CF_OTHER_APP_AUD] });
      expectRefused(await api.request('/me', [assertion(otherApp)]));
      const noAudience = await cloudflareToken(key, { email: 'cf-aud@example.com', aud: undefined });
      expectRefused(await api.request('/me', [assertion(noAudience)]));
      expect(await userRows(api, 'cf-iss@example.com')).toBe(0);
      expect(await userRows(api, 'cf-aud@example.com')).toBe(0);
    });

    it('refuses an expired token, one not valid yet, one issued in the future and one without exp', async () => {
      const email = 'cf-times@example.com';
      const cases = [
        { iat: now() - 7_200, nbf: now() - 7_200, exp: now() - 3_600 },
        { nbf: now() + 3_600 },
        { iat: now() + 86_400 },
        { exp: undefined },
      ];
      for (const claims of cases) {
        expectRefused(await api.request('/me', [assertion(await cloudflareToken(key, { email, ...claims }))]));
      }
      expect(await userRows(api, email)).toBe(0);
    });

    it('refuses a token signed by another key under the known kid', async () => {
      const impostor = await signingKey('RS256', key.kid);
      const token = await cloudflareToken(impostor, { email: 'cf-impostor@example.com' });
      expectRefused(await api.request('/me', [assertion(token)]));
      expect(await userRows(api, 'cf-impostor@example.com')).toBe(0);
    });

    it('refuses a storm of forged kids without a fetch per kid', async () => {
      const before = server.hits();
      const forger = await signingKey('RS256', 'unused');
      const tokens = await Promise.all(
        Array.from({ length: 50 }, (_, n) =>
          jwt(
            { ...forger, kid: `forged-${n}` },
            { iss: CF_TEAM, aud: [CF_AUD], email: 'cf-forged@example.com', exp: now() + 600 },
          ),
        ),
      );
      const responses = await Promise.all(tokens.map((token) => api.request('/me', [assertion(token)])));
      for (const response of responses) expectRefused(response);
      expect(server.hits() - before).toBeLessThanOrEqual(1);
      expect(await userRows(api, 'cf-forged@example.com')).toBe(0);
    });

    it('refuses the assertion header twice (400 duplicate_header) and a twin spelling beside it (400 header_twin)', async () => {
      const mine = await cloudflareToken(key, { email: 'cf-dup-a@example.com' });
      const theirs = await cloudflareToken(key, { email: 'cf-dup-b@example.com' });
      expectRefused(await api.request('/me', [assertion(mine), assertion(theirs)]), 400, 'duplicate_header');
      expectRefused(
        await api.request('/me', [assertion(mine), ['Cf_Access_Jwt_Assertion', theirs]]),
        400,
        'header_twin',
      );
      expect(await userRows(api, 'cf-dup-b@example.com')).toBe(0);
    });

    it('takes identity from the claims only: unsigned headers beside the token are ignored and never reach a handler', async () => {
      const token = await cloudflareToken(key, { email: 'cf-claims@example.com', groups: ['staff'] });
      const spoofed: Header[] = [
        ['Remote-User', 'admin'],
        ['Remote-Groups', 'admins'],
        ['Remote-Email', 'admin@example.com'],
        ['Cf-Access-Authenticated-User-Email', 'admin@example.com'],
      ];
      const me = await api.request('/me', [assertion(token), ...spoofed]);
      expect(me.status).toBe(200);
      expect(me.body).toMatchObject({ username: 'cf-claims@example.com', email: 'cf-claims@example.com' });
      expect(me.body.externalGroups).toEqual(['staff']);
      const seen = await api.request('/echo/headers', [assertion(token), ...spoofed, ['X-Request-Id', 'r-1']]);
      expect(seen.status).toBe(200);
      // The echo shows what a handler reads: other headers reach it.
      expect(seen.body.headers['x-request-id']).toBe('r-1');
      const unsigned = /^(remote-|cf-access-authenticated)/;
      expect(Object.keys(seen.body.headers).filter((name) => unsigned.test(name))).toEqual([]);
      expect(seen.body.rawNames.filter((name: string) => unsigned.test(name))).toEqual([]);
      expect(await userRows(api, 'admin')).toBe(0);
    });

    it('does not log in whoever an unsigned header names when no token is sent', async () => {
      for (const headers of [
        [['Remote-User', 'cf-nobody']],
        [['Cf-Access-Authenticated-User-Email', 'cf-nobody@example.com']],
      ] as Header[][]) {
        expectRefused(await api.request('/me', headers));
      }
      expect(await userRows(api, 'cf-nobody')).toBe(0);
      expect(await userRows(api, 'cf-nobody@example.com')).toBe(0);
    });

    it('logs the refusal as assertion_invalid with the verifier code', async () => {
      await sleep(1_100);
      const before = api.logs.matching('warn', /assertion_invalid \(ERR_JWT_EXPIRED\)/).length;
      const expired = await cloudflareToken(key, { email: 'cf-log@example.com', exp: now() - 3_600 });
      expectRefused(await api.request('/me', [assertion(expired)]));
      const lines = api.logs.matching('warn', /assertion_invalid \(ERR_JWT_EXPIRED\)/);
      expect(lines.length - before).toBe(1);
      expect(lines.at(-1)).toMatch(/^untrusted_proxy: profile cloudflare-access: assertion_invalid/);
      expect(lines.at(-1)).not.toContain(expired);
    });
  });

  describe('Google IAP (ES256)', () => {
    let key: SigningKey;
    let api: TestApp;
    const assertion = (token: string): Header => ['X-Goog-Iap-Jwt-Assertion', token];

    beforeAll(async () => {
      key = await signingKey('ES256', 'iap-key-1');
      const server = await serve(key);
      api = await start({
        preset: 'google-iap',
        assertion: { audience: IAP_AUD, jwksUrl: server.jwksUrl },
        createUnknownUser: true,
      });
    });

    it('logs in the token user and ignores the x-goog-authenticated-user-* headers beside it', async () => {
      const token = await iapToken(key, { email: 'iap-ann@example.com' });
      const spoofed: Header[] = [
        ['X-Goog-Authenticated-User-Email', 'accounts.google.com:admin@example.com'],
        ['X-Goog-Authenticated-User-Id', 'accounts.google.com:1'],
      ];
      const me = await api.request('/me', [assertion(token), ...spoofed]);
      expect(me.status).toBe(200);
      expect(me.body).toMatchObject({ username: 'iap-ann@example.com', email: 'iap-ann@example.com' });
      const subject = await subjectOf(api, 'iap-ann@example.com');
      if (subject !== null) {
        expect(subject).toEqual([{ subject_issuer: IAP_ISSUER, subject: 'accounts.google.com:1234567890' }]);
      }
      const seen = await api.request('/echo/headers', [assertion(token), ...spoofed, ['X-Goog-Request-Id', 'r-2']]);
      expect(seen.body.headers['x-goog-request-id']).toBe('r-2');
      expect(Object.keys(seen.body.headers).filter((name) => name.startsWith('x-goog-authenticated'))).toEqual([]);
      expect(seen.body.rawNames.filter((name: string) => name.startsWith('x-goog-authenticated'))).toEqual([]);
    });

    it('does not log in the user of an unsigned x-goog-authenticated-user-email without a token', async () => {
      const response = await api.request('/me', [
        ['X-Goog-Authenticated-User-Email', 'accounts.google.com:iap-admin@example.com'],
      ]);
      expectRefused(response);
      expect(await userRows(api, 'iap-admin@example.com')).toBe(0);
      expect(await userRows(api, 'accounts.google.com:iap-admin@example.com')).toBe(0);
    });

    it('refuses a token for another backend service, and one from another issuer', async () => {
      const otherService = await iapToken(key, {
        email: 'iap-aud@example.com',
        aud: '/projects/123/global/backendServices/789',
      });
      expectRefused(await api.request('/me', [assertion(otherService)]));
      const otherIssuer = await iapToken(key, { email: 'iap-aud@example.com', iss: 'https://accounts.google.com' });
      expectRefused(await api.request('/me', [assertion(otherIssuer)]));
      expect(await userRows(api, 'iap-aud@example.com')).toBe(0);
    });

    it('refuses base64 padding outside AWS ALB, though the same token unpadded is accepted', async () => {
      const header = { alg: 'ES256', kid: key.kid, typ: 'JWT' };
      const unpadded = handSignedEs256(key, header, iapClaims({ email: 'iap-pad@example.com' }), false);
      expect((await api.request('/me', [assertion(unpadded)])).status).toBe(200);
      const claims = iapClaims({ email: 'iap-padded@example.com' });
      const padded = untilPadded((x, y) => handSignedEs256(key, { ...header, x }, { ...claims, y }, true));
      expectRefused(await api.request('/me', [assertion(padded)]));
      expect(await userRows(api, 'iap-padded@example.com')).toBe(0);
    });
  });

  describe('AWS ALB (padded ES256, one PEM per kid)', () => {
    let key: SigningKey;
    let server: KeyServer;
    let api: TestApp;
    const assertion = (token: string): Header => ['X-Amzn-Oidc-Data', token];

    beforeAll(async () => {
      key = await signingKey('ES256', 'c2f80c8b-c05c-4068-af14-17299f7896b1');
      server = await serve(key);
      api = await start({
        preset: 'aws-alb',
        assertion: { issuer: ALB_ISSUER, audience: ALB_CLIENT, albArn: ALB_ARN, jwksUrl: server.albBase },
        createUnknownUser: true,
      });
    });

    it('logs in from a padded token, fetching the kid’s key once', async () => {
      const token = untilPadded((x, y) => albToken(key, { header: { x }, claims: { y } }));
      const me = await api.request('/me', [assertion(token), ['X-Amzn-Oidc-Identity', 'alb-admin']]);
      expect(me.status).toBe(200);
      expect(me.body).toMatchObject({
        username: 'alb-user@example.com',
        email: 'alb-user@example.com',
        displayName: 'Alb User',
      });
      expect((await api.request('/me', [assertion(albToken(key, { claims: { n: 1 } }))])).status).toBe(200);
      expect(server.hits()).toBe(1);
      const seen = await api.request('/echo/headers', [assertion(token), ['X-Amzn-Oidc-Identity', 'alb-admin']]);
      expect(seen.body.rawNames).not.toContain('x-amzn-oidc-identity');
      expect(seen.body.headers).not.toHaveProperty('x-amzn-oidc-identity');
    });

    it('refuses a token signed by another load balancer (signer) and logs why', async () => {
      await sleep(1_100);
      const before = api.logs.matching('warn', /assertion_invalid \(ERR_ALB_SIGNER_MISMATCH\)/).length;
      const token = albToken(key, { header: { signer: ALB_OTHER_ARN }, claims: { email: 'alb-other@example.com' } });
      expectRefused(await api.request('/me', [assertion(token)]));
      expect(api.logs.matching('warn', /assertion_invalid \(ERR_ALB_SIGNER_MISMATCH\)/).length - before).toBe(1);
      const unsigned = albToken(key, { header: { signer: undefined }, claims: { email: 'alb-other@example.com' } });
      expectRefused(await api.request('/me', [assertion(unsigned)]));
      expect(await userRows(api, 'alb-other@example.com')).toBe(0);
    });

    it('refuses a token for another client, of another issuer, expired, or with its padding stripped', async () => {
      const email = 'alb-bad@example.com';
      const tokens = [
        albToken(key, { header: { client: 'another-client' }, claims: { email } }),
        albToken(key, { claims: { email, iss: 'https://evil.example' } }),
        albToken(key, { header: { iss: 'https://evil.example' }, claims: { email } }),
        albToken(key, { header: { exp: now() - 3_600 }, claims: { email, exp: now() - 3_600 } }),
        untilPadded((x, y) => albToken(key, { header: { x }, claims: { email, y } })).replace(/=+(?=\.|$)/g, ''),
      ];
      for (const token of tokens) expectRefused(await api.request('/me', [assertion(token)]));
      expect(await userRows(api, email)).toBe(0);
    });
  });

  describe('Pomerium (ES256, route host as issuer and audience)', () => {
    let key: SigningKey;
    let api: TestApp;
    const assertion = (token: string): Header => ['X-Pomerium-Jwt-Assertion', token];

    beforeAll(async () => {
      key = await signingKey('ES256', 'pomerium-key-1');
      const server = await serve(key);
      api = await start({
        preset: 'pomerium',
        assertion: { issuer: POMERIUM_ROUTE, audience: POMERIUM_ROUTE, jwksUrl: server.jwksUrl },
        createUnknownUser: true,
      });
    });

    it('logs in with the groups of the token, not of the X-Pomerium-Claim-* headers', async () => {
      const token = await pomeriumToken(key);
      const me = await api.request('/me', [
        assertion(token),
        ['X-Pomerium-Claim-Groups', 'admins'],
        ['X-Pomerium-Claim-Email', 'root@example.com'],
      ]);
      expect(me.status).toBe(200);
      expect(me.body).toMatchObject({ username: 'pom-user@example.com', displayName: 'Pom User' });
      expect([...me.body.externalGroups].sort()).toEqual(['engineering', 'on-call']);
    });

    it('refuses a token minted for another route', async () => {
      const token = await pomeriumToken(key, { email: 'pom-other@example.com', aud: 'admin.example.com' });
      expectRefused(await api.request('/me', [assertion(token)]));
      expect(await userRows(api, 'pom-other@example.com')).toBe(0);
    });
  });

  describe('oauth2-proxy with the ID token as a bearer token, configured from the environment', () => {
    let key: SigningKey;
    let api: TestApp;
    const bearer = (token: string): Header => ['Authorization', `Bearer ${token}`];

    beforeAll(async () => {
      key = await signingKey('RS256', 'oidc-key-1');
      const server = await serve(key);
      api = await start(
        trustedHeaderOptionsFromEnv({
          AUTH_PROXY_PRESET: 'oauth2-proxy-jwt',
          AUTH_PROXY_JWT_ISSUER: OIDC_ISSUER,
          AUTH_PROXY_JWT_AUDIENCE: OIDC_CLIENT,
          AUTH_PROXY_JWT_JWKS_URL: server.jwksUrl,
          AUTH_PROXY_JWT_ALGORITHMS: 'RS256',
          AUTH_PROXY_JWT_USERNAME_CLAIM: 'preferred_username',
          AUTH_PROXY_JWT_GROUPS_CLAIM: 'roles',
          AUTH_PROXY_JWT_CLOCK_TOLERANCE_SECONDS: '5',
          AUTH_PROXY_CREATE_UNKNOWN_USER: 'true',
        }),
      );
    });

    it('logs in the preferred_username of the ID token with its roles, ignoring X-Forwarded-User', async () => {
      const me = await api.request('/me', [bearer(await oidcToken(key)), ['X-Forwarded-User', 'admin']]);
      expect(me.status).toBe(200);
      expect(me.body).toMatchObject({
        username: 'oidc-user',
        email: 'oidc-user@example.com',
        displayName: 'Oidc User',
      });
      expect([...me.body.externalGroups].sort()).toEqual(['readers', 'writers']);
    });

    it('applies the clock tolerance from the environment', async () => {
      const token = await oidcToken(key, { preferred_username: 'oidc-late', exp: now() - 20 });
      expectRefused(await api.request('/me', [bearer(token)]));
      expect(await userRows(api, 'oidc-late')).toBe(0);
    });

    it('refuses an ES256 token when the environment pins RS256', async () => {
      const ec = await signingKey('ES256', key.kid);
      const token = await oidcToken(ec, { preferred_username: 'oidc-ec' });
      expectRefused(await api.request('/me', [bearer(token)]));
      expect(await userRows(api, 'oidc-ec')).toBe(0);
    });

    it('puts the username claim through the username rules: a look-alike of root is 400 invalid_username', async () => {
      const token = await oidcToken(key, { preferred_username: 'r\u0585\u0585t', sub: 'lookalike-sub' });
      expectRefused(await api.request('/me', [bearer(token)]), 400, 'invalid_username');
      expect(await userRows(api, 'r\u0585\u0585t')).toBe(0);
    });

    it('refuses an Authorization header that is not a bearer token', async () => {
      const response = await api.request('/me', [
        ['Authorization', `Basic ${Buffer.from('admin:x').toString('base64')}`],
      ]);
      expectRefused(response);
    });
  });

  describe('key endpoint outages, rotation and fetch storms (on a controlled monotonic clock)', () => {
    let current: SigningKey;
    let server: KeyServer;
    let api: TestApp;
    const assertion = (token: string): Header => ['X-Goog-Iap-Jwt-Assertion', token];
    /** Moves the clock the key cache paces its fetches by (fetch cooldown 30 s, key age 10 min). */
    const elapse = (ms: number) => jest.advanceTimersByTime(ms);

    beforeAll(async () => {
      // Only performance.now() is faked: sockets, timers and Date keep running for real.
      jest.useFakeTimers({
        doNotFake: [
          'Date',
          'hrtime',
          'nextTick',
          'queueMicrotask',
          'requestAnimationFrame',
          'cancelAnimationFrame',
          'requestIdleCallback',
          'cancelIdleCallback',
          'setImmediate',
          'clearImmediate',
          'setInterval',
          'clearInterval',
          'setTimeout',
          'clearTimeout',
        ],
      });
      current = await signingKey('ES256', 'rotating-1');
      server = await serve(current);
      api = await start({
        name: 'iap-rotating',
        preset: 'google-iap',
        assertion: { audience: IAP_AUD, jwksUrl: server.jwksUrl },
        createUnknownUser: true,
      });
    });
    afterAll(() => {
      jest.useRealTimers();
    });

    const login = (by: SigningKey, email: string) =>
      iapToken(by, { email }).then((token) => api.request('/me', [assertion(token)]));

    it('keeps accepting tokens of a cached key while the key endpoint is down', async () => {
      expect((await login(current, 'rot-1@example.com')).status).toBe(200);
      expect(server.hits()).toBe(1);
      server.state.mode = 'down';
      expect((await login(current, 'rot-2@example.com')).status).toBe(200);
      elapse(31_000);
      expect((await login(current, 'rot-3@example.com')).status).toBe(200);
      // Past the keys' maximum age a refresh is tried in the background; the old keys still verify.
      elapse(601_000);
      expect((await login(current, 'rot-4@example.com')).status).toBe(200);
      expect((await login(current, 'rot-5@example.com')).status).toBe(200);
    });

    it('answers 503 assertion_keys_unavailable for an unknown kid while the endpoint is down, asking it at most once per cooldown', async () => {
      elapse(31_000);
      const before = server.hits();
      const next = await signingKey('ES256', 'rotating-2');
      expectRefused(await login(next, 'rot-down@example.com'), 503, 'assertion_keys_unavailable');
      for (let n = 0; n < 20; n += 1) {
        const forged = await signingKey('ES256', `forged-while-down-${n}`);
        expectRefused(await login(forged, 'rot-down@example.com'), 503, 'assertion_keys_unavailable');
      }
      expect(server.hits() - before).toBe(1);
      expect((await login(current, 'rot-6@example.com')).status).toBe(200);
      expect(await userRows(api, 'rot-down@example.com')).toBe(0);
    });

    it('accepts a rotated key once the endpoint lists it, after one refetch', async () => {
      const next = await signingKey('ES256', 'rotating-3');
      server.state.keys = [current, next];
      server.state.mode = 'ok';
      elapse(31_000);
      const before = server.hits();
      const me = await login(next, 'rot-new@example.com');
      expect(me.status).toBe(200);
      expect(me.body.username).toBe('rot-new@example.com');
      expect((await login(next, 'rot-new-2@example.com')).status).toBe(200);
      expect((await login(current, 'rot-7@example.com')).status).toBe(200);
      expect(server.hits() - before).toBe(1);
      current = next;
    });

    it('refetches at most once for a storm of 50 forged kids, and refuses them all', async () => {
      elapse(31_000);
      const before = server.hits();
      const forger = await signingKey('ES256', 'unused');
      const tokens = await Promise.all(
        Array.from({ length: 50 }, (_, n) =>
          iapToken({ ...forger, kid: `storm-${n}` }, { email: 'rot-storm@example.com' }),
        ),
      );
      const responses = await Promise.all(tokens.map((token) => api.request('/me', [assertion(token)])));
      for (const response of responses) expectRefused(response);
      for (const token of tokens.slice(0, 10)) expectRefused(await api.request('/me', [assertion(token)]));
      expect(server.hits() - before).toBe(1);
      expect(await userRows(api, 'rot-storm@example.com')).toBe(0);
    });
  });

  describe('key sets that cannot be had', () => {
    it('refuses a key set served through a redirect, without asking the redirect target', async () => {
      const key = await signingKey('RS256', 'redirected-1');
      const server = await serve(key);
      server.state.mode = 'redirect';
      const api = await start({
        name: 'cf-redirected',
        preset: 'cloudflare-access',
        assertion: { issuer: CF_TEAM, audience: CF_AUD, jwksUrl: server.jwksUrl },
        createUnknownUser: true,
      });
      const token = await cloudflareToken(key, { email: 'cf-redirected@example.com' });
      const response = await api.request('/me', [['Cf-Access-Jwt-Assertion', token]]);
      expect(response.status).not.toBe(200);
      expectRefused(response, 503, 'assertion_keys_unavailable');
      // Once when the app started (keys are loaded ahead of the first token), once more on that token: a failed
      // load at startup starts no cooldown.
      expect(server.hits()).toBeLessThanOrEqual(2);
      expect(server.redirectTargetHits()).toBe(0);
      expect(await userRows(api, 'cf-redirected@example.com')).toBe(0);
    });

    it('answers 503 assertion_keys_unavailable while the key endpoint has never answered', async () => {
      const key = await signingKey('ES256', 'never-fetched-1');
      const server = await serve(key);
      server.state.mode = 'down';
      const api = await start({
        name: `iap-unreachable-${adapter}`,
        preset: 'google-iap',
        assertion: { audience: IAP_AUD, jwksUrl: server.jwksUrl },
        createUnknownUser: true,
      });
      // Reported when the app starts, not only when the first token comes.
      const deadline = Date.now() + 10_000;
      const startupLine = new RegExp(
        `assertion_keys_unavailable: profile iap-unreachable-${adapter}: the keys could not be loaded at startup`,
      );
      while (api.logs.matching('warn', startupLine).length === 0 && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      expect(api.logs.matching('warn', startupLine)).toHaveLength(1);
      for (let n = 0; n < 5; n += 1) {
        const token = await iapToken(key, { email: 'iap-unreachable@example.com', n });
        expectRefused(
          await api.request('/me', [['X-Goog-Iap-Jwt-Assertion', token]]),
          503,
          'assertion_keys_unavailable',
        );
      }
      expect(server.hits()).toBeLessThanOrEqual(2);
    });
  });
});

describe('signed assertion settings refused at startup', () => {
  const base = {
    preset: 'cloudflare-access' as const,
    assertion: { issuer: CF_TEAM, audience: CF_AUD, jwksUrl: 'http://127.0.0.1:9/certs' },
  };
  const refusal = (options: TrustedHeaderOptions): TrustedHeaderConfigError => {
    try {
      resolveTrustedHeaderOptions(options);
    } catch (error) {
      expect(error).toBeInstanceOf(TrustedHeaderConfigError);
      return error as TrustedHeaderConfigError;
    }
    throw new Error(`accepted: ${JSON.stringify(options)}`);
  };

  it('accepts the base settings', () => {
    expect(resolveTrustedHeaderOptions(base).profiles[0]!.assertion).not.toBeNull();
  });

  it.each([
    ['HS256', ['HS256']],
    ['none', ['none']],
    ['an HMAC algorithm among asymmetric ones', ['RS256', 'HS512']],
  ])('refuses algorithms %s', (_, algorithms) => {
    const error = refusal({ ...base, assertion: { ...base.assertion, algorithms } });
    expect(error.message).toContain('assertion.algorithms');
  });

  it('refuses an assertion without audience or without issuer, naming the option', () => {
    expect(refusal({ ...base, assertion: { ...base.assertion, audience: undefined } }).message).toContain(
      'assertion.audience',
    );
    expect(refusal({ ...base, assertion: { ...base.assertion, issuer: undefined } }).message).toContain(
      'assertion.issuer',
    );
  });

  it('refuses a plain-http key URL to another host', () => {
    const error = refusal({ ...base, assertion: { ...base.assertion, jwksUrl: 'http://keys.example.com/certs' } });
    expect(error.message).toContain('assertion.jwksUrl');
  });

  it('names the environment variable when the settings come from the environment', () => {
    const env = {
      AUTH_PROXY_PRESET: 'cloudflare-access',
      AUTH_PROXY_JWT_ISSUER: CF_TEAM,
      AUTH_PROXY_JWT_AUDIENCE: CF_AUD,
      AUTH_PROXY_JWT_JWKS_URL: 'http://127.0.0.1:9/certs',
    };
    expect(() => trustedHeaderOptionsFromEnv(env)).not.toThrow();
    expect(() => trustedHeaderOptionsFromEnv({ ...env, AUTH_PROXY_JWT_ALGORITHMS: 'HS256' })).toThrow(
      /AUTH_PROXY_JWT_ALGORITHMS/,
    );
    const { AUTH_PROXY_JWT_AUDIENCE: _audience, ...withoutAudience } = env;
    expect(() => trustedHeaderOptionsFromEnv(withoutAudience)).toThrow(/AUTH_PROXY_JWT_AUDIENCE/);
    const { AUTH_PROXY_JWT_ISSUER: _issuer, ...withoutIssuer } = env;
    expect(() => trustedHeaderOptionsFromEnv(withoutIssuer)).toThrow(/AUTH_PROXY_JWT_ISSUER/);
    expect(() =>
      trustedHeaderOptionsFromEnv({
        ...env,
        AUTH_PROXY_PRESET: 'aws-alb',
        AUTH_PROXY_JWT_ALB_ARN: 'arn:aws:iam::1:role/x',
      }),
    ).toThrow(/AUTH_PROXY_JWT_ALB_ARN/);
  });
});
