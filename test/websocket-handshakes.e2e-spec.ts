import type { INestApplication } from '@nestjs/common';
import { WsAdapter } from '@nestjs/platform-ws';
import { WebSocketGateway, type OnGatewayConnection } from '@nestjs/websockets';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { TrustedHeaderStrategy } from 'nestjs-trusted-header';
import { Server as SocketIoServer } from 'socket.io';
import { WebSocket, WebSocketServer } from 'ws';
import { rawRequest } from './support/raw-request.js';
import { identityHeadersOf, type SeenHeaders } from './support/request-hooks.js';
import { ADAPTERS, startTestApp, useTestApp, type TestApp } from './support/test-app.js';
import { createTestDatabase, type TestDatabase } from './support/test-database.js';

/**
 * THREATS 1 for requests that never reach the adapter: Node hands a WebSocket handshake (a request with
 * `Upgrade: websocket`) to the server's `upgrade` listeners, not to the request path where the library removes
 * an untrusted peer's identity headers. A gateway's `handleConnection` gets that request: it must not find a
 * `Remote-User` there that the proxy did not send. Nor must socket.io's, whose engine takes the server's
 * `request` listeners over and serves its HTTP long-polling handshake itself, ahead of the adapter. Real parts:
 * Nest's WsAdapter (@nestjs/platform-ws) with a gateway, a `ws` server and a socket.io server attached to the
 * same HTTP server, and clients from a trusted (127.0.0.1) and an untrusted (127.0.0.2) address.
 */

const seenByGateway: SeenHeaders[] = [];
/** Who the library says connected, as docs/how-it-works.md tells a gateway to ask: a username or a reason. */
const resolvedByGateway: string[] = [];

@WebSocketGateway({ path: '/ws' })
class HandshakeGateway implements OnGatewayConnection {
  constructor(private readonly strategy: TrustedHeaderStrategy) {}

  async handleConnection(_client: WebSocket, request: IncomingMessage): Promise<void> {
    seenByGateway.push(identityHeadersOf(request));
    try {
      resolvedByGateway.push((await this.strategy.resolveUser(request)).username);
    } catch (error) {
      resolvedByGateway.push((error as { getResponse(): { reason: string } }).getResponse().reason);
    }
  }
}

const FORGED = {
  'Remote-User': 'admin',
  'Remote-Groups': 'admins',
  Remote_Email: 'admin@example.org',
};

/** Opens a WebSocket from `localAddress` with the forged identity headers, and closes it once it is open. */
function handshake(port: number, path: string, localAddress: string): Promise<'open' | 'refused'> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(`ws://127.0.0.1:${port}${path}`, { localAddress, headers: FORGED });
    socket.once('open', () => {
      socket.close();
      resolve('open');
    });
    socket.once('unexpected-response', () => resolve('refused'));
    socket.once('error', (error: NodeJS.ErrnoException) =>
      error.code === 'ECONNRESET' || /socket hang up/.test(error.message) ? resolve('refused') : reject(error),
    );
  });
}

describe.each(ADAPTERS)('WebSocket handshakes (%s)', (adapter) => {
  let database: TestDatabase;
  let api: TestApp;

  beforeAll(async () => {
    database = await createTestDatabase();
    api = await startTestApp(
      adapter,
      { createUnknownUser: true },
      await database.options(),
      '127.0.0.1',
      (app: INestApplication) => {
        app.useWebSocketAdapter(new WsAdapter(app));
      },
      [HandshakeGateway],
    );
  });
  afterAll(async () => {
    await api?.close();
    await database?.close();
  });

  it("a gateway never sees an untrusted peer's identity headers or their twins; the peer is warned about", async () => {
    seenByGateway.length = 0;
    const warnings = api.logs.matching('warn', /untrusted_proxy: peer 127\.0\.0\.2/).length;
    expect(await handshake(api.port, '/ws', '127.0.0.2')).toBe('open');
    expect(seenByGateway).toEqual([{ headers: [], rawHeaders: [] }]);
    expect(api.logs.matching('warn', /untrusted_proxy: peer 127\.0\.0\.2/).length).toBeGreaterThan(warnings);
  });

  it('asked through the strategy, the gateway gets what HTTP gets: the user, or the refusal of a duplicate', async () => {
    resolvedByGateway.length = 0;
    const open = (headers: Record<string, string | string[]>, localAddress: string) =>
      new Promise<void>((resolve, reject) => {
        const socket = new WebSocket(`ws://127.0.0.1:${api.port}/ws`, { localAddress, headers });
        socket.once('open', () => {
          socket.close();
          resolve();
        });
        socket.once('error', reject);
      });
    await open({ 'Remote-User': 'ws-alice' }, '127.0.0.1');
    await open({ 'Remote-User': ['ws-alice', 'admin'] }, '127.0.0.1');
    await open({ 'Remote-User': 'admin' }, '127.0.0.2');
    for (let i = 0; i < 100 && resolvedByGateway.length < 3; i += 1) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    // The first login writes the user, so the three answers may come in any order.
    expect([...resolvedByGateway].sort()).toEqual(['duplicate_header', 'untrusted_proxy', 'ws-alice']);
  });

  it("a trusted proxy's identity headers reach the gateway", async () => {
    seenByGateway.length = 0;
    expect(await handshake(api.port, '/ws', '127.0.0.1')).toBe('open');
    expect(seenByGateway).toEqual([
      {
        headers: ['remote-user', 'remote-groups', 'remote_email'],
        rawHeaders: ['Remote-User', 'Remote-Groups', 'Remote_Email'],
      },
    ]);
  });

  it('an upgrade request the gateway does not serve is still answered, not left open', async () => {
    expect(await handshake(api.port, '/not-a-gateway', '127.0.0.2')).toBe('refused');
  });
});

