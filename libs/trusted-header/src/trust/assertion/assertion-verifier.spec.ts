import { jest } from '@jest/globals';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, exportSPKI, generateKeyPair, importPKCS8, SignJWT, type CryptoKey, type JWTPayload } from 'jose';
import type { AssertionKeySource, ResolvedAssertionOptions } from './assertion-options.js';
import { AssertionVerifier, type AssertionOutcome } from './assertion-verifier.js';

const ISSUER = 'https://team.cloudflareaccess.com';
const AUDIENCE = 'app-audience-tag';
const now = () => Math.floor(Date.now() / 1000);

/** A self-signed P-256 test certificate and its key (test material only, signs nothing real). */
const CERTIFICATE = `-----BEGIN CERTIFICATE-----
MIIBgjCCASegAwIBAgIUGCL3krjzyotpAXobSu6bzMt6tyowCgYIKoZIzj0EAwIw
FTETMBEGA1UEAwwKcHJveHkudGVzdDAgFw0yNjEyMDIxMjA3MjdaGA8yMTI2MTEw
ODEyMDcyN1owFTETMBEGA1UEAwwKcHJveHkudGVzdDBZMBMGByqGSM49AgEGCCqG
SM49AwEHA0IABKM5v1Fc79gH9SExsONq5g1U8SZyWdQYr/Zl3WSiW5y+nyjgx0xo
J0/t7HXMFItfdgwrsdj+TC027lXD4nMBIm+jUzBRMB0GA1UdDgQWBBRJbIV7aQY4
AIIW+dFKqKgLn9u4WTAfBgNVHSMEGDAWgBRJbIV7aQY4AIIW+dFKqKgLn9u4WTAP
BgNVHRMBAf8EBTADAQH/MAoGCCqGSM49BAMCA0kAMEYCIQCqWbQdO8QJq7qkvuIb
6khr4SbgUEy5dmr4yYttxyEHMQIhANWHBZCyOBqTVrJT3ihQa7ROUiUVhKzlLNn4
iluzyfJi
-----END CERTIFICATE-----`;
const CERTIFIED_KEY = `-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgu4tRss/Bx31F31Sm
bs6/bQiIEM6k+O18FpeFzLE2GtahRANCAASjOb9RXO/YB/UhMbDjauYNVPEmclnU
GK/2Zd1kolucvp8o4MdMaCdP7ex1zBSLX3YMK7HY/kwtNu5Vw+JzASJv
-----END PRIVATE KEY-----`;

function optionsFor(keys: AssertionKeySource, over: Partial<ResolvedAssertionOptions> = {}): ResolvedAssertionOptions {
  return {
    header: 'Cf-Access-Jwt-Assertion',
    bearer: false,
    keys,
    issuer: ISSUER,
    audience: [AUDIENCE],
    algorithms: ['RS256'],
    clockToleranceSeconds: 30,
    claims: { username: 'email', email: 'email', name: null, groups: null },
    albArn: null,
    preset: null,
    fetchTimeoutMs: 2_000,
    fetchCooldownMs: 60_000,
    keysMaxAgeMs: 600_000,
    cacheMaxEntries: 100,
    ...over,
  };
}

interface Signer {
  readonly alg: string;
  readonly kid: string;
  readonly privateKey: CryptoKey;
  readonly publicKey: CryptoKey;
}

async function signer(alg: string, kid: string): Promise<Signer> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  return { alg, kid, privateKey, publicKey };
}

function sign(by: Signer, claims: JWTPayload = {}, header: Record<string, unknown> = {}): Promise<string> {
  return new SignJWT({ iss: ISSUER, aud: AUDIENCE, sub: 'u-1', email: 'ann@example.org', exp: now() + 300, ...claims })
    .setProtectedHeader({ alg: by.alg, kid: by.kid, ...header })
    .sign(by.privateKey);
}

const segment = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
/** A base64url segment whose last character carries spare bits, with the lowest of them set. */
function withSpareBit(text: string): string {
  if (text.length % 4 < 2) throw new Error(`a segment of ${text.length} characters has no spare bits`);
  return `${text.slice(0, -1)}${ALPHABET[ALPHABET.indexOf(text.at(-1)!) | 1]}`;
}

