import { createPrivateKey, sign as signBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, exportPKCS8, exportSPKI, generateKeyPair, type CryptoKey, type JWK } from 'jose';

/** A signing key of a proxy or identity provider, with the public forms its key endpoint serves. */
export interface SigningKey {
  readonly kid: string;
  readonly alg: 'RS256' | 'ES256';
  readonly privateKey: CryptoKey;
  /** The private key in PKCS#8 PEM, for tokens signed by hand (node:crypto). */
  readonly privatePem: string;
  readonly jwk: JWK;
  /** SPKI PEM, as AWS ALB serves each key. */
  readonly publicPem: string;
}

export async function signingKey(alg: 'RS256' | 'ES256', kid: string): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  return {
    kid,
    alg,
    privateKey,
    privatePem: await exportPKCS8(privateKey),
    jwk: { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' },
    publicPem: await exportSPKI(publicKey),
  };
}

/** base64url as RFC 7515 writes it, or with the `=` padding AWS ALB keeps at the end of each segment. */
export function base64url(bytes: Uint8Array | string, padded = false): string {
  const text = Buffer.from(bytes).toString('base64url');
  return padded ? text + '='.repeat((4 - (text.length % 4)) % 4) : text;
}

/**
 * An ES256 token assembled by hand, the way AWS ALB makes its own: the signature (raw r||s, ieee-p1363) covers
 * the segments exactly as sent, padding included when `padded`.
 */
export function handSignedEs256(
  key: SigningKey,
  header: Record<string, unknown>,
  payload: Record<string, unknown>,
  padded: boolean,
): string {
  const input = `${base64url(JSON.stringify(header), padded)}.${base64url(JSON.stringify(payload), padded)}`;
  const signature = signBytes('sha256', Buffer.from(input, 'ascii'), {
    key: createPrivateKey(key.privatePem),
    dsaEncoding: 'ieee-p1363',
  });
  return `${input}.${base64url(signature, padded)}`;
}

/** `ok` serves the keys; `down` cuts every connection; `redirect` answers 302 to a path serving a valid set. */
export type KeyServerMode = 'ok' | 'down' | 'redirect';

export interface KeyServer {
  /** JSON Web Key Set URL (`/certs`). */
  readonly jwksUrl: string;
  /** Base of AWS ALB's per-kid URLs: `<albBase><kid>` answers that key's PEM. */
  readonly albBase: string;
  readonly state: { mode: KeyServerMode; keys: SigningKey[] };
  /** Requests for keys (JWKS and per-kid PEMs), whatever the answer; the redirect target is counted apart. */
  hits(): number;
  redirectTargetHits(): number;
  close(): Promise<void>;
}

/** A key endpoint on loopback whose keys and behaviour a test changes, counting what it is asked. */
export async function startKeyServer(keys: SigningKey[]): Promise<KeyServer> {
  const state = { mode: 'ok' as KeyServerMode, keys };
  let hits = 0;
  let targetHits = 0;
  const jwks = () => JSON.stringify({ keys: state.keys.map((key) => key.jwk) });
  const server = createServer((request, response) => {
    const path = request.url ?? '';
    if (path === '/elsewhere/certs') {
      targetHits += 1;
      return void response.writeHead(200, { 'content-type': 'application/json' }).end(jwks());
    }
    hits += 1;
    if (state.mode === 'down') return void request.socket.destroy();
    if (state.mode === 'redirect') return void response.writeHead(302, { location: '/elsewhere/certs' }).end();
    if (path === '/certs') return void response.writeHead(200, { 'content-type': 'application/json' }).end(jwks());
    const kid = path.startsWith('/alb/') ? path.slice('/alb/'.length) : null;
    const key = state.keys.find((candidate) => candidate.kid === kid);
    if (key === undefined) return void response.writeHead(404).end('not found');
    response.writeHead(200, { 'content-type': 'application/x-pem-file' }).end(key.publicPem);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    jwksUrl: `${origin}/certs`,
    albBase: `${origin}/alb/`,
    state,
    hits: () => hits,
    redirectTargetHits: () => targetHits,
    close: () => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
