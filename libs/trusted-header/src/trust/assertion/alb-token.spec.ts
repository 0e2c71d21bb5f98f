import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportSPKI, generateKeyPair, importSPKI, jwtVerify, type CryptoKey } from 'jose';
import type { AssertionKeySource, ResolvedAssertionOptions } from './assertion-options.js';
import { AssertionVerifier, type AssertionOutcome } from './assertion-verifier.js';

const REGION_ISSUER = 'https://cognito-idp.eu-central-1.amazonaws.com/eu-central-1_Pool';
const CLIENT = '4fmvht22tjrgd7d3k3tghttct7';
const ARN = 'arn:aws:elasticloadbalancing:eu-central-1:123456789012:loadbalancer/app/ours/6284be65b827c598';
const KID = 'c2f80c8b-c05c-4068-af14-17299f7896b1';
const COOLDOWN_MS = 300;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const now = () => Math.floor(Date.now() / 1000);

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/** Base64url the way ALB writes it: with `=` padding kept at the end. */
const padded = (bytes: Uint8Array | string) => {
  const text = Buffer.from(bytes).toString('base64url');
  return text + '='.repeat((4 - (text.length % 4)) % 4);
};

interface AlbToken {
  header?: Record<string, unknown>;
  claims?: Record<string, unknown>;
  pad?: boolean;
  key?: CryptoKey;
}

/** An ALB-style token: the signature covers the segments as sent, padding included. */
async function albToken(key: CryptoKey, { header = {}, claims = {}, pad = true }: AlbToken = {}) {
  const exp = now() + 120;
  const encode = (value: object) =>
    pad ? padded(JSON.stringify(value)) : Buffer.from(JSON.stringify(value)).toString('base64url');
  const head = encode({
    typ: 'JWT',
    kid: KID,
    alg: 'ES256',
    iss: REGION_ISSUER,
    client: CLIENT,
    signer: ARN,
    exp,
    ...header,
  });
  const body = encode({
    sub: 'user-1',
    email: 'ann@example.org',
    username: 'user-1',
    exp,
    iss: REGION_ISSUER,
    ...claims,
  });
  const input = `${head}.${body}`;
  const signature = new Uint8Array(
    await crypto.subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, key, Buffer.from(input)),
  );
  return `${input}.${pad ? padded(signature) : Buffer.from(signature).toString('base64url')}`;
}

