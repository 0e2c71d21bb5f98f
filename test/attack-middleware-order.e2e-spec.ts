import type { INestApplication } from '@nestjs/common';
import { ADAPTERS, startTestApp, type TestApp } from './support/test-app.js';
import { createTestDatabase, type TestDatabase } from './support/test-database.js';

interface Seen {
  headers: string[];
  rawHeaders: string[];
}

const identity = (name: string) => /remote[-_.]/i.test(name);

/**
 * THREATS 1: middleware, the application's (`app.use()` before the app starts) and Nest middleware of any
 * module, must not see an untrusted peer's identity headers either. On Fastify Nest runs all of it through
 * @fastify/middie, which it registers before any module exists, so the removal has to run ahead of middie.
 */
describe.each(ADAPTERS)('middleware ahead of the library (%s)', (adapter) => {
  let database: TestDatabase;
  let api: TestApp;
  const seen: Seen[] = [];
  const untrustedPeer = { localAddress: '127.0.0.2', host: '127.0.0.1' };

  beforeAll(async () => {
    database = await createTestDatabase();
    const spy = (
      request: { headers: Record<string, unknown>; rawHeaders: string[] },
      _response: unknown,
      next: () => void,
    ) => {
      seen.push({
        headers: Object.keys(request.headers).filter(identity),
        rawHeaders: request.rawHeaders.filter((_, i) => i % 2 === 0).filter(identity),
      });
      next();
    };
    api = await startTestApp(
      adapter,
      { createUnknownUser: true },
      await database.options(),
      '127.0.0.1',
      (app: INestApplication) => {
        app.use(spy);
      },
    );
  });
  afterAll(async () => {
    await api?.close();
    await database?.close();
  });

  it('removes an untrusted peer’s identity headers before the application’s middleware sees them', async () => {
    seen.length = 0;
    const response = await api.request(
      '/probe/headers',
      [
        ['Remote-User', 'admin'],
        ['Remote_Groups', 'admins'],
      ],
      untrustedPeer,
    );
    expect(response.status).toBe(200);
    expect(response.body).toEqual({ headers: [], rawHeaders: [] });
    expect(seen).toEqual([{ headers: [], rawHeaders: [] }]);
  });

  it('leaves a trusted proxy’s identity headers to the middleware and admits the user', async () => {
    seen.length = 0;
    const response = await api.request('/me', [['Remote-User', 'mia']]);
    expect(response.status).toBe(200);
    expect(response.body.username).toBe('mia');
    expect(seen).toEqual([{ headers: ['remote-user'], rawHeaders: ['Remote-User'] }]);
  });
});
