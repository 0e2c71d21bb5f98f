/**
 * The steady-state variants: what each one is, and the checks that it answers as it should before it is
 * measured (an authenticating variant refuses a request without credentials; the session variant's cookie alone
 * is the user; the assertion variant's token alone is the user, and a token signed by another key is refused).
 */
import { exportSPKI, generateKeyPair, SignJWT, type CryptoKey } from 'jose';
import jwt from 'jsonwebtoken';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GUARD_HEADERS, REQUEST_HEADERS, type ServerProcess as Server } from './server-process.js';
import { ASSERTION } from './shared.js';

/** The session variant's cookie: `sessionCookieSecure: false` drops the `__Host-` prefix (plain HTTP here). */
const SESSION_COOKIE = 'trusted_header_session';
const BODY = '{"ok":true,"user":"bench-user"}';

export type Variant = 'raw' | 'none' | 'noop' | 'bare' | 'guard' | 'jwt' | 'session' | 'assertion';
export type Headers = Record<string, string>;

export const LABELS: Record<Variant, string> = {
  raw: '(a) node:http',
  none: '(b) Nest, no auth',
  noop: "(b') Nest + allow-all guard + database",
  bare: '(g) Nest + a bare header guard: peer address, header, Map (no defences)',
  guard: '(c) Nest + TrustedHeaderGuard',
  jwt: '(d) Nest + passport-jwt HS256',
  session: '(e) Nest + TrustedHeaderGuard, session cookie',
  assertion: '(f) Nest + TrustedHeaderGuard, signed assertion (ES256 JWT)',
};

/** The variant answers as the others do, and an authenticating variant refuses a request without credentials. */
export async function checkVariant(server: Server, variant: Variant, label: string): Promise<void> {
  const ok = await fetch(server.url('/hello'), { headers: REQUEST_HEADERS });
  const body = await ok.text();
  if (ok.status !== 200 || body !== BODY) {
    throw new Error(`${label}: answered ${ok.status} ${body}`);
  }
  if (variant === 'guard' || variant === 'bare' || variant === 'jwt') {
    const anonymous = await fetch(server.url('/hello'));
    await anonymous.arrayBuffer();
    if (anonymous.status !== 401) throw new Error(`${label}: a request without credentials got ${anonymous.status}`);
  }
  if (variant === 'jwt') {
    const forged = await fetch(server.url('/hello'), { headers: { ...REQUEST_HEADERS, Authorization: FORGED_BEARER } });
    await forged.arrayBuffer();
    if (forged.status !== 401) throw new Error(`${label}: a token signed with another secret got ${forged.status}`);
  }
}

/** (d)'s token signed with another secret: the check that (d) verifies what it is given. */
const FORGED_BEARER = `Bearer ${jwt.sign({ sub: 'bench-user' }, 'another-secret-of-reasonable-length-0123456789', {
  algorithm: 'HS256',
  expiresIn: '1h',
})}`;

/**
 * (e): logs in once with the identity headers alone and returns the request of the bursts, the session cookie
 * alone. Checks that the login set the cookie (and that the statement counter saw the session being written),
 * that the cookie alone is the user without a new Set-Cookie, and that no cookie or another token is refused.
 */
export async function sessionLogin(server: Server, label: string): Promise<Headers> {
  const before = await server.ask('stats');
  const login = await fetch(server.url('/hello'), { headers: GUARD_HEADERS });
  const body = await login.text();
  if (login.status !== 200 || body !== BODY) throw new Error(`${label}: the login answered ${login.status} ${body}`);
  const setCookies = login.headers.getSetCookie();
  const pair = setCookies.map((line) => line.split(';')[0]!.trim()).find((p) => p.startsWith(`${SESSION_COOKIE}=`));
  if (pair === undefined || setCookies.length !== 1) {
    throw new Error(`${label}: the login set ${JSON.stringify(setCookies)}, not one ${SESSION_COOKIE} cookie`);
  }
  const after = await server.ask('stats');
  if (after.writes! - before.writes! < 1) {
    throw new Error(`${label}: the statement counter saw no write while the login started a session`);
  }
  const cookie: Headers = { Cookie: pair };
  const ask = async (path: string, headers: Headers = {}) => {
    const response = await fetch(server.url(path), { headers });
    return { status: response.status, body: await response.text(), setCookies: response.headers.getSetCookie() };
  };
  const me = await ask('/bench/me', cookie);
  if (me.status !== 200 || (JSON.parse(me.body) as { username?: string }).username !== 'bench-user') {
    throw new Error(`${label}: the session cookie alone answered ${me.status} ${me.body}`);
  }
  if (me.setCookies.length > 0) {
    throw new Error(`${label}: a request with the session cookie set ${JSON.stringify(me.setCookies)}`);
  }
  const anonymous = await ask('/hello');
  if (anonymous.status !== 401) throw new Error(`${label}: a request without the cookie got ${anonymous.status}`);
  const token = pair.slice(SESSION_COOKIE.length + 1);
  const other = `${token.slice(0, -1)}${token.endsWith('A') ? 'B' : 'A'}`;
  const forged = await ask('/hello', { Cookie: `${SESSION_COOKIE}=${other}` });
  if (forged.status !== 401) throw new Error(`${label}: a request with another token got ${forged.status}`);
  await checkSessionCookie(server, cookie, label);
  return cookie;
}

