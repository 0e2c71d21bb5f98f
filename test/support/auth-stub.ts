import { createServer, type Server } from 'node:http';

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
 * and Remote-* headers for a known session cookie, 401 otherwise, on any path.
 */
export async function startAuthStub(): Promise<{ port: number; requests: number; close(): Promise<void> }> {
  const state = { port: 0, requests: 0 };
  const server: Server = createServer((request, response) => {
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
