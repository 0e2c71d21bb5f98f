import { fileURLToPath } from 'node:url';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './support/free-port.js';
import { rawRequest } from './support/raw-request.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const main = join(root, 'dist/apps/reference-app/src/main.js');

interface Run {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

function run(env: Record<string, string>): Run {
  const clean = Object.fromEntries(
    Object.entries(process.env).filter(([key]) => !key.startsWith('AUTH_PROXY_') && key !== 'DATABASE_URL'),
  );
  const child = spawn(process.execPath, [main], {
    cwd: root,
    env: { ...clean, NO_COLOR: '1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (chunk) => (output += chunk));
  child.stderr!.on('data', (chunk) => (output += chunk));
  const exited = new Promise<number | null>((done) => child.on('exit', (code) => done(code)));
  return { child, output: () => output, exited };
}

async function waitFor(check: () => Promise<boolean>, what: string, ms = 60_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return;
    await new Promise((done) => setTimeout(done, 200));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** The built reference app, started as users start it (`node dist/...`, configured by environment). */
describe('reference app process', () => {
  beforeAll(() => {
    if (!existsSync(main)) throw new Error(`${main} is missing: run \`npm run build\` (npm test does) first`);
  });

  it.each([
    [{ AUTH_PROXY_TRUSTED_IPS: '0.0.0.0/0' }, 'AUTH_PROXY_TRUSTED_IPS="0.0.0.0/0" matches every address'],
    [{ AUTH_PROXY_TRUSTED_IPS: '' }, 'AUTH_PROXY_TRUSTED_IPS="" is empty'],
    [
      { AUTH_PROXY_TRUSTED_IPS: '10.0.0.1,proxy.internal' },
      'AUTH_PROXY_TRUSTED_IPS="proxy.internal" is not an IP address',
    ],
    [{ AUTH_PROXY_HEADER: 'Cookie' }, 'AUTH_PROXY_HEADER="Cookie" is a standard HTTP header'],
    [{ AUTH_PROXY_PRESET: 'keycloak' }, 'AUTH_PROXY_PRESET="keycloak" is not a known preset'],
    [{ AUTH_PROXY_TRUSTED_IP: '10.0.0.1' }, 'AUTH_PROXY_TRUSTED_IP="<not shown>" is not a known setting'],
    [{ LOG_FORMAT: 'yaml' }, 'LOG_FORMAT="yaml" must be text or json'],
  ])('refuses to start with %j, naming the variable and value', async (env, message) => {
    const app = run({ ...env, PGLITE_DATA_DIR: 'memory://', PORT: '0' });
    expect(await app.exited).toBe(1);
    expect(app.output()).toContain(message);
    expect(app.output()).not.toMatch(/\n\s+at .+:\d+:\d+/); // a message, not a stack trace
  });

  it('starts on embedded PGlite, logs trust list, preset and database, serves /health and /me, stops cleanly', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'reference-app-'));
    const port = await freePort();
    const app = run({
      PORT: String(port),
      PGLITE_DATA_DIR: dataDir,
      AUTH_PROXY_PRESET: 'authelia',
      AUTH_PROXY_CREATE_UNKNOWN_USER: 'true',
    });
    try {
      await waitFor(
        async () => (await rawRequest({ port, path: '/health' })).status === 200,
        'the app to answer /health',
      );
      expect(app.output()).toContain(
        'proxy authelia (preset authelia): peers 127.0.0.1/32, ::1/128; identity from headers Remote-User',
      );
      expect(app.output()).toContain(`database: embedded PGlite in ${dataDir}`);
      const me = await rawRequest({
        port,
        path: '/me',
        headers: [
          ['Remote-User', 'Alice'],
          ['Remote-Groups', 'devs'],
        ],
      });
      expect(me.status).toBe(200);
      expect(me.body).toEqual({
        id: expect.stringMatching(/^[0-9a-f-]{36}$/),
        username: 'alice',
        email: null,
        displayName: null,
        groups: [],
        externalGroups: ['devs'],
        isAdmin: false,
      });
      const spoofed = await rawRequest({
        port,
        path: '/me',
        headers: [['Remote-User', 'admin']],
        localAddress: '127.0.0.2',
      });
      expect(spoofed.status).toBe(401);
      app.child.kill('SIGTERM');
      expect(await app.exited).toBe(0);
      expect(existsSync(join(dataDir, 'PG_VERSION'))).toBe(true);
    } finally {
      app.child.kill('SIGKILL');
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('logs one JSON object per line with LOG_FORMAT=json, the reason code as a field', async () => {
    const port = await freePort();
    const app = run({ PORT: String(port), PGLITE_DATA_DIR: 'memory://', LOG_FORMAT: 'json' });
    try {
      await waitFor(
        async () => (await rawRequest({ port, path: '/health' })).status === 200,
        'the app to answer /health',
      );
      const spoofed = await rawRequest({
        port,
        path: '/me',
        headers: [['Remote-User', 'admin']],
        localAddress: '127.0.0.2',
      });
      expect(spoofed.status).toBe(401);
      expect(spoofed.body.reason).toBe('untrusted_proxy');
      await waitFor(async () => app.output().includes('untrusted_proxy: peer'), 'the untrusted peer warning');
      const lines = app.output().trim().split('\n');
      const records = lines.map((line) => JSON.parse(line) as Record<string, unknown>); // every line is JSON
      expect(records).toContainEqual(
        expect.objectContaining({ level: 'log', message: expect.stringMatching(/^listening on http:\/\//) }),
      );
      expect(records).toContainEqual(
        expect.objectContaining({
          level: 'warn',
          reason: 'untrusted_proxy',
          message: expect.stringMatching(/^untrusted_proxy: peer 127\.0\.0\.2 /),
        }),
      );
    } finally {
      app.child.kill('SIGKILL');
    }
  });

  it('runs on Fastify with the admin API and the OpenAPI document at /docs', async () => {
    const port = await freePort();
    const app = run({
      PORT: String(port),
      PGLITE_DATA_DIR: 'memory://',
      HTTP_ADAPTER: 'fastify',
      AUTH_PROXY_ADMIN_GROUPS: 'admins',
      AUTH_PROXY_CREATE_UNKNOWN_USER: 'true',
    });
    try {
      await waitFor(
        async () => (await rawRequest({ port, path: '/health' })).status === 200,
        'the app to answer /health',
      );
      expect(app.output()).toContain('(fastify)');
      const document = await rawRequest({ port, path: '/docs/openapi.json' });
      expect(document.status).toBe(200);
      expect(Object.keys(document.body.paths)).toEqual(expect.arrayContaining(['/admin/group-mappings', '/me']));
      expect((await rawRequest({ port, path: '/docs' })).status).toBeLessThan(400);
      expect((await rawRequest({ port, path: '/admin/groups' })).status).toBe(401);
      const groups = await rawRequest({
        port,
        path: '/admin/groups',
        headers: [
          ['Remote-User', 'root'],
          ['Remote-Groups', 'admins'],
        ],
      });
      expect(groups.status).toBe(200);
      expect(groups.body).toEqual({ items: [], total: 0, page: 1, perPage: 20 });
    } finally {
      app.child.kill('SIGKILL');
    }
  });
});
