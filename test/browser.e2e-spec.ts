import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { startAuthStub } from './support/auth-stub.js';
import { freePort } from './support/free-port.js';
import { proxyConfig, startNginx, type RunningProxy } from './support/proxies.js';
import { ADAPTERS, startTestApp, type TestApp } from './support/test-app.js';
import { createTestDatabase, type TestDatabase } from './support/test-database.js';

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = fileURLToPath(new URL('./artifacts/browser/', import.meta.url));

const installed = (binary: string) => spawnSync('sh', ['-c', `command -v ${binary}`]).status === 0;
const missing = [...(installed(CHROMIUM) ? [] : ['chromium']), ...(installed('nginx') ? [] : ['nginx'])];
if (missing.length > 0) {
  console.warn(
    `SKIPPED browser tests: ${missing.join(' and ')} not installed (apt-get install chromium nginx; .ci/run does)`,
  );
}
const describeWithBrowser = missing.length > 0 ? describe.skip : describe;

/**
 * docs/proxies/nginx.conf as Authelia's guide completes it for browsers: an unauthenticated request is sent to
 * the portal's sign-in page (error_page 401 =302), and the portal, on its own origin like auth.example.com, is
 * served by the same nginx.
 */
function nginxWithPortal(portalPort: number): string {
  const config = proxyConfig('nginx.conf');
  const withRedirect = config.replace(
    'auth_request /internal/authelia/authz;',
    `auth_request /internal/authelia/authz;
        error_page 401 =302 http://127.0.0.1:${portalPort}/login?rd=$scheme://$http_host$request_uri;`,
  );
  if (withRedirect === config) throw new Error('nginx.conf has no auth_request line');
  return `${withRedirect}
server {
    listen 127.0.0.1:${portalPort};
    location / {
        proxy_set_header Host $http_host;
        proxy_pass http://127.0.0.1:9091;
    }
}
`;
}

