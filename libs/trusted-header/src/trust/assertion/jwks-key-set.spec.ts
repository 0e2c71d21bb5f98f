import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import type { ResolvedAssertionOptions } from './assertion-options.js';
import { AssertionVerifier, type AssertionOutcome } from './assertion-verifier.js';

const ISSUER = 'https://iap.example';
const AUDIENCE = '/projects/1/global/backendServices/2';
/**
 * Long enough that a loaded machine (two test runs on two cores) does not let it pass between a failed fetch
 * and the next verification, which must still be inside it: 300 ms did, once, after a body over the size bound.
 */
const COOLDOWN_MS = 1_500;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

type Mode = 'ok' | 'down' | 'error' | 'redirect' | 'huge' | 'streamed' | 'html';

/** A key-set endpoint on loopback whose answers the test changes, counting every request it gets. */
async function keyServer(keys: JWK[]) {
  const state = { keys, mode: 'ok' as Mode, requests: [] as string[] };
  const server = createServer((request, response) => {
    state.requests.push(request.url ?? '');
    if (request.url === '/elsewhere') return void response.end(JSON.stringify({ keys: state.keys }));
    switch (state.mode) {
      case 'down':
        return void request.socket.destroy();
      case 'error':
        return void response.writeHead(503).end();
      case 'redirect':
        return void response.writeHead(302, { location: '/elsewhere' }).end();
      case 'huge':
        return void response.end(JSON.stringify({ keys: state.keys, pad: 'x'.repeat(2 * 1024 * 1024) }));
      case 'streamed':
        response.writeHead(200, { 'content-type': 'application/json' });
        for (let n = 0; n < 40; n += 1) response.write(' '.repeat(64 * 1024));
        return void response.end(JSON.stringify({ keys: state.keys }));
      case 'html':
        return void response.writeHead(200, { 'content-type': 'text/html' }).end('<html>sign in</html>');
      case 'ok':
        return void response
          .writeHead(200, { 'content-type': 'application/json' })
          .end(JSON.stringify({ keys: state.keys }));
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}/certs`);
  const close = () => {
    server.closeAllConnections();
    return new Promise((resolve) => server.close(resolve));
  };
  return { state, url, close, fetches: () => state.requests.filter((path) => path === '/certs').length };
}

interface Signer {
  readonly kid: string;
  readonly privateKey: CryptoKey;
  readonly jwk: JWK;
}

async function signer(kid: string): Promise<Signer> {
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
  return { kid, privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' } };
}

const sign = (by: Pick<Signer, 'kid' | 'privateKey'>, claims: Record<string, unknown> = {}) =>
  new SignJWT({
    iss: ISSUER,
    aud: AUDIENCE,
    sub: 'accounts.google.com:1',
    exp: Math.floor(Date.now() / 1000) + 300,
    ...claims,
  })
    .setProtectedHeader({ alg: 'ES256', kid: by.kid })
    .sign(by.privateKey);

function verifierFor(url: URL, over: Partial<ResolvedAssertionOptions> = {}) {
  return new AssertionVerifier({
    header: 'X-Goog-Iap-Jwt-Assertion',
    bearer: false,
    keys: { kind: 'jwks', url },
    issuer: ISSUER,
    audience: [AUDIENCE],
    algorithms: ['ES256'],
    clockToleranceSeconds: 30,
    claims: { username: 'email', email: 'email', name: null, groups: null },
    albArn: null,
    preset: 'google-iap',
    fetchTimeoutMs: 1_000,
    fetchCooldownMs: COOLDOWN_MS,
    keysMaxAgeMs: 600_000,
    cacheMaxEntries: 100,
    ...over,
  });
}

const kindOf = async (outcome: AssertionOutcome | Promise<AssertionOutcome>) => {
  const settled = await outcome;
  return settled.kind === 'invalid' ? settled.code : settled.kind;
};

describe('JwksKeySet (through AssertionVerifier) against a key-set endpoint on loopback', () => {
  let current: Signer;
  let servers: Array<{ close: () => Promise<unknown> }> = [];
  const serve = async (keys: JWK[]) => {
    const server = await keyServer(keys);
    servers.push(server);
    return server;
  };

  beforeAll(async () => {
    current = await signer('key-1');
  });
  afterEach(async () => {
    await Promise.all(servers.map((server) => server.close()));
    servers = [];
  });

  it('fetches lazily on the first tokens, once for many concurrent ones', async () => {
    const server = await serve([current.jwk]);
    const verifier = verifierFor(server.url);
    expect(server.fetches()).toBe(0);
    const tokens = await Promise.all(Array.from({ length: 10 }, (_, n) => sign(current, { n })));
    const outcomes = await Promise.all(tokens.map((token) => kindOf(verifier.verify(token))));
    expect(outcomes).toEqual(Array(10).fill('verified'));
    expect(server.fetches()).toBe(1);
  });

  it('refetches once for an unknown kid, then not again before the cooldown, whatever the storm', async () => {
    const server = await serve([current.jwk]);
    const verifier = verifierFor(server.url);
    await verifier.warmUp();
    expect(server.fetches()).toBe(1);
    await sleep(COOLDOWN_MS);
    const forged = await Promise.all(Array.from({ length: 200 }, (_, n) => sign({ ...current, kid: `forged-${n}` })));
    expect(await kindOf(verifier.verify(forged[0]!))).toBe('ERR_JWKS_NO_MATCHING_KEY');
    expect(server.fetches()).toBe(2);
    const storm = await Promise.all(forged.map((token) => kindOf(verifier.verify(token))));
    expect(new Set(storm)).toEqual(new Set(['ERR_JWKS_NO_MATCHING_KEY']));
    expect(server.fetches()).toBe(2);
    await sleep(COOLDOWN_MS);
    await Promise.all(forged.map((token) => verifier.verify(token)));
    expect(server.fetches()).toBe(3);
  });

  it('picks up a rotated key: a new kid is fetched and verifies', async () => {
    const server = await serve([current.jwk]);
    const verifier = verifierFor(server.url);
    expect(await kindOf(verifier.verify(await sign(current)))).toBe('verified');
    const next = await signer('key-2');
    server.state.keys = [current.jwk, next.jwk];
    await sleep(COOLDOWN_MS);
    expect(await kindOf(verifier.verify(await sign(next)))).toBe('verified');
    expect(server.fetches()).toBe(2);
    server.state.keys = [next.jwk];
    await sleep(COOLDOWN_MS);
    expect(await kindOf(verifier.verify(await sign({ ...next, kid: 'key-3' })))).toBe('ERR_JWKS_NO_MATCHING_KEY');
    expect(await kindOf(verifier.verify(await sign(current, { fresh: 1 })))).toBe('ERR_JWKS_NO_MATCHING_KEY');
  });

  it('refuses a key set served through a redirect, and never asks the redirect target', async () => {
    const server = await serve([current.jwk]);
    server.state.mode = 'redirect';
    const outcome = await verifierFor(server.url).verify(await sign(current));
    expect(outcome).toMatchObject({ kind: 'keys_unavailable', detail: expect.stringContaining('302') });
    expect(server.state.requests).toEqual(['/certs']);
  });

  it.each([
    ['a connection cut', 'down'],
    ['a 503', 'error'],
    ['a body over the size bound', 'huge'],
    ['a streamed body over the size bound', 'streamed'],
    ['a page that is not a key set', 'html'],
  ] as const)('treats %s as keys_unavailable, and does not ask again before the cooldown', async (_, mode) => {
    const server = await serve([current.jwk]);
    server.state.mode = mode;
    const verifier = verifierFor(server.url);
    expect(await kindOf(verifier.verify(await sign(current)))).toBe('keys_unavailable');
    expect(server.state.requests).toHaveLength(1);
    server.state.mode = 'ok';
    expect(await kindOf(verifier.verify(await sign(current)))).toBe('keys_unavailable');
    await sleep(COOLDOWN_MS);
    expect(await kindOf(verifier.verify(await sign(current)))).toBe('verified');
  });

  it('keeps verifying with the keys it holds while the endpoint is down, even past their age', async () => {
    const server = await serve([current.jwk]);
    const verifier = verifierFor(server.url, { keysMaxAgeMs: 50 });
    expect(await kindOf(verifier.verify(await sign(current)))).toBe('verified');
    server.state.mode = 'down';
    await sleep(COOLDOWN_MS);
    expect(await kindOf(verifier.verify(await sign(current, { n: 1 })))).toBe('verified');
    expect(await kindOf(verifier.verify(await sign(current, { n: 2 })))).toBe('verified');
    expect(server.fetches()).toBe(2);
    // An unknown kid while the endpoint fails may be a rotation we cannot see: an outage, not a forgery verdict.
    const rotated = await signer('key-9');
    const tokens = await Promise.all(Array.from({ length: 50 }, (_, n) => sign(rotated, { n })));
    const storm = await Promise.all(tokens.map((token) => kindOf(verifier.verify(token))));
    expect(new Set(storm)).toEqual(new Set(['keys_unavailable']));
    expect(server.fetches()).toBe(2);
  });

  it('refreshes old keys in the background and drops a key the endpoint no longer lists', async () => {
    const server = await serve([current.jwk]);
    const verifier = verifierFor(server.url, { keysMaxAgeMs: 50, fetchCooldownMs: 0 });
    expect(await kindOf(verifier.verify(await sign(current)))).toBe('verified');
    const next = await signer('key-2');
    server.state.keys = [next.jwk];
    await sleep(80);
    expect(await kindOf(verifier.verify(await sign(current, { n: 1 })))).toBe('verified');
    await sleep(20);
    expect(server.fetches()).toBe(2);
    expect(await kindOf(verifier.verify(await sign(current, { n: 2 })))).toBe('ERR_JWKS_NO_MATCHING_KEY');
  });

  it('lets a new kid that arrives during a background refresh wait for that refresh', async () => {
    const server = await serve([current.jwk]);
    const verifier = verifierFor(server.url, { keysMaxAgeMs: 50 });
    expect(await kindOf(verifier.verify(await sign(current)))).toBe('verified');
    const next = await signer('key-2');
    server.state.keys = [current.jwk, next.jwk];
    await sleep(COOLDOWN_MS);
    const [old, rotated] = await Promise.all([sign(current, { n: 1 }), sign(next)]);
    const outcomes = await Promise.all([kindOf(verifier.verify(old)), kindOf(verifier.verify(rotated))]);
    expect(outcomes).toEqual(['verified', 'verified']);
    expect(server.fetches()).toBe(2);
  });

  it('warmUp fetches ahead of the first token, shares its fetch, and never rejects', async () => {
    const server = await serve([current.jwk]);
    const verifier = verifierFor(server.url);
    await Promise.all([verifier.warmUp(), verifier.warmUp(), verifier.verify(await sign(current, { n: 1 }))]);
    expect(server.fetches()).toBe(1);
    expect(await kindOf(verifier.verify(await sign(current)))).toBe('verified');
    expect(server.fetches()).toBe(1);
    const nowhere = verifierFor(new URL('http://127.0.0.1:1/certs'));
    await expect(nowhere.warmUp()).resolves.toEqual(expect.any(String));
  });

  it('warmUp says null once the keys are there, and a failed warmUp does not hold the first token back', async () => {
    const server = await serve([current.jwk]);
    server.state.mode = 'down';
    const verifier = verifierFor(server.url);
    expect(await verifier.warmUp()).toEqual(expect.stringMatching(/\S/));
    expect(server.fetches()).toBe(1);
    // The endpoint comes up after the application: the first token asks at once, not after a cooldown.
    server.state.mode = 'ok';
    expect(await kindOf(verifier.verify(await sign(current)))).toBe('verified');
    expect(server.fetches()).toBe(2);
    expect(await verifier.warmUp()).toBeNull();
  });
});
