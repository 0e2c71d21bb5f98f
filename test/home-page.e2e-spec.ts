import { ADAPTERS, useTestApp, type TestApp } from './support/test-app.js';

/** What the provider lets a user type as their name, passed on by the proxy. */
const HOSTILE_NAME = `<script>alert("name")</script> & 'Bob'`;
const HOSTILE_NAME_ESCAPED = '&lt;script&gt;alert(&quot;name&quot;)&lt;/script&gt; &amp; &#39;Bob&#39;';
/** A local group an admin named carelessly. */
const HOSTILE_GROUP = `<img src=x onerror=alert(1)>`;
const HOSTILE_GROUP_ESCAPED = '&lt;img src=x onerror=alert(1)&gt;';

const bob: [string, string][] = [
  ['Remote-User', 'bob'],
  ['Remote-Name', HOSTILE_NAME],
  ['Remote-Email', 'bob@example.org'],
  ['Remote-Groups', 'staff'],
];

/** The reference app's GET /: who is logged in and a logout button, over both adapters. */
describe.each(ADAPTERS)('home page (%s)', (adapter) => {
  describe('without sessions or a logout URL', () => {
    const context = useTestApp(adapter, { createUnknownUser: true, adminGroups: ['idp-admins'] }, async (api) => {
      await adminPost(api, '/admin/groups', { name: HOSTILE_GROUP });
      await adminPost(api, '/admin/group-mappings', { externalGroup: 'staff', group: HOSTILE_GROUP });
    });

    it('shows the logged-in user with every value escaped, and no logout form when there is no logout', async () => {
      const page = await context.api.request('/', bob);
      expect(page.status).toBe(200);
      expect(page.text).toContain(`Logged in as <span id="display-name">${HOSTILE_NAME_ESCAPED}</span>`);
      expect(page.text).toContain('<dd id="username">bob</dd>');
      expect(page.text).toContain('<dd id="email">bob@example.org</dd>');
      expect(page.text).toContain(`<li>${HOSTILE_GROUP_ESCAPED}</li>`);
      expect(page.text).not.toMatch(/<script|<img/i);
      expect(page.text).not.toContain('<form');
      expect(page.text).toContain('sign out at the authenticating proxy');
    });

    it('shows the username when no display name was ever asserted, and "none" for no groups', async () => {
      const page = await context.api.request('/', [['Remote-User', 'carol']]);
      expect(page.status).toBe(200);
      expect(page.text).toContain('Logged in as <span id="display-name">carol</span>');
      expect(page.text).toContain('<dd id="groups"><span class="muted">none</span></dd>');
    });

    it('answers "Not logged in" without identity, and to a peer whose identity headers are not trusted', async () => {
      for (const response of [
        await context.api.request('/'),
        await context.api.request('/', bob, { localAddress: '127.0.0.2' }),
      ]) {
        expect(response.status).toBe(200);
        expect(response.text).toContain('<h1>Not logged in</h1>');
        expect(response.text).not.toContain('bob');
        expect(response.text).not.toContain('<form');
        expect(response.headers['set-cookie']).toBeUndefined();
      }
    });

    it('answers a malformed identity as every route does: the JSON error, not a page', async () => {
      const response = await context.api.request('/', [...bob, ['Remote_User', 'admin']]);
      expect(response.status).toBe(400);
      expect(response.body).toMatchObject({ statusCode: 400, reason: 'header_twin' });
    });

    it('sends HTML with a strict policy, uncached, not sniffed; form-action is the page itself', async () => {
      for (const response of [await context.api.request('/'), await context.api.request('/', bob)]) {
        expect(response.headers['content-type']).toBe('text/html; charset=utf-8');
        expect(response.headers['cache-control']).toBe('no-store');
        expect(response.headers['x-content-type-options']).toBe('nosniff');
        const policy = directives(response.headers['content-security-policy']);
        expect(policy.get('default-src')).toBe("'none'");
        expect(policy.get('style-src')).toMatch(/^'sha256-[A-Za-z0-9+/]{43}='$/);
        expect(policy.has('script-src')).toBe(false); // default-src 'none': no script at all
        expect(policy.get('form-action')).toBe("'self'");
        expect(policy.get('frame-ancestors')).toBe("'none'");
        expect(policy.get('base-uri')).toBe("'none'");
      }
    });

    // The document is built from the controllers, the same on both adapters; the test app serves /docs on
    // Express only (see test-app.ts), so it is checked there.
    if (adapter === 'express') {
      it('is not in the OpenAPI document', async () => {
        const document = await context.api.request('/docs/openapi.json');
        expect(Object.keys(document.body.paths)).toContain('/me');
        expect(Object.keys(document.body.paths)).not.toContain('/');
      });
    }
  });

  describe('with persistent sessions and a logout URL on another origin', () => {
    const context = useTestApp(adapter, {
      createUnknownUser: true,
      session: 'persistent',
      sessionCookieSecure: false,
      logoutUrl: 'https://auth.example.com:8443/logout?rd=https%3A%2F%2Fapp.example.com%2F',
    });

    it('shows a logout form posting to the logout path; form-action allows the sign-out origin', async () => {
      const page = await context.api.request('/', bob);
      expect(page.status).toBe(200);
      expect(page.text).toContain(
        '<form method="post" action="/auth/logout"><button type="submit">Log out</button></form>',
      );
      const policy = directives(page.headers['content-security-policy']);
      expect(policy.get('form-action')).toBe("'self' https://auth.example.com:8443");
    });

    it('starts a session, shows its user without headers, and "Not logged in" once logged out', async () => {
      const login = await context.api.request('/', bob);
      const cookie = /^(trusted_header_session=[A-Za-z0-9_-]{43});/.exec(login.headers['set-cookie'] ?? '')?.[1];
      expect(cookie).toBeDefined();

      const later = await context.api.request('/', [['Cookie', cookie!]]);
      expect(later.status).toBe(200);
      expect(later.text).toContain(HOSTILE_NAME_ESCAPED);
      expect(later.headers['set-cookie']).toBeUndefined(); // the session goes on: no new cookie

      const logout = await context.api.request('/auth/logout', [['Cookie', cookie!]], { method: 'POST' });
      expect(logout.status).toBe(303);
      expect(logout.headers.location).toBe('https://auth.example.com:8443/logout?rd=https%3A%2F%2Fapp.example.com%2F');

      const after = await context.api.request('/', [['Cookie', cookie!]]);
      expect(after.status).toBe(200);
      expect(after.text).toContain('<h1>Not logged in</h1>');
      expect(after.text).not.toContain('Bob');
      // The ended session's cookie is cleared.
      expect(after.headers['set-cookie']).toMatch(/^trusted_header_session=;.*Max-Age=0/);
    });
  });
});

/** CSP directives by name. */
function directives(policy: string | undefined): Map<string, string> {
  expect(policy).toBeDefined();
  return new Map(
    policy!.split(';').map((directive) => {
      const [name, ...values] = directive.trim().split(/\s+/);
      return [name!, values.join(' ')];
    }),
  );
}

/** An admin API call from the trusted loopback, as the proxy would send it for an admin of the provider. */
async function adminPost(api: TestApp, path: string, body: unknown): Promise<void> {
  const response = await fetch(`http://127.0.0.1:${api.port}${path}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'Remote-User': 'root', 'Remote-Groups': 'idp-admins' },
    body: JSON.stringify(body),
  });
  if (response.status !== 201) throw new Error(`${path}: ${response.status} ${await response.text()}`);
}
