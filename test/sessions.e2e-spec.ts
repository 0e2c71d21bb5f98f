import { createHash, randomBytes } from 'node:crypto';
import request from 'supertest';
import type { TrustedHeaderOptions } from 'nestjs-trusted-header';
import { rawPipeline, type RawResponse } from './support/raw-request.js';
import { ADAPTERS, startTestApp, useTestApp, type TestApp } from './support/test-app.js';
import { describeWithConcurrentDatabase } from './support/test-database.js';

/**
 * THREATS 9 (sessions) as an attacker probes it, over both adapters: fixation, a browser switching users,
 * cookies from untrusted peers, revoked, expired and mangled cookies, cross-site requests, logout and its
 * target, and what is stored and sent.
 */

type Header = [name: string, value: string];

const DEFAULT_COOKIE = '__Host-trusted_header_session';
const TOKEN_SHAPE = /^[A-Za-z0-9_-]{43}$/;
const LOGOUT_URL = 'https://auth.example.com/logout?rd=https%3A%2F%2Fapp.example.com%2F';
const ALLOWED_ORIGIN = 'https://ui.example.com';
const EVIL = 'https://evil.example';

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
const as = (username: string, ...extra: Header[]): Header[] => [['Remote-User', username], ...extra];
const staff: Header = ['Remote-Groups', 'staff'];
const withCookie = (token: string, name = DEFAULT_COOKIE): Header => ['Cookie', `${name}=${token}`];
/** A token of the right shape that no server issued. */
const wellFormedToken = () => randomBytes(32).toString('base64url');

const setCookieLines = (response: RawResponse): string[] =>
  response.headerLines.filter(([name]) => name === 'set-cookie').map(([, value]) => value);

/** The `name=value` pair and the attributes of one Set-Cookie line, attribute names lower-cased. */
function parseSetCookie(line: string): { name: string; value: string; attributes: string[] } {
  const [pair, ...attributes] = line.split(';').map((part) => part.trim());
  const equals = pair!.indexOf('=');
  return {
    name: pair!.slice(0, equals),
    value: pair!.slice(equals + 1),
    attributes: attributes.map((attribute) => attribute.replace(/^[^=]+/, (name) => name.toLowerCase())),
  };
}

/** The session tokens the response sets (not the clearing lines). */
function issuedTokens(response: RawResponse, name = DEFAULT_COOKIE): string[] {
  return setCookieLines(response)
    .map(parseSetCookie)
    .filter((cookie) => cookie.name === name && cookie.value !== '')
    .map((cookie) => cookie.value);
}

/** Whether the response tells the browser to drop the session cookie. */
function clearsCookie(response: RawResponse, name = DEFAULT_COOKIE): boolean {
  return setCookieLines(response)
    .map(parseSetCookie)
    .some((cookie) => cookie.name === name && cookie.value === '' && cookie.attributes.includes('max-age=0'));
}

function expectRefused(response: RawResponse, status: number, reason: string): void {
  expect({ status: response.status, reason: response.body?.reason }).toEqual({ status, reason });
}

/** The local group the probe controller's routes need, granted to the proxy group `staff`. */
async function mapStaffToProbeGroup(api: TestApp): Promise<void> {
  await api.sql(`INSERT INTO auth_proxy_groups (name) VALUES ('class-group') ON CONFLICT DO NOTHING`);
  await api.sql(
    `INSERT INTO auth_proxy_group_mappings (external_group, group_id)
     SELECT 'staff', id FROM auth_proxy_groups WHERE name = 'class-group' ON CONFLICT DO NOTHING`,
  );
}

