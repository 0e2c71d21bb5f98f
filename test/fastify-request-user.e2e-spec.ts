import type { INestApplication } from '@nestjs/common';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { startTestApp, type TestApp } from './support/test-app.js';
import { createTestDatabase, type TestDatabase } from './support/test-database.js';

/**
 * On Fastify the module declares `request.user` (Fastify's decorateRequest), so every request is built with
 * the property the guard sets. Nothing a handler sees may change, and an application whose own plugin
 * declares `user` (as many authentication plugins do, without checking first) must still start.
 */
describe('request.user on Fastify', () => {
  // A database per app: the embedded PGlite serves one session at a time, so two apps cannot share one.
  const databases: TestDatabase[] = [];
  const apps: TestApp[] = [];
  const trusted: [string, string][] = [['Remote-User', 'dora']];

  afterAll(async () => {
    for (const app of apps) await app.close();
    for (const database of databases) await database.close();
  });

  async function start(beforeListen?: (app: INestApplication) => void | Promise<void>): Promise<TestApp> {
    const database = await createTestDatabase();
    databases.push(database);
    const app = await startTestApp(
      'fastify',
      { createUnknownUser: true },
      await database.options(),
      '127.0.0.1',
      beforeListen,
    );
    apps.push(app);
    return app;
  }

  /** A plugin as authentication plugins write it: declares `user` with null, unconditionally. */
  function declaresUser(
    instance: { decorateRequest(name: string, value: null): void },
    _options: unknown,
    done: () => void,
  ) {
    instance.decorateRequest('user', null);
    done();
  }

  it('is declared on every request and still undefined where nobody was admitted', async () => {
    const api = await start();
    const response = await api.request('/probe/request-user');
    expect(response.status).toBe(200);
    expect(response.body).toEqual({ declared: true, user: 'undefined' });
    const me = await api.request('/me', trusted);
    expect(me.status).toBe(200);
    expect(me.body.username).toBe('dora');
  });

  it.each([
    ['registered without waiting', false],
    ['registered and awaited', true],
  ])('leaves the declaration to a plugin the app %s before it initialises', async (_name, awaited) => {
    const plugin = Object.assign(declaresUser, { [Symbol.for('skip-override')]: true });
    const api = await start(async (app) => {
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
