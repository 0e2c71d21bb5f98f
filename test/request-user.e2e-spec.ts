import type { INestApplication } from '@nestjs/common';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { createServer, type RequestListener, type Server } from 'node:http';
import { rawRequest } from './support/raw-request.js';
import type { HttpAdapterName } from '../apps/reference-app/src/config/app-config.js';
import { startTestApp, type TestApp } from './support/test-app.js';
import { createTestDatabase, type TestDatabase } from './support/test-database.js';

// A database per app: the embedded PGlite serves one session at a time, so two apps cannot share one.
const databases: TestDatabase[] = [];
const apps: TestApp[] = [];
const trusted: [string, string][] = [['Remote-User', 'dora']];

afterAll(async () => {
  for (const app of apps) await app.close();
  for (const database of databases) await database.close();
});

async function start(
  adapter: HttpAdapterName,
  beforeListen?: (app: INestApplication) => void | Promise<void>,
): Promise<TestApp> {
  const database = await createTestDatabase();
  databases.push(database);
  const app = await startTestApp(
    adapter,
    { createUnknownUser: true },
    await database.options(),
    '127.0.0.1',
    beforeListen,
  );
  apps.push(app);
  return app;
}

/**
 * On Fastify the module declares `request.user` (Fastify's decorateRequest), so every request is built with
 * the property the guard sets. Nothing a handler sees may change, and an application whose own plugin
 * declares `user` (as many authentication plugins do, without checking first) must still start.
 */
const untrustedPeer = { localAddress: '127.0.0.2', host: '127.0.0.1' };

describe.each(['fastify', 'express'] as const)('request.user on %s', (adapter) => {
  it('is declared on every request and still undefined where nobody was admitted', async () => {
    const api = await start(adapter);
    const response = await api.request('/probe/request-user');
    expect(response.status).toBe(200);
    expect(response.body).toEqual({ declared: true, user: 'undefined' });
    const me = await api.request('/me', trusted);
    expect(me.status).toBe(200);
    expect(me.body.username).toBe('dora');
    const untrusted = await api.request('/probe/headers', [['Remote-User', 'admin']], untrustedPeer);
    expect(untrusted.body).toEqual({ headers: [], rawHeaders: [] });
  });
});

describe('request.user on Fastify', () => {
  /** A plugin as authentication plugins write it: declares `user` with null, unconditionally. */
  function declaresUser(
    instance: { decorateRequest(name: string, value: null): void },
    _options: unknown,
    done: () => void,
  ) {
    instance.decorateRequest('user', null);
    done();
  }

  it.each([
    ['registered without waiting', false],
    ['registered and awaited', true],
  ])('leaves the declaration to a plugin the app %s before it initialises', async (_name, awaited) => {
    const plugin = Object.assign(declaresUser, { [Symbol.for('skip-override')]: true });
    const api = await start('fastify', async (app) => {
      const registration = (app as NestFastifyApplication).register(plugin as never);
      if (awaited) await registration;
    });
    const response = await api.request('/probe/request-user');
    expect(response.status).toBe(200);
    expect(response.body).toEqual({ declared: true, user: null });
    const me = await api.request('/me', trusted);
    expect(me.status).toBe(200);
    expect(me.body.username).toBe('dora');
  });
});

/**
 * On Express the module inspects each request and declares `request.user` as the server emits it, before
 * Express swaps the request's prototype (after which every property added costs a new hidden class). Nothing a
 * handler sees may change, and a request that reaches the Express application through a server the
 * application made itself, where that listener is not, must be inspected all the same (THREATS 1).
 */
describe('request.user and the inspection on Express', () => {
  it('inspects requests that come through a server the application made around the Express instance', async () => {
    const api = await start('express');
    const server: Server = createServer(api.app.getHttpAdapter().getInstance() as RequestListener);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const port = (server.address() as { port: number }).port;
      const untrusted = await rawRequest({
        port,
        path: '/probe/headers',
        headers: [
          ['Remote-User', 'admin'],
          ['Remote_Groups', 'admins'],
        ],
        ...untrustedPeer,
      });
      expect(untrusted.status).toBe(200);
      expect(untrusted.body).toEqual({ headers: [], rawHeaders: [] });
      const refused = await rawRequest({ port, path: '/me', headers: [['Remote-User', 'admin']], ...untrustedPeer });
      expect(refused.status).toBe(401);
      const me = await rawRequest({ port, path: '/me', headers: trusted });
      expect(me.status).toBe(200);
      expect(me.body.username).toBe('dora');
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