async function pemOptions(by: Signer, over: Partial<ResolvedAssertionOptions> = {}) {
  const pem = await exportSPKI(by.publicKey);
  return optionsFor({ kind: 'pem', file: '/etc/proxy.pem', pem }, { algorithms: [by.alg], ...over });
}

const codeOf = async (outcome: AssertionOutcome | Promise<AssertionOutcome>) => {
  const settled = await outcome;
  return settled.kind === 'invalid' ? settled.code : settled.kind;
};

describe('AssertionVerifier against a key set served on loopback', () => {
  let server: Server;
  let url: URL;
  let rsa: Signer;
  let ec: Signer;

  beforeAll(async () => {
    [rsa, ec] = await Promise.all([signer('RS256', 'rsa-1'), signer('ES256', 'ec-1')]);
    const keys = [
      { ...(await exportJWK(rsa.publicKey)), kid: rsa.kid, alg: 'RS256', use: 'sig' },
      { ...(await exportJWK(ec.publicKey)), kid: ec.kid, alg: 'ES256', use: 'sig' },
    ];
    server = createServer((_request, response) => {
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}/cdn-cgi/access/certs`);
  });
  afterAll(() => new Promise((resolve) => server.close(resolve)));

  it('verifies an RS256 token (Cloudflare Access-like) and hands back its claims and header', async () => {
    const verifier = new AssertionVerifier(optionsFor({ kind: 'jwks', url }));
    const outcome = await verifier.verify(await sign(rsa));
    expect(outcome).toMatchObject({ kind: 'verified', claims: { email: 'ann@example.org' }, header: { kid: 'rsa-1' } });
  });

  it('verifies an ES256 token (IAP- or Pomerium-like) from the same set', async () => {
    const options = optionsFor({ kind: 'jwks', url }, { algorithms: ['ES256'] });
    expect(await codeOf(new AssertionVerifier(options).verify(await sign(ec)))).toBe('verified');
  });

  it('refuses an algorithm that is in the set but not pinned', async () => {
    const options = optionsFor({ kind: 'jwks', url }, { algorithms: ['ES256'] });
    expect(await codeOf(new AssertionVerifier(options).verify(await sign(rsa)))).toBe('ERR_JOSE_ALG_NOT_ALLOWED');
  });

  it('refuses a valid token minted for another application (audience) or by another issuer', async () => {
    const verifier = new AssertionVerifier(optionsFor({ kind: 'jwks', url }));
    expect(await codeOf(verifier.verify(await sign(rsa, { aud: 'other-app' })))).toBe(
      'ERR_JWT_CLAIM_VALIDATION_FAILED',
    );
    expect(await codeOf(verifier.verify(await sign(rsa, { iss: 'https://evil.example' })))).toBe(
      'ERR_JWT_CLAIM_VALIDATION_FAILED',
    );
    const noAudience = await sign(rsa, { aud: undefined });
    expect(await codeOf(verifier.verify(noAudience))).toBe('ERR_JWT_CLAIM_VALIDATION_FAILED');
  });

  it('refuses a token signed by a key that is not in the set under a kid that is', async () => {
    const impostor = await signer('RS256', 'rsa-1');
    const verifier = new AssertionVerifier(optionsFor({ kind: 'jwks', url }));
    expect(await codeOf(verifier.verify(await sign(impostor)))).toBe('ERR_JWS_SIGNATURE_VERIFICATION_FAILED');
  });
});

describe('AssertionVerifier: forged and stale tokens (one pinned PEM key)', () => {
  let rsa: Signer;
  beforeAll(async () => {
    rsa = await signer('RS256', 'ignored-kid');
  });

  it('ignores the kid: one configured key verifies whatever kid the token names', async () => {
    const verifier = new AssertionVerifier(await pemOptions(rsa));
    expect(await codeOf(verifier.verify(await sign(rsa, {}, { kid: 'anything' })))).toBe('verified');
  });

  it('reads the key from an X.509 certificate, and refuses a token its key did not sign', async () => {
    const privateKey = await importPKCS8(CERTIFIED_KEY, 'ES256');
    const certified = { alg: 'ES256', kid: 'c', privateKey, publicKey: privateKey };
    const pem = CERTIFICATE;
    const verifier = new AssertionVerifier(optionsFor({ kind: 'pem', file: 'c.pem', pem }, { algorithms: ['ES256'] }));
    expect(await codeOf(verifier.verify(await sign(certified)))).toBe('verified');
    const other = await signer('ES256', 'c');
    expect(await codeOf(verifier.verify(await sign(other)))).toBe('ERR_JWS_SIGNATURE_VERIFICATION_FAILED');
  });

  it('refuses alg none, with or without a signature segment, even when configured', async () => {
    const verifier = new AssertionVerifier(await pemOptions(rsa, { algorithms: ['RS256', 'none'] }));
    const body = `${segment({ alg: 'none' })}.${segment({ iss: ISSUER, aud: AUDIENCE, exp: now() + 60 })}`;
    expect(await codeOf(verifier.verify(`${body}.`))).toBe('ERR_JWS_INVALID');
    expect(await codeOf(verifier.verify(`${body}.c2ln`))).toBe('ERR_JOSE_ALG_NOT_ALLOWED');
  });

  it('refuses HS256 signed with the public key as the secret (algorithm confusion), even when configured', async () => {
    const pem = await exportSPKI(rsa.publicKey);
    const verifier = new AssertionVerifier(await pemOptions(rsa, { algorithms: ['RS256', 'HS256'] }));
    const forged = await new SignJWT({ iss: ISSUER, aud: AUDIENCE, exp: now() + 60 })
      .setProtectedHeader({ alg: 'HS256' })
      .sign(new TextEncoder().encode(pem));
    expect(await codeOf(verifier.verify(forged))).toBe('ERR_JOSE_ALG_NOT_ALLOWED');
  });

  it('refuses expired, not-yet-valid, future-issued and exp-less tokens, within the clock tolerance only', async () => {
    const verifier = new AssertionVerifier(await pemOptions(rsa, { clockToleranceSeconds: 30 }));
    const check = async (claims: JWTPayload) => codeOf(verifier.verify(await sign(rsa, claims)));
    expect(await check({ exp: now() - 31 })).toBe('ERR_JWT_EXPIRED');
    expect(await check({ exp: now() - 20 })).toBe('verified');
    expect(await check({ nbf: now() + 120 })).toBe('ERR_JWT_CLAIM_VALIDATION_FAILED');
    expect(await check({ nbf: now() + 20 })).toBe('verified');
    expect(await check({ iat: now() + 3_600 })).toBe('ERR_JWT_CLAIM_VALIDATION_FAILED');
    expect(await check({ iat: now() + 20 })).toBe('verified');
    expect(await check({ iat: 'yesterday' as unknown as number })).toBe('ERR_JWT_CLAIM_VALIDATION_FAILED');
    expect(await check({ exp: undefined })).toBe('ERR_JWT_CLAIM_VALIDATION_FAILED');
  });

  it('answers malformed input with a code, never a throw', async () => {
    const verifier = new AssertionVerifier(await pemOptions(rsa));
    const good = await sign(rsa);
    const [h, p, s] = good.split('.') as [string, string, string];
    const cases: Array<[string, string]> = [
      ['', 'ERR_JWS_INVALID'],
      ['a.b', 'ERR_JWS_INVALID'],
      [`${good}.x`, 'ERR_JWS_INVALID'],
      [`${h}.${p}.${s}=`, 'ERR_JWS_INVALID'],
      [`${h}=.${p}.${s}`, 'ERR_JWS_INVALID'],
      [`${h}.${p}.${s.slice(0, 10)} ${s.slice(10)}`, 'ERR_JWS_INVALID'],
      [`${h}.${p}.+${s.slice(1)}`, 'ERR_JWS_INVALID'],
      [`${segment([1])}.${p}.${s}`, 'ERR_JWS_INVALID'],
      [`${Buffer.from('{"alg":').toString('base64url')}.${p}.${s}`, 'ERR_JWS_INVALID'],
      [`${h}.${p}.${'A'.repeat(16 * 1024)}`, 'ERR_TOKEN_TOO_LONG'],
      [`${h}.${segment({ iss: ISSUER })}.${s}`, 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED'],
      // The spare bits of a segment's last character set: decoders ignore them, so the token would verify.
      [`${h}.${p}.${withSpareBit(s)}`, 'ERR_JWS_INVALID'],
      [`${withSpareBit(h)}.${p}.${s}`, 'ERR_JWS_INVALID'],
    ];
    for (const [token, code] of cases) {
      expect([token.slice(0, 12), await codeOf(verifier.verify(token))]).toEqual([token.slice(0, 12), code]);
    }
  });

  it('answers a verified token again synchronously, the same frozen outcome', async () => {
    const verifier = new AssertionVerifier(await pemOptions(rsa));
    const token = await sign(rsa, { groups: ['a', 'b'] });
    const first = verifier.verify(token);
    expect(first).toBeInstanceOf(Promise);
    expect(verifier.verify(token)).toBe(first);
    const outcome = await first;
    const again = verifier.verify(token);
    expect(again).not.toBeInstanceOf(Promise);
    expect(again).toBe(outcome);
    expect(outcome.kind === 'verified' && Object.isFrozen(outcome.claims.groups)).toBe(true);
  });

  it('serves from its cache only the very token it verified, whatever shares that token’s signature', async () => {
    const verifier = new AssertionVerifier(await pemOptions(rsa));
    const token = await sign(rsa, { email: 'ann@example.org' });
    const [h, , s] = token.split('.') as [string, string, string];
    const verified = await verifier.verify(token);
    expect(verified.kind).toBe('verified');
    const altered = [
      // Another user under the cached token's signature: the same end, another payload.
      `${h}.${segment({ iss: ISSUER, aud: AUDIENCE, sub: 'u-2', email: 'eve@example.org', exp: now() + 300 })}.${s}`,
      // Only the end of the signature kept: the rest of the signature differs.
      `${h}.${token.split('.')[1]}.${'A'.repeat(s.length - 32)}${s.slice(-32)}`,
      // The token itself with a character more in front, the signature alone, and its last 32 characters (a
      // token that short is its own key: the cached token's key, exactly).
      `x${token}`,
      s,
      token.slice(-32),
      token.slice(-33),
    ];
    for (const forged of altered) {
      const outcome = verifier.verify(forged);
      expect(outcome).not.toBe(verified);
      expect([forged.slice(0, 12), await codeOf(outcome)]).not.toEqual([forged.slice(0, 12), 'verified']);
    }
    // Nor did they push the verified token out.
    expect(verifier.verify(token)).toBe(verified);
  });

  it('keeps a verified token through a flood of tokens that end as it does, with room for one', async () => {
    const verifier = new AssertionVerifier(await pemOptions(rsa, { cacheMaxEntries: 1 }));
    const token = await sign(rsa);
    const verified = await verifier.verify(token);
    for (let n = 0; n < 20; n += 1) expect(await codeOf(verifier.verify(`${n}${token}`))).not.toBe('verified');
    expect(verifier.verify(token)).toBe(verified);
  });

  it('does not keep refusals: a flood of bad tokens leaves nothing behind', async () => {
    const verifier = new AssertionVerifier(await pemOptions(rsa));
    const expired = await sign(rsa, { exp: now() - 3_600 });
    expect(await codeOf(verifier.verify(expired))).toBe('ERR_JWT_EXPIRED');
    expect(verifier.verify(expired)).toBeInstanceOf(Promise);
  });

  describe('with the clock under test control', () => {
    afterEach(() => jest.useRealTimers());

    it('stops serving a cached token at its exp, and re-verification then refuses it', async () => {
      jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'], now: new Date('2030-01-01') });
      const verifier = new AssertionVerifier(await pemOptions(rsa, { clockToleranceSeconds: 0 }));
      const token = await sign(rsa, { exp: now() + 60 });
      expect(await codeOf(verifier.verify(token))).toBe('verified');
      jest.setSystemTime(Date.now() + 59_000);
      expect(verifier.verify(token)).not.toBeInstanceOf(Promise);
      jest.setSystemTime(Date.now() + 1_000);
      const late = verifier.verify(token);
      expect(late).toBeInstanceOf(Promise);
      expect(await codeOf(late)).toBe('ERR_JWT_EXPIRED');
    });

    it('holds at most cacheMaxEntries verified tokens', async () => {
      const verifier = new AssertionVerifier(await pemOptions(rsa, { cacheMaxEntries: 2 }));
      const tokens = await Promise.all([1, 2, 3].map((n) => sign(rsa, { n })));
      for (const token of tokens) await verifier.verify(token);
      expect(verifier.verify(tokens[0]!)).toBeInstanceOf(Promise);
      expect(verifier.verify(tokens[2]!)).not.toBeInstanceOf(Promise);
    });
  });
});
