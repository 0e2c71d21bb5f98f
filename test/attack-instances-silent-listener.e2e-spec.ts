import net from 'node:net';
import { ChangeListener } from 'nestjs-trusted-header/building-blocks';
import pg from 'pg';
import { identity, SESSION_COOKIE, sessionTokenOf } from './support/session-requests.js';
import { startTestApp, type TestApp } from './support/test-app.js';
import { createTestDatabase, describeWithConcurrentDatabase, type TestDatabase } from './support/test-database.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * A TCP relay to PostgreSQL that can go silent: it keeps both sockets open but forwards nothing more, as a
 * NAT or firewall that dropped an idle connection's state, or a partition, does (no FIN, no RST reaches either end).
 */
function silentRelay(target: { host: string; port: number }) {
  let silent = false;
  const sockets: net.Socket[] = [];
  const server = net.createServer((client) => {
    const upstream = net.connect(target.port, target.host);
    sockets.push(client, upstream);
    client.on('data', (chunk) => {
      if (!silent) upstream.write(chunk);
    });
    upstream.on('data', (chunk) => {
      if (!silent) client.write(chunk);
    });
    client.on('error', () => undefined);
    upstream.on('error', () => undefined);
  });
  return {
    listen: () =>
      new Promise<number>((resolve) =>
        server.listen(0, '127.0.0.1', () => resolve((server.address() as net.AddressInfo).port)),
      ),
    goSilent: () => {
      silent = true;
    },
    close: () => {
      for (const socket of sockets) socket.destroy();
      server.close();
    },
  };
}

describeWithConcurrentDatabase('attack: a listener connection that dies silently', () => {
  let database: TestDatabase;
  let a: TestApp;
  let b: TestApp;
  let sql: pg.Client;
  let relay: ReturnType<typeof silentRelay>;
  const root = identity('root-silent', 'idp-admins');
  const OPTIONS = {
    createUnknownUser: true,
    adminGroups: ['idp-admins'],
    syncTtlSeconds: 3600,
    session: 'persistent' as const,
  };

  beforeAll(async () => {
    database = await createTestDatabase();
    const url = new URL(database.url!);
    relay = silentRelay({ host: url.hostname, port: Number(url.port || 5432) });
    const port = await relay.listen();
    const relayed = new URL(database.url!);
    relayed.hostname = '127.0.0.1';
    relayed.port = String(port);
    a = await startTestApp('express', { ...OPTIONS, notifyUrl: relayed.toString() }, await database.options());
    b = await startTestApp('express', OPTIONS, await database.options());
    sql = new pg.Client({ connectionString: database.url });
    await sql.connect();
    const start = Date.now();
    while (!(a.app.get(ChangeListener).connected && b.app.get(ChangeListener).connected)) {
      if (Date.now() - start > 10_000) throw new Error('listeners did not connect');
      await sleep(20);
    }
    expect((await b.request('/me', root)).status).toBe(200);
  }, 30_000);
  afterAll(async () => {
    await sql?.end();
    await a?.close();
    await b?.close();
    relay?.close();
    await database?.close();
  });

  it('notices that its listener hears nothing any more, instead of serving a disabled user for the TTL', async () => {
    const name = 'silent-victim';
    const token = sessionTokenOf(await a.request('/me', identity(name)));
    const victim = () => a.request('/me', [...identity(name), ['Cookie', `${SESSION_COOKIE}=${token}`]]);
    expect((await victim()).status).toBe(200);

    relay.goSilent();
    const id = (await sql.query(`SELECT id FROM auth_proxy_users WHERE username = $1`, [name])).rows[0].id;
    const disabled = await b.request(
      `/admin/users/${id}/disable`,
      [...root, ['Content-Type', 'application/json'], ['Content-Length', '2']],
      {
        method: 'POST',
        body: '{}',
      },
    );
    expect(disabled.status).toBe(200);

    // A heartbeat on the listener connection (or a short TCP keepalive) would find the dead link within
    // seconds, reconnect through the relay's new connections... here the relay stays silent, so the listener
    // should at least stop claiming to listen, and the doctor should warn.
    await sleep(20_000);
    const listener = a.app.get(ChangeListener);
    const served = (await victim()).status;
    const doctor = await a.request('/admin/doctor', identity('root-silent', 'idp-admins'));
    const codes = (doctor.body.warnings ?? []).map((warning: { code: string }) => warning.code);
    // Observed (print before asserting, so the report can quote it).
    console.log(
      JSON.stringify({ state: listener.state, connected: listener.connected, served, doctorWarnings: codes }),
    );
    expect(listener.connected).toBe(false);
  }, 60_000);
});
