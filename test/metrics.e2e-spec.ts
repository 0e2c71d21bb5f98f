import type { TrustedHeaderOptions } from 'nestjs-trusted-header';
import type { RawResponse } from './support/raw-request.js';
import { ADAPTERS, useTestApp, type TestApp } from './support/test-app.js';

/**
 * GET /metrics of the reference app over both adapters: the library's counters move with what happens (logins,
 * refusals by reason, cache lookups, syncs, sessions), and the exposition names no user, address or token.
 *
 * The MeterProvider is process-wide: both apps of this file count into the same instruments (each Jest file runs
 * in a sandbox of its own, so other files do not). Every assertion is therefore on the difference between two
 * scrapes around the requests of one test.
 */

const COOKIE = '__Host-trusted_header_session';
const UNTRUSTED_PEER = '127.0.0.2';

/** The samples of a Prometheus text exposition, by series (`name{labels}`, labels sorted, scope labels dropped). */
function parseExposition(text: string): Map<string, number> {
  const samples = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (match === null) throw new Error(`not an exposition line: ${JSON.stringify(line)}`);
    const labels = (match[2] ?? '')
      .split(/,(?=[a-zA-Z_]+=")/)
      .filter((label) => label !== '' && !label.startsWith('otel_scope_'))
      .sort();
    const key = `${match[1]}{${labels.join(',')}}`;
    samples.set(key, (samples.get(key) ?? 0) + Number(match[3]));
  }
  return samples;
}

/** A series key as parseExposition writes it. */
function series(name: string, labels: Record<string, string> = {}): string {
  const parts = Object.entries(labels)
    .map(([key, value]) => `${key}="${value}"`)
    .sort();
  return `${name}{${parts.join(',')}}`;
}

async function scrape(api: TestApp): Promise<{ response: RawResponse; samples: Map<string, number> }> {
  const response = await api.request('/metrics');
  expect(response.status).toBe(200);
  return { response, samples: parseExposition(response.text) };
}

/** How much each series grew between two scrapes. */
function growth(before: Map<string, number>, after: Map<string, number>): (key: string) => number {
  return (key) => (after.get(key) ?? 0) - (before.get(key) ?? 0);
}

const issuedToken = (response: RawResponse): string | undefined =>
  response.headerLines
    .filter(([name, value]) => name === 'set-cookie' && value.startsWith(`${COOKIE}=`))
    .map(([, value]) => value.slice(COOKIE.length + 1).split(';')[0]!)
    .find((value) => value !== '');

describe.each(ADAPTERS)('GET /metrics (%s)', (adapter) => {
  const options: TrustedHeaderOptions = { createUnknownUser: true, session: 'persistent', adminGroups: ['idp-admins'] };
  const app = useTestApp(adapter, options);
  const api = () => app.api;
  const user = `metrics-user-${adapter}`;

  it('is public text/plain in the Prometheus format and lists the instruments', async () => {
    const { response } = await scrape(api());
    expect(response.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    // Counters appear with their first count; the names are the contract, so check them once something counted.
    await api().request('/me', [['Remote-User', `${user}-names`]]);
    const { response: after } = await scrape(api());
    expect(after.text).toContain('# TYPE trusted_header_authentications_total counter');
    expect(after.text).toContain('# TYPE trusted_header_identity_cache_lookups_total counter');
    expect(after.text).toContain('# TYPE trusted_header_sync_duration histogram');
    expect(after.text).toContain('# TYPE trusted_header_sessions_total counter');
    expect(after.text).toContain('otel_scope_name="nestjs-trusted-header"');
  });

  it('counts logins, cache lookups, syncs, sessions and refusals by reason', async () => {
    const { samples: before } = await scrape(api());

    const login = await api().request('/me', [['Remote-User', user]]);
    expect(login.status).toBe(200);
    const token = issuedToken(login);
    expect(token).toBeDefined();
    // The same headers and the session's cookie: the cached user, the session goes on.
    expect(
      (
        await api().request('/me', [
          ['Remote-User', user],
          ['Cookie', `${COOKIE}=${token}`],
        ])
      ).status,
    ).toBe(200);
    // The cookie alone: the session decides.
    expect((await api().request('/me', [['Cookie', `${COOKIE}=${token}`]])).status).toBe(200);
    // An untrusted peer's identity headers, then its session cookie.
    const untrusted = await api().request('/me', [['Remote-User', user]], { localAddress: UNTRUSTED_PEER });
    expect(untrusted.body.reason).toBe('untrusted_proxy');
    const stolen = await api().request('/me', [['Cookie', `${COOKIE}=${token}`]], { localAddress: UNTRUSTED_PEER });
    expect(stolen.body.reason).toBe('untrusted_proxy');
    // Two user headers from the trusted proxy.
    const doubled = await api().request('/me', [
      ['Remote-User', user],
      ['Remote-User', 'admin'],
    ]);
    expect(doubled.body.reason).toBe('duplicate_header');
    // Logging out ends the session.
    const logout = await api().request('/auth/logout', [['Cookie', `${COOKIE}=${token}`]], { method: 'POST' });
    expect(logout.status).toBe(204);

    const { samples: after } = await scrape(api());
    const grew = growth(before, after);
    const authentications = (labels: Record<string, string>) =>
      grew(series('trusted_header_authentications_total', labels));
    const sessions = (labels: Record<string, string>) => grew(series('trusted_header_sessions_total', labels));

    expect(authentications({ outcome: 'success' })).toBe(3);
    expect(authentications({ outcome: 'rejected', reason: 'untrusted_proxy' })).toBe(2);
    expect(authentications({ outcome: 'rejected', reason: 'duplicate_header' })).toBe(1);
    expect(grew(series('trusted_header_identity_cache_lookups_total', { result: 'miss' }))).toBe(1);
    expect(grew(series('trusted_header_identity_cache_lookups_total', { result: 'hit' }))).toBe(1);
    expect(grew(series('trusted_header_sync_duration_count', { result: 'written' }))).toBe(1);
    expect(grew(series('trusted_header_sync_duration_bucket', { result: 'written', le: '+Inf' }))).toBe(1);
    expect(sessions({ outcome: 'created' })).toBe(1);
    expect(sessions({ outcome: 'resumed' })).toBe(2);
    expect(sessions({ outcome: 'refused', reason: 'untrusted_proxy' })).toBe(1);
    expect(sessions({ outcome: 'revoked', reason: 'logout' })).toBe(1);
  });

  it('counts a session cookie that names no session as refused invalid_session', async () => {
    const { samples: before } = await scrape(api());
    const response = await api().request('/me', [['Cookie', `${COOKIE}=${'A'.repeat(43)}`]]);
    expect(response.body.reason).toBe('invalid_session');
    const { samples: after } = await scrape(api());
    const grew = growth(before, after);
    expect(grew(series('trusted_header_sessions_total', { outcome: 'refused', reason: 'invalid_session' }))).toBe(1);
    expect(
      grew(series('trusted_header_authentications_total', { outcome: 'rejected', reason: 'invalid_session' })),
    ).toBe(1);
  });

  it('counts sessions an admin ends, all at once, as revoked admin', async () => {
    const target = `metrics-revoked-${adapter}`;
    for (let i = 0; i < 2; i++) expect((await api().request('/me', [['Remote-User', target]])).status).toBe(200);
    const [{ id }] = await api().sql(`SELECT id FROM auth_proxy_users WHERE username = $1`, [target]);
    const { samples: before } = await scrape(api());
    const admin: [string, string][] = [
      ['Remote-User', `metrics-admin-${adapter}`],
      ['Remote-Groups', 'idp-admins'],
      ['Sec-Fetch-Site', 'same-origin'],
    ];
    const revoked = await api().request(`/admin/users/${id}/sessions`, admin, { method: 'DELETE' });
    expect(revoked.body).toEqual({ revoked: 2 });
    const { samples: after } = await scrape(api());
    expect(
      growth(before, after)(series('trusted_header_sessions_total', { outcome: 'revoked', reason: 'admin' })),
    ).toBe(2);
  });

  it('names no user, peer address, token or header value', async () => {
    const secretish = `metrics-private-${adapter}`;
    const login = await api().request('/me', [
      ['Remote-User', secretish],
      ['Remote-Email', `${secretish}@example.com`],
      ['Remote-Name', 'Private Person'],
      ['Remote-Groups', 'private-group'],
    ]);
    const token = issuedToken(login)!;
    await api().request('/me', [['Remote-User', secretish]], { localAddress: UNTRUSTED_PEER });
    await api().request('/me', [['Remote-User', 'bad user name\u0000']]);
    const { response } = await scrape(api());
    for (const needle of [secretish, 'example.com', 'Private Person', 'private-group', token, 'bad user', '127.0.0']) {
      expect(response.text).not.toContain(needle);
    }
    expect(response.text).not.toMatch(/\b\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}\b/);
    expect(response.text).not.toMatch(/::1\b/);
  });
});