/** A page on a sibling port: same site as the app (cookies go along), another origin. */
async function startSiblingSite(target: string): Promise<{ url: string; close(): Promise<void> }> {
  const server: Server = createServer((_request, response) => {
    response.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
    response.end(
      `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Another site</title></head>` +
        `<body style="font:16px system-ui,sans-serif;margin:3rem"><h1>Another site on this host</h1>` +
        `<form method="post" action="${target}"><button id="attack" type="submit">Claim your prize</button></form>` +
        `</body></html>`,
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}/`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/**
 * A real browser through a real nginx with auth_request in front of the reference app in session mode: sign in at
 * the identity provider, see yourself on the app's page, press its logout button, land on the provider's
 * sign-out, come back and be asked to sign in again. Screenshots of each step go to test/artifacts/browser/.
 */
describeWithBrowser(
  `in Chromium behind nginx${missing.length > 0 ? ` [skipped: ${missing.join(', ')} not installed]` : ''}`,
  () => {
    let browser: Browser;

    beforeAll(async () => {
      mkdirSync(ARTIFACTS, { recursive: true });
      browser = await chromium.launch({
        executablePath: CHROMIUM,
        args: [
          '--no-sandbox',
          '--disable-gpu',
          '--disable-quic',
          '--no-first-run',
          '--disable-background-networking',
          '--disable-component-update',
          '--disable-sync',
        ],
      });
    });
    afterAll(async () => {
      await browser?.close();
    });

    describe.each(ADAPTERS)('the app on %s', (adapter) => {
      let database: TestDatabase;
      let auth: Awaited<ReturnType<typeof startAuthStub>>;
      let api: TestApp;
      let nginx: RunningProxy;
      let sibling: Awaited<ReturnType<typeof startSiblingSite>>;
      let context: BrowserContext;
      let page: Page;
      let appUrl: string;
      let portalUrl: string;
      let step = 0;

      const screenshot = async (name: string) => {
        step += 1;
        const file = `${adapter}-${String(step).padStart(2, '0')}-${name}.png`;
        await page.screenshot({ path: join(ARTIFACTS, file), fullPage: true });
      };
      const sessions = () =>
        api.sql<{ revoked_at: Date | null; revoked_reason: string | null; username: string }>(
          `SELECT s.revoked_at, s.revoked_reason, u.username
             FROM auth_proxy_sessions s JOIN auth_proxy_users u ON u.id = s.user_id ORDER BY s.created_at`,
        );

      beforeAll(async () => {
        database = await createTestDatabase();
        auth = await startAuthStub();
        // The app is told the sign-out URL, which leads back to the app through nginx: both ports are chosen first.
        const proxyPort = await freePort();
        let portalPort = await freePort();
        while (portalPort === proxyPort) portalPort = await freePort();
        appUrl = `http://127.0.0.1:${proxyPort}`;
        portalUrl = `http://127.0.0.1:${portalPort}`;
        api = await startTestApp(
          adapter,
          {
            trustedIps: ['127.0.0.1/32'],
            createUnknownUser: true,
            session: 'persistent',
            sessionCookieSecure: false, // plain HTTP in this test
            logoutUrl: `${portalUrl}/logout?rd=${encodeURIComponent(`${appUrl}/`)}`,
          },
          await database.options(),
        );
        nginx = await startNginx({ app: api.port, auth: auth.port }, nginxWithPortal(portalPort), proxyPort);
        sibling = await startSiblingSite(`${appUrl}/auth/logout`);
        context = await browser.newContext();
        page = await context.newPage();
        page.setDefaultTimeout(10_000);
      });
      afterAll(async () => {
        await context?.close();
        await sibling?.close();
        await nginx?.close();
        await api?.close();
        await auth?.close();
        await database?.close();
      });

      it("signs in at the provider and shows the user on the app's page, with a session", async () => {
        await page.goto(`${appUrl}/`);
        // nginx's auth request failed: the browser was sent to the provider's sign-in page.
        expect(page.url()).toBe(`${portalUrl}/login?rd=${appUrl}/`);
        await screenshot('sign-in');

        await page.getByRole('link', { name: 'Sign in as bob' }).click();
        await page.waitForURL(`${appUrl}/`);
        await expect(page.locator('#display-name').textContent()).resolves.toBe('Bob Builder');
        await expect(page.locator('#username').textContent()).resolves.toBe('bob');
        await expect(page.locator('#email').textContent()).resolves.toBe('bob@example.org');
        await expect(page.locator('#groups').textContent()).resolves.toBe('none'); // no local groups mapped
        await screenshot('logged-in');

        const cookies = await context.cookies(appUrl);
        expect(cookies.find((cookie) => cookie.name === 'trusted_header_session')).toMatchObject({
          httpOnly: true,
          sameSite: 'Lax',
          secure: false,
        });
        expect(await sessions()).toEqual([{ revoked_at: null, revoked_reason: null, username: 'bob' }]);
      });

      it('refuses a logout form on another origin of the same site, whose requests carry the cookies', async () => {
        await page.goto(sibling.url);
        await screenshot('other-site');
        const [refused] = await Promise.all([
          page.waitForResponse((response) => response.url() === `${appUrl}/auth/logout`),
          page.locator('#attack').click(),
        ]);
        expect((await refused.request().allHeaders())['sec-fetch-site']).toBe('same-site');
        expect(refused.status()).toBe(403);
        expect(await refused.json()).toMatchObject({ statusCode: 403, reason: 'cross_site_request' });
        await screenshot('other-site-refused');
        expect(await sessions()).toEqual([{ revoked_at: null, revoked_reason: null, username: 'bob' }]);

        await page.goto(`${appUrl}/`);
        await expect(page.locator('#display-name').textContent()).resolves.toBe('Bob Builder');
      });

      it("logs out with the page's button: session revoked, cookie gone, on to the provider's sign-out", async () => {
        const sessionCookie = (await context.cookies(appUrl)).find(
          (cookie) => cookie.name === 'trusted_header_session',
        );
        expect(sessionCookie).toBeDefined();

        const [logout] = await Promise.all([
          page.waitForResponse((response) => response.url() === `${appUrl}/auth/logout`),
          page.getByRole('button', { name: 'Log out' }).click(),
        ]);
        // The browser says the form is this origin's own, so the cross-site check lets it through.
        expect(logout.request().method()).toBe('POST');
        expect((await logout.request().allHeaders())['sec-fetch-site']).toBe('same-origin');
        expect(logout.status()).toBe(303);
        // The page's form-action allows the 303 to the provider's origin; a stricter policy would stop it here.
        await page.waitForURL(`${portalUrl}/logout?rd=${encodeURIComponent(`${appUrl}/`)}`);
        await expect(page.locator('h1').textContent()).resolves.toBe('Signed out');
        await screenshot('signed-out');

        const rows = await sessions();
        expect(rows).toEqual([{ revoked_at: expect.any(Date), revoked_reason: 'logout', username: 'bob' }]);
        expect((await context.cookies(appUrl)).map((cookie) => cookie.name)).not.toContain('trusted_header_session');
        // The ended session's token is worth nothing, even replayed from the trusted proxy's address.
        const replayed = await api.request('/', [['Cookie', `${sessionCookie!.name}=${sessionCookie!.value}`]]);
        expect(replayed.status).toBe(200);
        expect(replayed.text).toContain('<h1>Not logged in</h1>');
      });

      it('comes back to the app and is asked to sign in again', async () => {
        await page.getByRole('link', { name: 'Back to the application' }).click();
        await page.waitForURL(`${portalUrl}/login?rd=${appUrl}/`);
        await expect(page.locator('h1').textContent()).resolves.toBe('Sign in');
        await screenshot('sign-in-again');
        // Neither the provider's cookie nor the app's session is left in the browser.
        expect(await context.cookies(appUrl)).toEqual([]);
      });
    });
  },
);
