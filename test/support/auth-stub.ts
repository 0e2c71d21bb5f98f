import { createServer, type Server, type ServerResponse } from 'node:http';

/** What the stand-in identity provider knows: session cookie -> identity headers it answers with. */
export const SESSIONS: Record<string, Record<string, string>> = {
  'bob-session': {
    'Remote-User': 'bob',
    'Remote-Groups': 'staff,finance',
    'Remote-Email': 'bob@example.org',
    'Remote-Name': 'Bob Builder',
  },
  // A user without groups, email or name. Like Authelia, the provider still sends every header, empty: what
  // the proxy forwards for them must be nothing, whatever the client sent.
  'carol-session': { 'Remote-User': 'carol', 'Remote-Groups': '', 'Remote-Email': '', 'Remote-Name': '' },
  // A provider that leaves the headers out altogether.
  'dave-session': { 'Remote-User': 'dave' },
};

/**
 * A small authentication service standing in for Authelia: it answers the proxy's auth sub-request with 200
 * and Remote-* headers for a known session cookie, 401 otherwise, on any path but its portal's two pages:
 * - `GET /login?rd=URL` lists the users to sign in as; `GET /login?user=bob&rd=URL` sets bob's cookie and
 *   sends the browser back to `rd` (Authelia's portal with a password form, minus the password);
 * - `GET /logout?rd=URL` clears the cookie and shows a "signed out" page with a link back to `rd` (the sign-out
 *   URL an application's logout sends the browser to).
 */
export async function startAuthStub(): Promise<{ port: number; requests: number; close(): Promise<void> }> {
  const state = { port: 0, requests: 0 };
  const server: Server = createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://stub');
    if (url.pathname === '/login' || url.pathname === '/logout') return portal(url, response);
    state.requests += 1;
    const cookies = Object.fromEntries(
      (request.headers.cookie ?? '').split(';').map((part) => part.trim().split('=') as [string, string]),
    );
    const identity = SESSIONS[cookies.session ?? ''];
    if (!identity) {
      response.writeHead(401, { 'Content-Type': 'text/plain' }).end('not logged in');
      return;
    }
    response.writeHead(200, identity).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  state.port = (server.address() as { port: number }).port;
  return {
    get port() {
      return state.port;
    },
    get requests() {
      return state.requests;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

const COOKIE_ATTRIBUTES = 'Path=/; HttpOnly; SameSite=Lax';

/** The portal's sign-in and sign-out pages. */
function portal(url: URL, response: ServerResponse): void {
  const back = returnAddress(url.searchParams.get('rd'));
  if (url.pathname === '/logout') {
    response.writeHead(200, {
      'Content-Type': 'text/html; charset=utf-8',
      'Set-Cookie': `session=; ${COOKIE_ATTRIBUTES}; Max-Age=0`,
    });
    response.end(
      page(
        'Signed out',
        `<h1>Signed out</h1><p>You have been signed out of the identity provider.</p>` +
          (back === null ? '' : `<p><a id="back" href="${escapeHtml(back)}">Back to the application</a></p>`),
      ),
    );
    return;
  }
  const user = url.searchParams.get('user');
  if (user !== null && SESSIONS[`${user}-session`] !== undefined) {
    const headers: Record<string, string> = { 'Set-Cookie': `session=${user}-session; ${COOKIE_ATTRIBUTES}` };
    if (back === null) {
      response.writeHead(200, { ...headers, 'Content-Type': 'text/html; charset=utf-8' });
      response.end(page('Signed in', `<h1>Signed in as ${escapeHtml(user)}</h1>`));
    } else {
      response.writeHead(302, { ...headers, Location: back }).end();
    }
    return;
  }
  const rd = back === null ? '' : `&rd=${encodeURIComponent(back)}`;
  const links = Object.keys(SESSIONS)
    .map((session) => session.replace(/-session$/, ''))
    .map(
      (name) =>
        `<li><a href="/login?user=${encodeURIComponent(name)}${escapeHtml(rd)}">Sign in as ${escapeHtml(name)}</a></li>`,
    )
    .join('');
  response.writeHead(user === null ? 200 : 401, { 'Content-Type': 'text/html; charset=utf-8' });
  response.end(page('Sign in', `<h1>Sign in</h1><p>Identity provider (test stand-in)</p><ul>${links}</ul>`));
}

/** Only back to an http(s) address on this machine: the portal is no open redirect, even in a test. */
function returnAddress(rd: string | null): string | null {
  if (rd === null) return null;
  try {
    const url = new URL(rd);
    return (url.protocol === 'http:' || url.protocol === 'https:') && url.hostname === '127.0.0.1' ? url.href : null;
  } catch {
    return null;
  }
}

function page(title: string, body: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${title}</title></head><body style="font:16px system-ui,sans-serif;margin:3rem">${body}</body></html>`;
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (character) => `&#${character.charCodeAt(0)};`);
}
