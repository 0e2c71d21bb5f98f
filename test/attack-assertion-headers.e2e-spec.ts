import { SignJWT } from 'jose';
import type { TrustedHeaderOptions } from 'nestjs-trusted-header';
import type { HttpAdapterName } from '../apps/reference-app/src/config/app-config.js';
import { startHeaderEchoApp } from './support/header-echo.js';
import { signingKey, startKeyServer, type KeyServer, type SigningKey } from './support/key-server.js';
import { ADAPTERS, type TestApp } from './support/test-app.js';
import { createTestDatabase, type TestDatabase } from './support/test-database.js';

/**
 * A signed assertion held to what identity headers are held to: a Connection header naming it (THREATS 2, the
 * hop-by-hop strip trick) and a groups claim whose list is longer than the limit (THREATS 3, 7: a list that was
 * cut is a refusal, never a resolution).
 */
const ROUTE = 'app.example.com';
const now = () => Math.floor(Date.now() / 1000);

const token = (key: SigningKey, claims: Record<string, unknown>) =>
  new SignJWT({ iss: ROUTE, aud: ROUTE, iat: now(), exp: now() + 300, ...claims })
    .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'JWT' })
    .sign(key.privateKey);

describe.each(ADAPTERS)('attack: signed assertions beside header tricks (%s)', (adapter: HttpAdapterName) => {
  let database: TestDatabase;
  let server: KeyServer;
  let key: SigningKey;
  let api: TestApp;

  beforeAll(async () => {
    key = await signingKey('ES256', `attack-${adapter}`);
    server = await startKeyServer([key]);
    database = await createTestDatabase();
    const options: TrustedHeaderOptions = {
      preset: 'pomerium',
      assertion: { issuer: ROUTE, audience: ROUTE, jwksUrl: server.jwksUrl },
      createUnknownUser: true,
      maxGroups: 3,
    };
    api = await startHeaderEchoApp(adapter, options, await database.options());
  });
  afterAll(async () => {
    await api?.close();
    await server?.close();
    await database?.close();
  });

  const rows = async (username: string) =>
    Number((await api.sql(`SELECT count(*)::int AS n FROM auth_proxy_users WHERE username = $1`, [username]))[0].n);

  it('refuses a Connection header naming the assertion header (400 hop_by_hop_header), as for identity headers', async () => {
    const signed = await token(key, { sub: 'hop-1', email: `hop-${adapter}@example.com` });
    for (const connection of [
      'X-Pomerium-Jwt-Assertion',
      'keep-alive, x-pomerium-jwt-assertion',
      'X_Pomerium_Jwt_Assertion',
    ]) {
      const response = await api.request('/me', [
        ['X-Pomerium-Jwt-Assertion', signed],
        ['Connection', connection],
      ]);
      expect({ connection, status: response.status, reason: response.body?.reason }).toEqual({
        connection,
        status: 400,
        reason: 'hop_by_hop_header',
      });
    }
    expect(await rows(`hop-${adapter}@example.com`)).toBe(0);
  });

  it('never drops a group the token asserts: a groups claim padded with repeats past the limit is not cut short', async () => {
    const signed = await token(key, {
      sub: 'pad-1',
      email: `pad-${adapter}@example.com`,
      // Three distinct groups: within the limit of 3. The repeats come first.
      groups: ['staff', 'staff', 'staff', 'staff', 'on-call', 'blocked'],
    });
    const response = await api.request('/me', [['X-Pomerium-Jwt-Assertion', signed]]);
    // Either the whole list (as the same groups in a header would give) or a refusal; never a shortened list.
    if (response.status === 200) {
      expect([...response.body.externalGroups].sort()).toEqual(['blocked', 'on-call', 'staff']);
    } else {
      expect({ status: response.status, reason: response.body?.reason }).toEqual({
        status: 400,
        reason: 'too_many_groups',
      });
    }
  });
});