describe.each(ADAPTERS)('upgrade requests without any WebSocket listener (%s)', (adapter) => {
  const app = useTestApp(adapter, { createUnknownUser: true });
  const api = () => app.api;

  it('the library adds no upgrade listener of its own: Node answers them on the request path, as before', async () => {
    expect(api().app.getHttpServer().listenerCount('upgrade')).toBe(0);
    const response = await api().request(
      '/me',
      [
        ['Upgrade', 'websocket'],
        ['Remote-User', 'admin'],
      ],
      { localAddress: '127.0.0.2' },
    );
    expect({ status: response.status, reason: response.body?.reason }).toEqual({
      status: 401,
      reason: 'untrusted_proxy',
    });
  });

  it('a ws server attached to the HTTP server after the start is covered; once it closes, nothing of it is left', async () => {
    const seen: SeenHeaders[] = [];
    const server = new WebSocketServer({ server: api().app.getHttpServer(), path: '/raw' });
    server.on('connection', (_socket, request) => seen.push(identityHeadersOf(request)));
    try {
      expect(await handshake(api().port, '/raw', '127.0.0.2')).toBe('open');
      expect(await handshake(api().port, '/raw', '127.0.0.1')).toBe('open');
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
    // The library added none: with the ws server's gone, an upgrade request is an ordinary request again.
    expect(api().app.getHttpServer().listenerCount('upgrade')).toBe(0);
    expect((await api().request('/me', [['Upgrade', 'websocket']], { localAddress: '127.0.0.2' })).status).toBe(401);
    expect(seen).toEqual([
      { headers: [], rawHeaders: [] },
      {
        headers: ['remote-user', 'remote-groups', 'remote_email'],
        rawHeaders: ['Remote-User', 'Remote-Groups', 'Remote_Email'],
      },
    ]);
  });

  it('a checkContinue listener (Expect: 100-continue), which Node calls instead of the request path, sees none', async () => {
    const server = api().app.getHttpServer();
    const seen: SeenHeaders[] = [];
    const listener = (request: IncomingMessage, response: ServerResponse) => {
      seen.push(identityHeadersOf(request));
      response.end('ok');
    };
    server.on('checkContinue', listener);
    try {
      const response = await api().request(
        '/me',
        [
          ['Expect', '100-continue'],
          ['Remote-User', 'admin'],
          ['Remote_Groups', 'admins'],
        ],
        { localAddress: '127.0.0.2' },
      );
      expect(response.text).toContain('ok');
    } finally {
      server.off('checkContinue', listener);
    }
    expect(seen).toEqual([{ headers: [], rawHeaders: [] }]);
  });

  // Last: closing the socket.io server closes the HTTP server it was attached to.
  it("socket.io's long-polling and WebSocket handshakes from an untrusted peer carry no identity headers", async () => {
    const io = new SocketIoServer(api().app.getHttpServer());
    const seen: string[][] = [];
    io.on('connection', (socket) =>
      seen.push(Object.keys(socket.handshake.headers).filter((name) => /remote/i.test(name))),
    );
    const forged = Object.entries(FORGED);
    const untrusted = { localAddress: '127.0.0.2' };
    try {
      const open = await api().request('/socket.io/?EIO=4&transport=polling', forged, untrusted);
      expect(open.status).toBe(200);
      const { sid } = JSON.parse(open.text.slice(open.text.indexOf('{'))) as { sid: string };
      const connect = await rawRequest({
        port: api().port,
        path: `/socket.io/?EIO=4&transport=polling&sid=${sid}`,
        method: 'POST',
        headers: [...forged, ['Content-Type', 'text/plain;charset=UTF-8'], ['Content-Length', '2']],
        body: '40',
        ...untrusted,
      });
      expect(connect.status).toBe(200);
      await new Promise<void>((resolve, reject) => {
        const socket = new WebSocket(`ws://127.0.0.1:${api().port}/socket.io/?EIO=4&transport=websocket`, {
          ...untrusted,
          headers: FORGED,
        });
        socket.on('message', (data) => {
          const message = String(data);
          if (message.startsWith('0')) socket.send('40');
          else if (message.startsWith('40')) {
            socket.close();
            resolve();
          }
        });
        socket.once('error', reject);
      });
      for (let i = 0; i < 100 && seen.length < 2; i += 1) await new Promise((resolve) => setTimeout(resolve, 10));
      expect(seen).toEqual([[], []]);
      // The application's own routes, now behind engine.io's listener, still refuse the peer's headers.
      const me = await api().request('/me', forged, untrusted);
      expect({ status: me.status, reason: me.body?.reason }).toEqual({ status: 401, reason: 'untrusted_proxy' });
    } finally {
      await io.close();
    }
  });
});