describe.each(ADAPTERS)('persistent sessions (%s)', (adapter) => {
  describe('default cookie, logout URL, an allowed origin', () => {
    const options: TrustedHeaderOptions = {
      createUnknownUser: true,
      session: 'persistent',
      adminGroups: ['idp-admins'],
      logoutUrl: LOGOUT_URL,
      allowedOrigins: [ALLOWED_ORIGIN],
    };
    const app = useTestApp(adapter, options, mapStaffToProbeGroup);
    const api = () => app.api;

    /** Logs the user in with identity headers (groups `staff` unless given) and returns the session token set. */
    async function logIn(username: string, groups = 'staff'): Promise<string> {
      const response = await api().request('/me', as(username, ['Remote-Groups', groups]));
      expect(response.status).toBe(200);
      expect(response.body.username).toBe(username);
      const tokens = issuedTokens(response);
      expect(tokens).toHaveLength(1);
      return tokens[0]!;
    }
    const me = (token: string, extra: Header[] = [], localAddress?: string) =>
      api().request('/me', [withCookie(token), ...extra], { localAddress });
    const sessionOf = async (token: string) =>
      (
        await api().sql(
          `SELECT s.id, u.username, s.revoked_at, s.revoked_reason, s.last_seen_at, s.expires_at
             FROM auth_proxy_sessions s JOIN auth_proxy_users u ON u.id = s.user_id WHERE s.token_hash = $1`,
          [sha256(token)],
        )
      )[0];
    const sessionsOf = async (username: string) =>
      api().sql(
        `SELECT s.id, s.revoked_at, s.revoked_reason FROM auth_proxy_sessions s
           JOIN auth_proxy_users u ON u.id = s.user_id WHERE u.username = $1 ORDER BY s.created_at`,
        [username],
      );
    const auditOf = async (type: string, username: string) =>
      api().sql(
        `SELECT actor_type, actor, username, details FROM auth_proxy_audit_events
          WHERE type = $1 AND username = $2 ORDER BY id`,
        [type, username],
      );
    const alive = async (token: string, username: string) => {
      const response = await me(token);
      expect({ status: response.status, username: response.body?.username }).toEqual({ status: 200, username });
    };

    describe('login and what is stored', () => {
      it('sets one cookie: 43 base64url characters, HttpOnly, SameSite=Lax, Path=/, Secure, __Host- name', async () => {
        const response = await api().request('/me', as('cookie-attrs', staff));
        expect(response.status).toBe(200);
        const lines = setCookieLines(response);
        expect(lines).toHaveLength(1);
        const cookie = parseSetCookie(lines[0]!);
        expect(cookie.name).toBe(DEFAULT_COOKIE);
        expect(cookie.value).toMatch(TOKEN_SHAPE);
        expect(Buffer.from(cookie.value, 'base64url')).toHaveLength(32);
        // `__Host-` requires Secure, Path=/ and no Domain; the server sends Secure even over this plain HTTP test.
        expect([...cookie.attributes].sort()).toEqual([
          'httponly',
          'max-age=604800',
          'path=/',
          'samesite=Lax',
          'secure',
        ]);
      });

      it('stores only the SHA-256 of the token: no row, audit event or log line holds the token', async () => {
        const token = await logIn('hash-only');
        const rawHex = Buffer.from(token, 'base64url').toString('hex');
        const [session] = await api().sql(
          `SELECT s.token_hash, row_to_json(s)::text AS json FROM auth_proxy_sessions s
             JOIN auth_proxy_users u ON u.id = s.user_id WHERE u.username = 'hash-only'`,
        );
        expect(session.token_hash).toBe(sha256(token));
        const everything = [
          ...(await api().sql(`SELECT row_to_json(s)::text AS json FROM auth_proxy_sessions s`)),
          ...(await api().sql(`SELECT row_to_json(a)::text AS json FROM auth_proxy_audit_events a`)),
          ...(await api().sql(`SELECT row_to_json(u)::text AS json FROM auth_proxy_users u`)),
        ].map((row: { json: string }) => row.json);
        for (const json of everything) {
          expect(json).not.toContain(token);
          expect(json.toLowerCase()).not.toContain(rawHex);
        }
        expect(api().logs.lines.filter((line) => line.message.includes(token))).toEqual([]);
      });

      it('records session_created (actor_type proxy) and a fresh token at every login of a cookieless browser', async () => {
        const first = await logIn('twice');
        const second = await logIn('twice');
        expect(second).not.toBe(first);
        const created = await auditOf('session_created', 'twice');
        expect(created).toHaveLength(2);
        expect(created[0]).toMatchObject({ actor_type: 'proxy', actor: 'proxy' });
        const ids = (await sessionsOf('twice')).map((row: { id: string }) => row.id);
        expect(created.map((row: { details: { sessionId: string } }) => row.details.sessionId)).toEqual(ids);
      });

      it('a header login on a route with @Groups (two guards) starts one session and sets one cookie', async () => {
        const response = await api().request('/probe/class', as('two-guards', staff));
        expect(response.status).toBe(200);
        expect(setCookieLines(response)).toHaveLength(1);
        expect(await sessionsOf('two-guards')).toHaveLength(1);
      });

      it("A's cookie with B's headers on a route with @Groups: one new session for B, one cookie", async () => {
        const tokenA = await logIn('two-guards-a');
        const response = await api().request('/probe/class', [...as('two-guards-b', staff), withCookie(tokenA)]);
        expect(response.body.username).toBe('two-guards-b');
        expect(setCookieLines(response)).toHaveLength(1);
        expect(await sessionsOf('two-guards-b')).toHaveLength(1);
        expect(await sessionOf(tokenA)).toMatchObject({ revoked_reason: 'replaced' });
      });

      it('a header login through the admin API (global guard and AdminGuard) starts one session', async () => {
        const response = await api().request('/admin/groups', as('admin-login', ['Remote-Groups', 'idp-admins']));
        expect(response.status).toBe(200);
        expect(setCookieLines(response)).toHaveLength(1);
        expect(await sessionsOf('admin-login')).toHaveLength(1);
      });
    });

    it('stores the peer and a printable, bounded user agent (shown in the admin API)', async () => {
      const userAgent = `Mozilla/5.0 \u00e9\u202e ${'a'.repeat(1_000)}`;
      const response = await api().request('/me', [...as('agent', staff), ['User-Agent', userAgent]]);
      expect(response.status).toBe(200);
      const [row] = await api().sql(
        `SELECT s.peer, s.user_agent FROM auth_proxy_sessions s JOIN auth_proxy_users u ON u.id = s.user_id
          WHERE u.username = 'agent'`,
      );
      expect(row.peer).toBe('127.0.0.1');
      expect(row.user_agent).toHaveLength(512);
      expect(row.user_agent).toMatch(/^Mozilla\/5\.0 \?+ a+$/);
    });

    describe('later requests', () => {
      it('are the user with the cookie alone; in the steady state no statement, no write, no new cookie', async () => {
        const token = await logIn('steady');
        await alive(token, 'steady');
        await alive(token, 'steady');
        api().queries.reset();
        for (let i = 0; i < 20; i += 1) {
          const response = await me(token);
          expect(response.body.username).toBe('steady');
          expect(setCookieLines(response)).toEqual([]);
        }
        expect(api().queries.queries).toEqual([]);
      });

      it('headers and the same user’s cookie continue the session: no new cookie, no statement in the steady state', async () => {
        const token = await logIn('same-user');
        const headers = [...as('same-user', staff), withCookie(token)];
        await api().request('/me', headers);
        api().queries.reset();
        for (let i = 0; i < 20; i += 1) {
          const response = await api().request('/me', headers);
          expect(response.body.username).toBe('same-user');
          expect(setCookieLines(response)).toEqual([]);
        }
        expect(api().queries.queries).toEqual([]);
        expect(await sessionsOf('same-user')).toHaveLength(1);
      });

      it("through plain AuthGuard('trusted-header') too: the login sets the cookie, the cookie alone is the user", async () => {
        const login = await api().request('/probe/passport', as('passport-session', staff));
        expect(login.body).toEqual({ username: 'passport-session' });
        const tokens = issuedTokens(login);
        expect(tokens).toHaveLength(1);
        const later = await api().request('/probe/passport', [withCookie(tokens[0]!)]);
        expect(later.body).toEqual({ username: 'passport-session' });
        expect(setCookieLines(later)).toEqual([]);
      });

      it('with the session, the user keeps the groups of the last login (a @Groups route passes)', async () => {
        const token = await logIn('grouped');
        const response = await api().request('/probe/class', [withCookie(token)]);
        expect({ status: response.status, username: response.body.username }).toEqual({
          status: 200,
          username: 'grouped',
        });
      });
    });

    describe('fixation', () => {
      it('a self-chosen well-formed cookie sent with the login is never adopted', async () => {
        const planted = wellFormedToken();
        const response = await api().request('/me', [...as('fixated', staff), withCookie(planted)]);
        expect(response.status).toBe(200);
        const [issued] = issuedTokens(response);
        expect(issued).toMatch(TOKEN_SHAPE);
        expect(issued).not.toBe(planted);
        expect(await sessionOf(planted)).toBeUndefined();
        expectRefused(await me(planted), 401, 'invalid_session');
        await alive(issued!, 'fixated');
      });

      it("the attacker's own live session planted in the victim's browser becomes no one's: victim gets a new one", async () => {
        const attackers = await logIn('mallory-fix');
        const response = await api().request('/me', [...as('victim-fix', staff), withCookie(attackers)]);
        expect(response.body.username).toBe('victim-fix');
        const [issued] = issuedTokens(response);
        expect(issued).not.toBe(attackers);
        // The planted session is ended, so the attacker cannot ride along on it either.
        expect(await sessionOf(attackers)).toMatchObject({ username: 'mallory-fix', revoked_reason: 'replaced' });
        expectRefused(await me(attackers), 401, 'invalid_session');
        await alive(issued!, 'victim-fix');
      });

      it('a garbage cookie sent with the login is replaced by a fresh token', async () => {
        const response = await api().request('/me', [...as('garbage-login', staff), withCookie('x'.repeat(10))]);
        expect(response.status).toBe(200);
        expect(issuedTokens(response)[0]).toMatch(TOKEN_SHAPE);
      });
    });

    describe("A's cookie with B's identity headers", () => {
      it('logs in B, never a mix: A revoked (replaced), audited, and dead afterwards', async () => {
        const tokenA = await logIn('switch-a');
        const response = await api().request('/me', [...as('switch-b', staff), withCookie(tokenA)]);
        expect(response.status).toBe(200);
        expect(response.body.username).toBe('switch-b');
        const tokens = issuedTokens(response);
        expect(tokens).toHaveLength(1);
        expect(tokens[0]).not.toBe(tokenA);
        expect(await sessionOf(tokenA)).toMatchObject({ username: 'switch-a', revoked_reason: 'replaced' });
        expect(await sessionOf(tokens[0]!)).toMatchObject({ username: 'switch-b', revoked_at: null });
        const revoked = await auditOf('session_revoked', 'switch-a');
        expect(revoked).toHaveLength(1);
        expect(revoked[0]).toMatchObject({ actor_type: 'proxy', details: { reason: 'replaced' } });
        expectRefused(await me(tokenA), 401, 'invalid_session');
        await alive(tokens[0]!, 'switch-b');
        // A's old cookie with A's headers again: a new session, the revoked one is not revived.
        const again = await api().request('/me', [...as('switch-a', staff), withCookie(tokenA)]);
        expect(again.body.username).toBe('switch-a');
        expect(issuedTokens(again)[0]).not.toBe(tokenA);
        expectRefused(await me(tokenA), 401, 'invalid_session');
      });

      it("pipelined on one connection behind B's login: A's cookie is A or refused, never B; dead once B is answered", async () => {
        await logIn('pipe-b');
        const tokenA = await logIn('pipe-a');
        const cookieOnly = { headers: [withCookie(tokenA)] };
        const logoutA = {
          path: '/auth/logout',
          method: 'POST',
          headers: [withCookie(tokenA), ['Content-Length', '0'] as Header],
        };
        const responses = await rawPipeline({
          port: api().port,
          requests: [
            { headers: [...as('pipe-b', staff), withCookie(tokenA)] },
            cookieOnly,
            cookieOnly,
            logoutA,
            cookieOnly,
          ],
        });
        expect({ status: responses[0]!.status, username: responses[0]!.body.username }).toEqual({
          status: 200,
          username: 'pipe-b',
        });
        expect(issuedTokens(responses[0]!)).toHaveLength(1);
        // Handled while B's login was committing (Node handles pipelined requests in parallel): the session as it
        // was a moment before, or refused. Never the identity of the request before it on the connection.
        for (const response of [responses[1]!, responses[2]!, responses[4]!]) {
          const seen = { status: response.status, user: response.body?.username ?? response.body?.reason };
          expect([
            { status: 200, user: 'pipe-a' },
            { status: 401, user: 'invalid_session' },
          ]).toContainEqual(seen);
          expect(issuedTokens(response)).toEqual([]);
        }
        expect(responses[3]!.status).toBe(303);
        // Ended once: by B's login, or by the logout if that committed first (it was handled beside it).
        expect(['replaced', 'logout']).toContain((await sessionOf(tokenA)).revoked_reason);
        expectRefused(await me(tokenA), 401, 'invalid_session');
        await alive(issuedTokens(responses[0]!)[0]!, 'pipe-b');
      });

      it("an invalid identity assertion beside A's cookie is refused, never resolved to A's session", async () => {
        const tokenA = await logIn('fallback-a');
        const invalid: Header[][] = [
          [['Remote-User', '']],
          [['Remote-User', 'null']],
          [
            ['Remote-User', 'fallback-a'],
            ['Remote-User', 'admin'],
          ],
          [['Remote_User', 'admin']],
          [['Remote-User', 'ａｄｍｉｎ']],
        ];
        for (const headers of invalid) {
          const response = await api().request('/me', [...headers, withCookie(tokenA)]);
          expect(response.status).toBe(400);
          expect(response.body.username).toBeUndefined();
        }
        expect(await sessionOf(tokenA)).toMatchObject({ revoked_at: null });
        await alive(tokenA, 'fallback-a');
      });

      it("from an untrusted peer (127.0.0.2): refused untrusted_proxy, never B, A's session untouched", async () => {
        const tokenA = await logIn('peer-a');
        for (const headers of [[...as('peer-b', staff), withCookie(tokenA)], [withCookie(tokenA)]]) {
          const response = await api().request('/me', headers, { localAddress: '127.0.0.2' });
          expectRefused(response, 401, 'untrusted_proxy');
          expect(issuedTokens(response)).toEqual([]);
        }
        expect(await api().sql(`SELECT id FROM auth_proxy_users WHERE username = 'peer-b'`)).toEqual([]);
        expect(await sessionOf(tokenA)).toMatchObject({ username: 'peer-a', revoked_at: null });
        await alive(tokenA, 'peer-a');
      });
    });

    describe('ended sessions', () => {
      it('revoked in the database: 401 invalid_session once the cache is dropped, and the cookie is cleared', async () => {
        const token = await logIn('revoked');
        await api().sql(
          `UPDATE auth_proxy_sessions SET revoked_at = now(), revoked_reason = 'admin' WHERE token_hash = $1`,
          [sha256(token)],
        );
        api().invalidate();
        const response = await me(token);
        expectRefused(response, 401, 'invalid_session');
        expect(clearsCookie(response)).toBe(true);
      });

      it('past the absolute expiry: 401 invalid_session, cookie cleared', async () => {
        const token = await logIn('expired');
        await api().sql(
          `UPDATE auth_proxy_sessions SET expires_at = now() - interval '1 second' WHERE token_hash = $1`,
          [sha256(token)],
        );
        api().invalidate();
        const response = await me(token);
        expectRefused(response, 401, 'invalid_session');
        expect(clearsCookie(response)).toBe(true);
      });

      it('idle for the idle timeout (8 hours) and the minute the recorded last use may lag: 401 invalid_session; less is still alive', async () => {
        const token = await logIn('idle');
        const idleFor = async (seconds: number) => {
          // A request that found last seen a minute old wrote it off its own path; let that write land first.
          await new Promise((resolve) => setTimeout(resolve, 200));
          await api().sql(
            `UPDATE auth_proxy_sessions SET last_seen_at = now() - make_interval(secs => $2) WHERE token_hash = $1`,
            [sha256(token), seconds],
          );
          api().invalidate();
        };
        await idleFor(28_800 - 120);
        await alive(token, 'idle');
        // Recorded 8 h ago, the last use may have been up to a minute later (last seen is written once a minute).
        await idleFor(28_800 + 30);
        await alive(token, 'idle');
        await idleFor(28_800 + 61);
        const response = await me(token);
        expectRefused(response, 401, 'invalid_session');
        expect(clearsCookie(response)).toBe(true);
      });

      it("a disabled user's live session: 403 user_disabled", async () => {
        const token = await logIn('to-disable');
        await alive(token, 'to-disable');
        const [{ id }] = await api().sql(`SELECT id FROM auth_proxy_users WHERE username = 'to-disable'`);
        await request(api().app.getHttpServer())
          .post(`/admin/users/${id}/disable`)
          .set({ 'Remote-User': 'disabler', 'Remote-Groups': 'idp-admins' })
          .send({})
          .expect(200);
        expectRefused(await me(token), 403, 'user_disabled');
        // Headers of the disabled user with the cookie are refused too.
        expectRefused(
          await api().request('/me', [...as('to-disable', staff), withCookie(token)]),
          403,
          'user_disabled',
        );
      });
    });

    describe('mangled cookies: 401 invalid_session, never 500, cookie cleared; the real session lives on', () => {
      const mangled: [label: string, mangle: (token: string) => string][] = [
        ['one character changed', (t) => t.slice(0, 10) + (t[10] === 'A' ? 'B' : 'A') + t.slice(11)],
        [
          'the same bytes in non-canonical base64url (last character)',
          (t) => {
            const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
            const last = alphabet[alphabet.indexOf(t[42]!) ^ 1]!;
            const variant = t.slice(0, 42) + last;
            expect(Buffer.from(variant, 'base64url').equals(Buffer.from(t, 'base64url'))).toBe(true);
            return variant;
          },
        ],
        ['truncated by one', (t) => t.slice(0, 42)],
        ['truncated to half', (t) => t.slice(0, 21)],
        ['padded with =', (t) => `${t}=`],
        ['one character appended', (t) => `${t}A`],
        ['standard base64 instead of base64url', (t) => Buffer.from(t, 'base64url').toString('base64')],
        ['percent-encoded', (t) => encodeURIComponent(`${t}=`)],
        ['hex of the bytes', (t) => Buffer.from(t, 'base64url').toString('hex')],
        ['the stored hash itself', (t) => sha256(t)],
        ['empty', () => ''],
        ['null', () => 'null'],
        ['undefined', () => 'undefined'],
        ['a path', () => '../../etc/passwd'],
        ['JSON', () => '{"id":1}'],
        ['a lone quote', () => '"'],
        ['empty quotes', () => '""'],
        ['unbalanced quote', (t) => `"${t}`],
        ['trailing quote', (t) => `${t}"`],
        ['quoted with spaces inside', (t) => `" ${t} "`],
        ['huge (8000 characters of the token alphabet)', () => 'A'.repeat(8_000)],
      ];

      it.each(mangled)('%s', async (_label, mangle) => {
        const token = await logIn('mangled');
        const response = await me(mangle(token));
        expectRefused(response, 401, 'invalid_session');
        expect(clearsCookie(response)).toBe(true);
        await alive(token, 'mangled');
      });

      it('a cookie past the header size limit is refused by the parser (431), not 500', async () => {
        const response = await me('A'.repeat(20_000));
        expect(response.status).toBe(431);
      });

      it('the quoted form of a valid token (RFC 6265 DQUOTE) names the same session, never another user', async () => {
        const token = await logIn('quoted');
        await alive(`"${token}"`, 'quoted');
      });

      it('the token under another name, or smuggled inside another cookie, is no session', async () => {
        const token = await logIn('smuggled');
        for (const cookie of [
          `${DEFAULT_COOKIE.toLowerCase()}=${token}`,
          `trusted_header_session=${token}`,
          `other=${DEFAULT_COOKIE}=${token}`,
          `other="${DEFAULT_COOKIE}=${token}"`,
          `${DEFAULT_COOKIE}`,
        ]) {
          const response = await api().request('/me', [['Cookie', cookie]]);
          expectRefused(response, 401, 'missing_identity');
        }
      });

      it('two session cookies (one line, or two Cookie lines), even the same token twice: 401 invalid_session', async () => {
        const token = await logIn('doubled');
        const other = await logIn('doubled-other');
        const variants: Header[][] = [
          [['Cookie', `${DEFAULT_COOKIE}=${token}; ${DEFAULT_COOKIE}=${token}`]],
          [['Cookie', `${DEFAULT_COOKIE}=${token}; theme=dark; ${DEFAULT_COOKIE}=${other}`]],
          [withCookie(token), withCookie(token)],
          [withCookie(other), ['Cookie', 'theme=dark'], withCookie(token)],
          [withCookie(token), withCookie('garbage')],
        ];
        for (const headers of variants) {
          expectRefused(await api().request('/me', headers), 401, 'invalid_session');
          // With identity headers too: ambiguous, never resolved in anyone's favour.
          expectRefused(await api().request('/me', [...as('doubled', staff), ...headers]), 401, 'invalid_session');
        }
        expect(await sessionsOf('doubled')).toHaveLength(1);
        await alive(token, 'doubled');
        await alive(other, 'doubled-other');
      });
    });

    describe('cross-site requests (unsafe methods authenticated by the session or the headers)', () => {
      const echo = (headers: Header[]) => api().request('/probe/echo', headers, { method: 'POST' });

      it.each<[string, (port: number) => Header[]]>([
        ['Sec-Fetch-Site: cross-site', () => [['Sec-Fetch-Site', 'cross-site']]],
        ['Sec-Fetch-Site: same-site', () => [['Sec-Fetch-Site', 'same-site']]],
        ['Origin of another site', () => [['Origin', EVIL]]],
        ['Origin: null', () => [['Origin', 'null']]],
        [
          'Origin whose host only starts like this one',
          (port) => [['Origin', `http://127.0.0.1.evil.example:${port}`]],
        ],
        ['an allowed origin with another port', () => [['Origin', `${ALLOWED_ORIGIN}:8443`]]],
        [
          'Origin of this host but Sec-Fetch-Site: cross-site',
          (port) => [
            ['Origin', `http://127.0.0.1:${port}`],
            ['Sec-Fetch-Site', 'cross-site'],
          ],
        ],
        [
          'Sec-Fetch-Site sent twice (same-origin, cross-site)',
          () => [
            ['Sec-Fetch-Site', 'same-origin'],
            ['Sec-Fetch-Site', 'cross-site'],
          ],
        ],
      ])(
        'refuses a POST with a valid session and %s: 403 cross_site_request; the session lives on',
        async (_label, extra) => {
          const token = await logIn('csrf-victim');
          const response = await echo([withCookie(token), ...extra(api().port)]);
          expectRefused(response, 403, 'cross_site_request');
          await alive(token, 'csrf-victim');
        },
      );

      it.each<[string, (port: number) => Header[]]>([
        ['neither Sec-Fetch-Site nor Origin', () => []],
        ['Sec-Fetch-Site: same-origin', () => [['Sec-Fetch-Site', 'same-origin']]],
        ['Sec-Fetch-Site: none', () => [['Sec-Fetch-Site', 'none']]],
        ['Origin of this host', (port) => [['Origin', `http://127.0.0.1:${port}`]]],
        [
          'an allowed origin (with Sec-Fetch-Site: cross-site)',
          () => [
            ['Origin', ALLOWED_ORIGIN],
            ['Sec-Fetch-Site', 'cross-site'],
          ],
        ],
      ])('accepts a POST with a valid session and %s', async (_label, extra) => {
        const token = await logIn('csrf-ok');
        const response = await echo([withCookie(token), ...extra(api().port)]);
        expect({ status: response.status, username: response.body.username }).toEqual({
          status: 200,
          username: 'csrf-ok',
        });
      });

      it('refuses a cross-site POST authenticated by headers, and starts no session for it', async () => {
        const response = await echo([...as('csrf-headers', staff), ['Sec-Fetch-Site', 'cross-site']]);
        expectRefused(response, 403, 'cross_site_request');
        expect(setCookieLines(response)).toEqual([]);
        expect(await sessionsOf('csrf-headers')).toEqual([]);
      });

      it('covers PATCH and DELETE too (admin API by session); a cross-site GET passes', async () => {
        const token = await logIn('csrf-admin', 'idp-admins');
        const group = '/admin/groups/00000000-0000-4000-8000-000000000000';
        for (const method of ['PATCH', 'DELETE']) {
          const refused = await api().request(group, [withCookie(token), ['Sec-Fetch-Site', 'cross-site']], { method });
          expectRefused(refused, 403, 'cross_site_request');
        }
        // The same DELETE from this site reaches the handler (no such group).
        expectRefused(
          await api().request(group, [withCookie(token), ['Sec-Fetch-Site', 'same-origin']], { method: 'DELETE' }),
          404,
          'not_found',
        );
        const read = await api().request('/admin/groups', [withCookie(token), ['Sec-Fetch-Site', 'cross-site']]);
        expect(read.status).toBe(200);
      });

      it('an unauthenticated cross-site POST is simply not logged in (401)', async () => {
        expectRefused(await echo([['Sec-Fetch-Site', 'cross-site']]), 401, 'missing_identity');
      });
    });

    describe(`logout (POST /auth/logout -> ${LOGOUT_URL})`, () => {
      const logOut = (headers: Header[], extra: { method?: string; localAddress?: string; path?: string } = {}) =>
        api().request(extra.path ?? '/auth/logout', headers, { method: extra.method ?? 'POST', ...extra });

      it('ends the session: 303 to exactly the configured URL, cookie cleared, row revoked, audited', async () => {
        const token = await logIn('logout');
        const response = await logOut([withCookie(token), ['Sec-Fetch-Site', 'same-origin']]);
        expect(response.status).toBe(303);
        expect(response.headers.location).toBe(LOGOUT_URL);
        expect(response.headers['cache-control']).toBe('no-store');
        const lines = setCookieLines(response);
        expect(lines).toHaveLength(1);
        const cleared = parseSetCookie(lines[0]!);
        expect(cleared).toMatchObject({ name: DEFAULT_COOKIE, value: '' });
        expect(cleared.attributes).toEqual(expect.arrayContaining(['max-age=0', 'path=/', 'httponly', 'secure']));
        expect(await sessionOf(token)).toMatchObject({ revoked_reason: 'logout' });
        expect(await sessionOf(token)).not.toMatchObject({ revoked_at: null });
        const audit = await auditOf('session_revoked', 'logout');
        expect(audit).toHaveLength(1);
        expect(audit[0]).toMatchObject({ actor_type: 'user', actor: 'logout', details: { reason: 'logout' } });
        const after = await me(token);
        expectRefused(after, 401, 'invalid_session');
        expect(clearsCookie(after)).toBe(true);
        // A second logout with the dead cookie: the same answer, nothing more ended or audited.
        expect((await logOut([withCookie(token)])).status).toBe(303);
        expect(await auditOf('session_revoked', 'logout')).toHaveLength(1);
      });

      it('nothing in the request chooses the target (no open redirect)', async () => {
        const token = await logIn('redirect');
        const probes: [path: string, headers: Header[]][] = [
          [`/auth/logout?rd=${encodeURIComponent(EVIL)}`, []],
          [`/auth/logout?redirect=${encodeURIComponent('//evil.example')}`, []],
          [`/auth/logout?next=${encodeURIComponent(EVIL)}&url=${encodeURIComponent(EVIL)}`, []],
          ['/auth/logout', [['X-Forwarded-Host', 'evil.example']]],
          ['/auth/logout', [['X-Forwarded-Proto', 'javascript']]],
          ['/auth/logout', [['Referer', `${EVIL}/`]]],
        ];
        for (const [path, headers] of probes) {
          const response = await logOut([withCookie(token), ...headers], { path });
          expect({ path, status: response.status, location: response.headers.location }).toEqual({
            path,
            status: 303,
            location: LOGOUT_URL,
          });
        }
        // A Host of another site (a raw client cannot connect there, supertest sets the header).
        const viaHost = await request(api().app.getHttpServer())
          .post('/auth/logout?rd=https://evil.example')
          .set('Host', 'evil.example')
          .set('Cookie', `${DEFAULT_COOKIE}=${token}`);
        expect(viaHost.status).toBe(303);
        expect(viaHost.headers.location).toBe(LOGOUT_URL);
      });

      it("works as an HTML form's POST (application/x-www-form-urlencoded) from this site", async () => {
        const token = await logIn('form-logout');
        const response = await request(api().app.getHttpServer())
          .post('/auth/logout')
          .set('Cookie', `${DEFAULT_COOKIE}=${token}`)
          .set('Origin', `http://127.0.0.1:${api().port}`)
          .type('form')
          .send({ rd: EVIL });
        expect(response.status).toBe(303);
        expect(response.headers.location).toBe(LOGOUT_URL);
        expect(await sessionOf(token)).toMatchObject({ revoked_reason: 'logout' });
      });

      it.each(['GET', 'HEAD', 'PUT', 'PATCH', 'DELETE'])(
        '%s answers 405 with Allow: POST and ends nothing',
        async (method) => {
          const token = await logIn('logout-405');
          const response = await logOut([withCookie(token)], { method });
          expect(response.status).toBe(405);
          expect(response.headers.allow).toBe('POST');
          if (method !== 'HEAD') expect(response.body.statusCode).toBe(405);
          expect(clearsCookie(response)).toBe(false);
          await alive(token, 'logout-405');
        },
      );

      it.each<[string, Header[]]>([
        ['Sec-Fetch-Site: cross-site', [['Sec-Fetch-Site', 'cross-site']]],
        ['Sec-Fetch-Site: same-site', [['Sec-Fetch-Site', 'same-site']]],
        ['Origin of another site', [['Origin', EVIL]]],
        ['Origin: null', [['Origin', 'null']]],
      ])('from another site (%s): 403 cross_site_request, the session still alive', async (_label, headers) => {
        const token = await logIn('logout-csrf');
        const response = await logOut([withCookie(token), ...headers]);
        expectRefused(response, 403, 'cross_site_request');
        expect(response.headers.location).toBeUndefined();
        expect(clearsCookie(response)).toBe(false);
        expect(await sessionOf(token)).toMatchObject({ revoked_at: null });
        await alive(token, 'logout-csrf');
      });

      it('from an untrusted peer: ends nothing (the cookie is only a cookie there)', async () => {
        const token = await logIn('logout-untrusted');
        const response = await logOut([withCookie(token)], { localAddress: '127.0.0.2' });
        expect(response.status).toBe(303);
        expect(response.headers.location).toBe(LOGOUT_URL);
        expect(await sessionOf(token)).toMatchObject({ revoked_at: null });
        await alive(token, 'logout-untrusted');
      });

      it('without a cookie, or with a mangled or doubled one: 303 to the URL, never 500, ends nothing', async () => {
        const token = await logIn('logout-odd');
        for (const headers of [
          [],
          [withCookie('garbage')],
          [withCookie(wellFormedToken())],
          [withCookie(token), withCookie(token)],
        ]) {
          const response = await logOut(headers);
          expect({ status: response.status, location: response.headers.location }).toEqual({
            status: 303,
            location: LOGOUT_URL,
          });
        }
        await alive(token, 'logout-odd');
      });
    });
  });

  describe('Secure off, no logout URL, no cache (syncTtlSeconds 0), idle 120 s', () => {
    const options: TrustedHeaderOptions = {
      createUnknownUser: true,
      session: 'persistent',
      sessionCookieSecure: false,
      sessionIdleSeconds: 120,
      syncTtlSeconds: 0,
    };
    const app = useTestApp(adapter, options);
    const api = () => app.api;
    const NAME = 'trusted_header_session';

    async function logIn(username: string): Promise<string> {
      const response = await api().request('/me', as(username));
      expect(response.status).toBe(200);
      const tokens = issuedTokens(response, NAME);
      expect(tokens).toHaveLength(1);
      return tokens[0]!;
    }
    const me = (token: string) => api().request('/me', [withCookie(token, NAME)]);
    const lastSeenAgo = async (token: string, seconds: number) => {
      // A request that found last seen a minute old wrote it off its own path; let that write land first.
      await new Promise((resolve) => setTimeout(resolve, 200));
      await api().sql(
        `UPDATE auth_proxy_sessions SET last_seen_at = now() - make_interval(secs => $2) WHERE token_hash = $1`,
        [sha256(token), seconds],
      );
    };
    const secondsSinceLastSeen = async (token: string) =>
      Number(
        (
          await api().sql(
            `SELECT extract(epoch FROM now() - last_seen_at)::float8 AS ago FROM auth_proxy_sessions WHERE token_hash = $1`,
            [sha256(token)],
          )
        )[0].ago,
      );
    const touches = () =>
      api().queries.queries.filter((query) => /UPDATE auth_proxy_sessions SET last_seen_at/i.test(query));

    it('the cookie drops the __Host- prefix and Secure; the default name is not read', async () => {
      const response = await api().request('/me', as('insecure'));
      const lines = setCookieLines(response);
      expect(lines).toHaveLength(1);
      const cookie = parseSetCookie(lines[0]!);
      expect(cookie.name).toBe(NAME);
      expect([...cookie.attributes].sort()).toEqual(['httponly', 'max-age=604800', 'path=/', 'samesite=Lax']);
      expectRefused(await api().request('/me', [withCookie(cookie.value, DEFAULT_COOKIE)]), 401, 'missing_identity');
      expect((await me(cookie.value)).body.username).toBe('insecure');
    });

    it('logout without a URL answers 204 and clears the cookie', async () => {
      const token = await logIn('logout-204');
      const response = await api().request('/auth/logout', [withCookie(token, NAME)], { method: 'POST' });
      expect(response.status).toBe(204);
      expect(response.headers.location).toBeUndefined();
      expect(clearsCookie(response, NAME)).toBe(true);
      expectRefused(await me(token), 401, 'invalid_session');
    });

    it('without a cache a revocation applies on the very next request', async () => {
      const token = await logIn('no-cache');
      expect((await me(token)).status).toBe(200);
      await api().sql(
        `UPDATE auth_proxy_sessions SET revoked_at = now(), revoked_reason = 'admin' WHERE token_hash = $1`,
        [sha256(token)],
      );
      expectRefused(await me(token), 401, 'invalid_session');
    });

    it('writes last_seen_at once it is a minute old, and not again right after', async () => {
      const token = await logIn('touch');
      await lastSeenAgo(token, 90);
      api().queries.reset();
      expect((await me(token)).status).toBe(200);
      // The write is off the request's path: wait for it.
      for (let i = 0; i < 50 && touches().length === 0; i += 1) await new Promise((resolve) => setTimeout(resolve, 20));
      expect(touches()).toHaveLength(1);
      expect(await secondsSinceLastSeen(token)).toBeLessThan(5);
      api().queries.reset();
      expect((await me(token)).status).toBe(200);
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(touches()).toEqual([]);
    });

    it('ends a session idle for 120 s (and the minute its recorded last use may lag), without any cache to drop', async () => {
      const token = await logIn('idle-120');
      await lastSeenAgo(token, 170);
      expect((await me(token)).status).toBe(200);
      await lastSeenAgo(token, 181);
      expectRefused(await me(token), 401, 'invalid_session');
    });
  });

  describe('sessions off, no logout URL', () => {
    const app = useTestApp(
      adapter,
      { createUnknownUser: true, allowedOrigins: [ALLOWED_ORIGIN] },
      mapStaffToProbeGroup,
    );
    const api = () => app.api;
    const echo = (headers: Header[]) => api().request('/probe/echo', headers, { method: 'POST' });

    it('sets no cookie and reads none', async () => {
      const response = await api().request('/me', as('off-user', staff));
      expect(response.status).toBe(200);
      expect(setCookieLines(response)).toEqual([]);
      expectRefused(await api().request('/me', [withCookie(wellFormedToken())]), 401, 'missing_identity');
    });

    it('checks header-authenticated unsafe requests for another site too', async () => {
      const headers = as('off-csrf', staff);
      expectRefused(await echo([...headers, ['Sec-Fetch-Site', 'cross-site']]), 403, 'cross_site_request');
      expectRefused(await echo([...headers, ['Origin', EVIL]]), 403, 'cross_site_request');
      expectRefused(await echo([...headers, ['Origin', 'null']]), 403, 'cross_site_request');
      expect((await echo([...headers, ['Sec-Fetch-Site', 'same-origin']])).status).toBe(200);
      expect((await echo([...headers, ['Origin', ALLOWED_ORIGIN]])).status).toBe(200);
      expect((await echo(headers)).status).toBe(200);
    });

    it('has no logout route (404)', async () => {
      expect((await api().request('/auth/logout', [], { method: 'POST' })).status).toBe(404);
    });
  });

  describe('sessions off, a logout URL (a path), cross-site check off', () => {
    const app = useTestApp(
      adapter,
      { createUnknownUser: true, csrfCheck: false, logoutUrl: '/oauth2/sign_out' },
      mapStaffToProbeGroup,
    );
    const api = () => app.api;

    it('logout answers 303 to the proxy sign-out path and sets no cookie', async () => {
      const response = await api().request('/auth/logout?rd=//evil.example', [], { method: 'POST' });
      expect(response.status).toBe(303);
      expect(response.headers.location).toBe('/oauth2/sign_out');
      expect(setCookieLines(response)).toEqual([]);
    });

    it('AUTH_PROXY_CSRF_CHECK=false lets a cross-site POST through', async () => {
      const response = await api().request(
        '/probe/echo',
        [...as('no-check', staff), ['Sec-Fetch-Site', 'cross-site'], ['Origin', EVIL]],
        { method: 'POST' },
      );
      expect({ status: response.status, username: response.body.username }).toEqual({
        status: 200,
        username: 'no-check',
      });
    });
  });

  describeWithConcurrentDatabase('two instances (syncTtlSeconds 1)', () => {
    const options: TrustedHeaderOptions = { createUnknownUser: true, session: 'persistent', syncTtlSeconds: 1 };
    const first = useTestApp(adapter, options);
    let second: TestApp | undefined;
    beforeAll(async () => {
      second = await startTestApp(adapter, options, await first.database.options());
    });
    afterAll(async () => {
      await second?.close();
    });

    it('a logout on one instance ends the session on the other within the sync TTL', async () => {
      const login = await first.api.request('/me', as('roaming'));
      const [token] = issuedTokens(login);
      expect((await second!.request('/me', [withCookie(token!)])).body.username).toBe('roaming');
      const loggedOut = await first.api.request('/auth/logout', [withCookie(token!)], { method: 'POST' });
      expect(loggedOut.status).toBe(204);
      expectRefused(await first.api.request('/me', [withCookie(token!)]), 401, 'invalid_session');
      const started = Date.now();
      let status = 200;
      while (status === 200 && Date.now() - started < 3_000) {
        status = (await second!.request('/me', [withCookie(token!)])).status;
        if (status === 200) await new Promise((resolve) => setTimeout(resolve, 100));
      }
      expect(status).toBe(401);
      expect(Date.now() - started).toBeLessThan(2_000);
    });
  });
});
