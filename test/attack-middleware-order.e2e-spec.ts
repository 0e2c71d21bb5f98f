import type { INestApplication } from '@nestjs/common';
import { createServer, type RequestListener } from 'node:http';
import type { AddressInfo } from 'node:net';
import { rawRequest } from './support/raw-request.js';
import { ADAPTERS, startTestApp, type TestApp } from './support/test-app.js';
import {
  identityHeadersOf as look,
  recordingHook,
  storeHookPastSetter,
  type Message,
  type SeenHeaders as Seen,
} from './support/request-hooks.js';
import { createTestDatabase, type TestDatabase } from './support/test-database.js';

/**
 * THREATS 1: middleware, the application's (`app.use()` before the app starts) and Nest middleware of any
 * module, must not see an untrusted peer's identity headers either. On Fastify Nest runs all of it through
 * @fastify/middie, which it registers before any module exists, so the removal has to run ahead of middie.
 * The adapters' own request hook runs ahead of all of it; a hook the application sets there after the library
 * must not replace the library's.
 */
describe.each(ADAPTERS.flatMap((adapter) => [[adapter, 'before'] as const, [adapter, 'after'] as const]))(
  'middleware ahead of the library (%s, a request hook set %s the library starts)',
  (adapter, hookSet) => {
    let database: TestDatabase;
    let api: TestApp;
    const seen: Seen[] = [];
    /** What the request hook the application sets (adapter.setOnRequestHook) saw. */
    const seenByHook: Seen[] = [];
    const untrustedPeer = { localAddress: '127.0.0.2', host: '127.0.0.1' };

    beforeAll(async () => {
      database = await createTestDatabase();
      // The adapter keeps one request hook: the library's runs first and keeps the application's, whenever set.
      const setRequestHook = (app: INestApplication) =>
        (
          app.getHttpAdapter() as unknown as {
            setOnRequestHook(hook: (request: unknown, response: unknown, done: () => void) => void): void;
          }
        ).setOnRequestHook(recordingHook(seenByHook));
      const spy = (request: Message, _response: unknown, next: () => void) => {
        seen.push(look(request));
        next();
      };
      api = await startTestApp(
        adapter,
        { createUnknownUser: true },
        await database.options(),
        '127.0.0.1',
        (app: INestApplication) => {
          app.use(spy);
          if (hookSet === 'before') setRequestHook(app);
        },
      );
      if (hookSet === 'after') setRequestHook(api.app);
    });
    afterAll(async () => {
      await api?.close();
      await database?.close();
    });

    it('removes an untrusted peer’s identity headers before the application’s middleware sees them', async () => {
      seen.length = 0;
      seenByHook.length = 0;
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
      expect(seenByHook).toEqual([{ headers: [], rawHeaders: [] }]);
    });

    it('leaves a trusted proxy’s identity headers to the middleware and admits the user', async () => {
      seen.length = 0;
      seenByHook.length = 0;
      const response = await api.request('/me', [['Remote-User', 'mia']]);
      expect(response.status).toBe(200);
      expect(response.body.username).toBe('mia');
      expect(seen).toEqual([{ headers: ['remote-user'], rawHeaders: ['Remote-User'] }]);
      expect(seenByHook).toEqual([{ headers: ['remote-user'], rawHeaders: ['Remote-User'] }]);
    });
  },
);

/**
 * A request hook put on the adapter past the instance's `setOnRequestHook` (the prototype's method, as a
 * subclass's `super` call runs it, or the private field assigned) must not replace the library's either: it
 * runs after the inspection, and neither middleware nor a public route sees an untrusted peer's headers.
 */
describe.each(
  ADAPTERS.flatMap((adapter) => [[adapter, 'the prototype’s method'] as const, [adapter, 'the field'] as const]),
)('a request hook set through %s (%s)', (adapter, how) => {
  let database: TestDatabase;
  let api: TestApp;
  const seen: Seen[] = [];
  const untrustedPeer = { localAddress: '127.0.0.2', host: '127.0.0.1' };

  beforeAll(async () => {
    database = await createTestDatabase();
    api = await startTestApp(adapter, { createUnknownUser: true }, await database.options());
    storeHookPastSetter(api.app, how, recordingHook(seen));
  });
  afterAll(async () => {
    await api?.close();
    await database?.close();
  });

  it('runs after the inspection: neither it nor a public route sees an untrusted peer’s identity headers', async () => {
    const headers: [string, string][] = [
      ['Remote-User', 'admin'],
      ['Remote_Groups', 'admins'],
    ];
    seen.length = 0;
    const response = await api.request('/probe/headers', headers, untrustedPeer);
    expect(response.status).toBe(200);
    expect(response.body).toEqual({ headers: [], rawHeaders: [] });
    expect(seen).toEqual([{ headers: [], rawHeaders: [] }]);
    const me = await api.request('/me', headers, untrustedPeer);
    expect(me.status).toBe(401);
    expect(me.body.reason).toBe('untrusted_proxy');
  });

  (adapter === 'express' ? it : it.skip)('does so on a server the application made around Express', async () => {
    const server = createServer(api.app.getHttpAdapter().getInstance() as RequestListener);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const response = await rawRequest({
        port,
        path: '/probe/headers',
        headers: [['Remote-User', 'admin']],
        ...untrustedPeer,
      });
      expect(response.body).toEqual({ headers: [], rawHeaders: [] });
      expect(seen.at(-1)).toEqual({ headers: [], rawHeaders: [] });
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
