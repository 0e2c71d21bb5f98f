import dns from 'node:dns';
import {
  identityHeadersOf,
  recordingHook,
  storeHookPastSetter,
  type Message,
  type SeenHeaders,
} from './support/request-hooks.js';
import { startTestApp, type TestApp } from './support/test-app.js';
import { createTestDatabase, type TestDatabase } from './support/test-database.js';

type Lookup = typeof dns.lookup;

/**
 * THREATS 1 on Fastify listening on 'localhost' (its default host): Fastify binds every address the name
 * resolves to, the first on its main server and each other one on a server of its own with the same handler.
 * The inspection must run before routing on every one of them, not only on the adapter's getHttpServer(),
 * also where the application stored a request hook of its own past the adapter's `setOnRequestHook` (the
 * private field assigned, or the prototype's method called as a subclass's `super` call does): the secondary
 * servers run Fastify's handler, not the server listener the library wrapped.
 * This machine resolves localhost to 127.0.0.1 alone, so dns.lookup answers as most systems do (::1 first).
 */
describe.each([
  ['sessions off', {}, 'none'],
  ['sessions on', { session: 'persistent' as const }, 'none'],
  ['sessions off', {}, 'the field'],
  ['sessions off', {}, 'the prototype’s method'],
] as const)(
  'fastify on localhost, two bindings (%s, a request hook of its own stored through %s)',
  (_name, extra, how) => {
    let database: TestDatabase;
    let api: TestApp;
    const realLookup: Lookup = dns.lookup;
    const untrustedPeer = { localAddress: '127.0.0.2', host: '127.0.0.1' };
    /** What the application's middleware and its own request hook saw of each request. */
    const seen: SeenHeaders[] = [];

    beforeAll(async () => {
      const twoAddresses = (
        host: string,
        options: dns.LookupOptions | ((...args: unknown[]) => void),
        callback?: (...args: unknown[]) => void,
      ) => {
        const done = typeof options === 'function' ? options : callback!;
        const settings = typeof options === 'function' ? {} : options;
        if (host !== 'localhost') return (realLookup as (...args: unknown[]) => void)(host, settings, done);
        const addresses = [
          { address: '::1', family: 6 },
          { address: '127.0.0.1', family: 4 },
        ];
        if (settings.all) return process.nextTick(done, null, addresses);
        return process.nextTick(done, null, addresses[0]!.address, addresses[0]!.family);
      };
      dns.lookup = twoAddresses as unknown as Lookup;
      database = await createTestDatabase();
      api = await startTestApp(
        'fastify',
        { createUnknownUser: true, ...extra },
        await database.options(),
        'localhost',
        (app) => {
          app.use((request: Message, _response: unknown, next: () => void) => {
            seen.push(identityHeadersOf(request));
            next();
          });
        },
      );
      if (how !== 'none') storeHookPastSetter(api.app, how, recordingHook(seen));
    });
    afterAll(async () => {
      dns.lookup = realLookup;
      await api?.close();
      await database?.close();
    });

    it('removes an untrusted peer’s identity headers before a public handler on the second binding', async () => {
      seen.length = 0;
      const response = await api.request(
        '/probe/headers',
        [
          ['Remote-User', 'admin'],
          ['Remote-Groups', 'admins'],
        ],
        untrustedPeer,
      );
      expect(response.status).toBe(200);
      expect(response.body).toEqual({ headers: [], rawHeaders: [] });
      const nothing = { headers: [], rawHeaders: [] };
      expect(seen).toEqual(how === 'none' ? [nothing] : [nothing, nothing]);
    });

    it('refuses the untrusted peer on a guarded route there', async () => {
      const response = await api.request('/me', [['Remote-User', 'admin']], untrustedPeer);
      expect(response.status).toBe(401);
      expect(response.body.reason).toBe('untrusted_proxy');
    });
  },
);