/** The region's public-keys endpoint on loopback: one PEM per kid, 404 for the rest. */
async function albKeyServer(pems: Map<string, string>) {
  const state = { down: false, requests: [] as string[] };
  const server = createServer((request, response) => {
    state.requests.push(request.url ?? '');
    if (state.down) return void request.socket.destroy();
    const pem = pems.get((request.url ?? '').slice(1));
    if (pem === undefined) return void response.writeHead(404).end('not found');
    response.writeHead(200, { 'content-type': 'application/x-pem-file' }).end(pem);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const baseUrl = new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
  const close = () => {
    server.closeAllConnections();
    return new Promise((resolve) => server.close(resolve));
  };
  return { state, baseUrl, close };
}

function optionsFor(keys: AssertionKeySource, over: Partial<ResolvedAssertionOptions> = {}): ResolvedAssertionOptions {
  return {
    header: 'X-Amzn-Oidc-Data',
    bearer: false,
    keys,
    issuer: REGION_ISSUER,
    audience: [CLIENT],
    algorithms: ['ES256'],
    clockToleranceSeconds: 30,
    claims: { username: 'sub', email: 'email', name: null, groups: null },
    albArn: ARN,
    preset: 'aws-alb',
    fetchTimeoutMs: 1_000,
    fetchCooldownMs: COOLDOWN_MS,
    keysMaxAgeMs: 600_000,
    cacheMaxEntries: 100,
    ...over,
  };
}

const kindOf = async (outcome: AssertionOutcome | Promise<AssertionOutcome>) => {
  const settled = await outcome;
  return settled.kind === 'invalid' ? settled.code : settled.kind;
};

describe('AWS ALB tokens', () => {
  let privateKey: CryptoKey;
  let pem: string;
  let server: Awaited<ReturnType<typeof albKeyServer>>;
  let verifier: AssertionVerifier;

  beforeAll(async () => {
    const pair = await generateKeyPair('ES256', { extractable: true });
    privateKey = pair.privateKey;
    pem = await exportSPKI(pair.publicKey);
  });
  beforeEach(async () => {
    server = await albKeyServer(new Map([[KID, pem]]));
    verifier = new AssertionVerifier(optionsFor({ kind: 'alb', baseUrl: server.baseUrl }));
  });
  afterEach(() => server.close());

  it('verifies a padded token over the bytes as sent, fetching the key for its kid once', async () => {
    const token = await albToken(privateKey);
    expect(token.split('.').every((segment) => segment.endsWith('='))).toBe(true);
    const outcome = await verifier.verify(token);
    expect(outcome).toMatchObject({ kind: 'verified', claims: { sub: 'user-1' }, header: { signer: ARN } });
    expect(verifier.verify(token)).toBe(outcome);
    expect(await kindOf(verifier.verify(await albToken(privateKey, { claims: { n: 1 } })))).toBe('verified');
    expect(server.state.requests).toEqual([`/${KID}`]);
  });

  it('verifies an unpadded token too, should ALB stop padding', async () => {
    expect(await kindOf(verifier.verify(await albToken(privateKey, { pad: false })))).toBe('verified');
  });

  it('does not verify the padded token with its padding stripped: the signature covers the padding', async () => {
    const stripped = (await albToken(privateKey)).replace(/=+(?=\.|$)/g, '');
    expect(await kindOf(verifier.verify(stripped))).toBe('ERR_JWS_SIGNATURE_VERIFICATION_FAILED');
  });

  it('refuses padding anywhere but the end of a segment, and in the wrong amount', async () => {
    const [h, p, s] = (await albToken(privateKey, { pad: false })).split('.') as [string, string, string];
    const cases = [
      `${h.slice(0, 4)}=${h.slice(4)}.${p}.${s}`,
      `${h}===.${p}.${s}`,
      `${h}.${p}=.${s}=`,
      `${h} .${p}.${s}`,
    ];
    for (const token of cases) expect(await kindOf(verifier.verify(token))).toBe('ERR_JWS_INVALID');
    expect(server.state.requests).toEqual([]);
  });

  it('refuses a signature spelled with its spare bits set, padded or not: one token, one spelling', async () => {
    const token = await albToken(privateKey);
    expect(await kindOf(verifier.verify(token))).toBe('verified');
    // A 64-byte ES256 signature ends in 2 data bits and 4 spare bits; decoders ignore the spare ones.
    const spare = (segment: string) => {
      const data = segment.replace(/=+$/, '');
      const last = ALPHABET.indexOf(data.at(-1)!);
      return `${data.slice(0, -1)}${ALPHABET[last | 1]}${segment.slice(data.length)}`;
    };
    const [h, p, s] = token.split('.') as [string, string, string];
    const unpadded = (await albToken(privateKey, { pad: false })).split('.') as [string, string, string];
    for (const forged of [`${h}.${p}.${spare(s)}`, `${unpadded.join('.').slice(0, -1)}${spare(unpadded[2]).at(-1)}`]) {
      expect([forged.slice(-4), await kindOf(verifier.verify(forged))]).toEqual([forged.slice(-4), 'ERR_JWS_INVALID']);
    }
  });

  it('refuses a padded token in a profile that is not AWS ALB, though jose alone would take it', async () => {
    const pemVerifier = new AssertionVerifier(
      optionsFor({ kind: 'pem', file: 'k.pem', pem }, { preset: null, albArn: null, audience: [CLIENT] }),
    );
    const token = await albToken(privateKey);
    expect(await kindOf(pemVerifier.verify(token))).toBe('ERR_JWS_INVALID');
    // What the shape check stands in front of: jose decodes with a lenient base64 decoder on this runtime.
    const publicKey = await importSPKI(pem, 'ES256');
    await expect(jwtVerify(token, publicKey, { issuer: REGION_ISSUER })).resolves.toBeDefined();
  });

  it('refuses a token from another load balancer (signer) or for another client', async () => {
    const elsewhere = await albToken(privateKey, { header: { signer: `${ARN}-other` } });
    expect(await kindOf(verifier.verify(elsewhere))).toBe('ERR_ALB_SIGNER_MISMATCH');
    const noSigner = await albToken(privateKey, { header: { signer: undefined } });
    expect(await kindOf(verifier.verify(noSigner))).toBe('ERR_ALB_SIGNER_MISMATCH');
    const otherClient = await albToken(privateKey, { header: { client: 'another-app-client' } });
    expect(await kindOf(verifier.verify(otherClient))).toBe('ERR_ALB_CLIENT_MISMATCH');
  });

  it('checks iss and exp in the payload and in the header copy ALB adds', async () => {
    const check = async (token: AlbToken) => kindOf(verifier.verify(await albToken(privateKey, token)));
    expect(await check({ claims: { iss: 'https://evil.example' } })).toBe('ERR_JWT_CLAIM_VALIDATION_FAILED');
    expect(await check({ header: { iss: 'https://evil.example' } })).toBe('ERR_JWT_CLAIM_VALIDATION_FAILED');
    expect(await check({ claims: { exp: now() - 60 } })).toBe('ERR_JWT_EXPIRED');
    expect(await check({ header: { exp: now() - 60 } })).toBe('ERR_JWT_EXPIRED');
    expect(await check({ header: { exp: 'soon' } })).toBe('ERR_JWT_CLAIM_VALIDATION_FAILED');
    expect(await check({ claims: { exp: undefined } })).toBe('ERR_JWT_CLAIM_VALIDATION_FAILED');
    expect(await check({ claims: { iat: now() + 3_600 } })).toBe('ERR_JWT_CLAIM_VALIDATION_FAILED');
    expect(await check({ claims: { nbf: now() + 3_600 } })).toBe('ERR_JWT_CLAIM_VALIDATION_FAILED');
    expect(await check({ claims: { nbf: now() + 10, iat: now() + 10 } })).toBe('verified');
    expect(await check({ claims: { exp: now() - 10 }, header: { exp: now() - 10 } })).toBe('verified');
  });

  it('refuses a token signed by another key under a known kid, and other algorithms', async () => {
    const other = await generateKeyPair('ES256');
    expect(await kindOf(verifier.verify(await albToken(other.privateKey)))).toBe(
      'ERR_JWS_SIGNATURE_VERIFICATION_FAILED',
    );
    const es384 = await albToken(privateKey, { header: { alg: 'ES384' } });
    expect(await kindOf(verifier.verify(es384))).toBe('ERR_JOSE_ALG_NOT_ALLOWED');
  });

  it('never puts a kid that is not an identifier into a URL', async () => {
    for (const kid of ['../admin', 'a/b', 'a%2Fb', 'a?b', 'a.b', '', 'x'.repeat(129), 42]) {
      const token = await albToken(privateKey, { header: { kid } });
      expect(await kindOf(verifier.verify(token))).toBe('ERR_ALB_KID_INVALID');
    }
    expect(server.state.requests).toEqual([]);
  });

  it('asks for unknown kids at most once per cooldown, however many are forged', async () => {
    const forged = await Promise.all(
      Array.from({ length: 200 }, (_, n) => albToken(privateKey, { header: { kid: `forged-${n}` } })),
    );
    const first = await Promise.all(forged.map((token) => kindOf(verifier.verify(token))));
    expect(new Set(first)).toEqual(new Set(['ERR_JWKS_NO_MATCHING_KEY']));
    expect(server.state.requests).toHaveLength(1);
    await sleep(COOLDOWN_MS);
    await Promise.all(forged.map((token) => verifier.verify(token)));
    expect(server.state.requests).toHaveLength(2);
  });

  it('answers keys_unavailable while the endpoint is unreachable, for every new kid until the cooldown ends', async () => {
    server.state.down = true;
    expect(await kindOf(verifier.verify(await albToken(privateKey)))).toBe('keys_unavailable');
    const other = await albToken(privateKey, { header: { kid: 'another-kid' } });
    expect(await kindOf(verifier.verify(other))).toBe('keys_unavailable');
    expect(server.state.requests).toHaveLength(1);
    server.state.down = false;
    await sleep(COOLDOWN_MS);
    expect(await kindOf(verifier.verify(await albToken(privateKey)))).toBe('verified');
  });

  it('keeps serving a fetched key while the endpoint is down', async () => {
    expect(await kindOf(verifier.verify(await albToken(privateKey)))).toBe('verified');
    server.state.down = true;
    await sleep(COOLDOWN_MS);
    expect(await kindOf(verifier.verify(await albToken(privateKey, { claims: { n: 2 } })))).toBe('verified');
    expect(server.state.requests).toHaveLength(1);
  });
});