/** The cookie alone is still the user, and the answer sets no cookie (before the warm-up and after the bursts). */
export async function checkSessionCookie(server: Server, cookie: Headers, label: string): Promise<void> {
  const response = await fetch(server.url('/hello'), { headers: cookie });
  const body = await response.text();
  const setCookies = response.headers.getSetCookie();
  if (response.status !== 200 || body !== BODY || setCookies.length > 0) {
    throw new Error(
      `${label}: the session cookie alone answered ${response.status} ${body}, set ${JSON.stringify(setCookies)}`,
    );
  }
}

/** (f): the public key's file the servers read, the token of the bursts, and one signed by another key. */
export interface AssertionSetup {
  directory: string;
  keyFile: string;
  token: string;
  foreignToken: string;
}

/** The user and groups of the guard variant's headers, as claims, valid for an hour. */
function signAssertion(key: CryptoKey): Promise<string> {
  return new SignJWT({ email: GUARD_HEADERS['Remote-Email'], groups: GUARD_HEADERS['Remote-Groups'].split(',') })
    .setProtectedHeader({ alg: ASSERTION.algorithm, typ: 'JWT' })
    .setIssuer(ASSERTION.issuer)
    .setAudience(ASSERTION.audience)
    .setSubject(GUARD_HEADERS['Remote-User'])
    .setIssuedAt()
    .setExpirationTime('1h')
    .sign(key);
}

export async function prepareAssertion(): Promise<AssertionSetup> {
  const { publicKey, privateKey } = await generateKeyPair(ASSERTION.algorithm, { extractable: true });
  const other = await generateKeyPair(ASSERTION.algorithm);
  const directory = mkdtempSync(join(tmpdir(), 'th-bench-assertion-'));
  const keyFile = join(directory, 'proxy-public.pem');
  writeFileSync(keyFile, await exportSPKI(publicKey));
  return {
    directory,
    keyFile,
    token: await signAssertion(privateKey),
    foreignToken: await signAssertion(other.privateKey),
  };
}

/**
 * (f): returns the request of the bursts, the token alone. Checks that the token is the user (GET /bench/me)
 * and that the identity headers without a token, or a token signed by another key, are refused.
 */
export async function checkAssertion(server: Server, setup: AssertionSetup, label: string): Promise<Headers> {
  const headers: Headers = { [ASSERTION.header]: setup.token };
  const ask = async (path: string, sent: Headers) => {
    const response = await fetch(server.url(path), { headers: sent });
    return { status: response.status, body: await response.text() };
  };
  const ok = await ask('/hello', headers);
  if (ok.status !== 200 || ok.body !== BODY) throw new Error(`${label}: answered ${ok.status} ${ok.body}`);
  const me = await ask('/bench/me', headers);
  if (me.status !== 200 || (JSON.parse(me.body) as { username?: string }).username !== GUARD_HEADERS['Remote-User']) {
    throw new Error(`${label}: the token answered ${me.status} ${me.body}`);
  }
  const headersAlone = await ask('/hello', REQUEST_HEADERS);
  if (headersAlone.status !== 401) {
    throw new Error(`${label}: identity headers without the token got ${headersAlone.status}`);
  }
  const foreign = await ask('/hello', { [ASSERTION.header]: setup.foreignToken });
  if (foreign.status !== 401) throw new Error(`${label}: a token signed by another key got ${foreign.status}`);
  return headers;
}
