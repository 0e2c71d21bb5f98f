import { createNetworkLab, networkLabUnavailable, type NetworkLab } from './support/network-namespaces.js';
import { startTestApp, type TestApp } from './support/test-app.js';
import { createTestDatabase, type TestDatabase } from './support/test-database.js';

/**
 * Sends one HTTP/1.1 request over a plain socket (exact header lines) and prints `{ status, body }`. It runs as
 * `node -e` inside a namespace, where the test's TypeScript helpers are not available.
 */
const CLIENT = `
const [host, port, path, headers] = process.argv.slice(1);
const socket = require('node:net').connect({ host, port: Number(port) });
const lines = [\`GET \${path} HTTP/1.1\`, \`Host: \${host}:\${port}\`, 'Connection: close'];
for (const [name, value] of JSON.parse(headers)) lines.push(\`\${name}: \${value}\`);
socket.write(lines.join('\\r\\n') + '\\r\\n\\r\\n');
const chunks = [];
socket.on('data', (chunk) => chunks.push(chunk));
socket.on('close', () => {
  const raw = Buffer.concat(chunks).toString('utf8');
  const split = raw.indexOf('\\r\\n\\r\\n');
  const status = Number(raw.split(' ')[1]);
  let body = raw.slice(split + 4);
  try { body = JSON.parse(body); } catch {}
  process.stdout.write(JSON.stringify({ status, body }));
});
socket.setTimeout(20000, () => socket.destroy(new Error('timed out')));
`;

interface Answer {
  status: number;
  body: any;
}

const unavailable = networkLabUnavailable();

/** Like describeWithConcurrentDatabase: says once why the block is skipped, and says it in the title too. */
function describeWithNetworkNamespaces(title: string, body: () => void): void {
  if (unavailable === null) {
    describe(title, body);
  } else {
    console.warn(`SKIPPED "${title}": ${unavailable}`);
    describe.skip(`${title} [skipped: ${unavailable}]`, body);
  }
}

/**
 * docs/deployment.md's Docker advice, on a real network: the app, its proxy and a neighbour container share
 * one bridge, and the app trusts exactly the proxy's static address. Any other container on that network (a
 * compromised one, or one anybody can start there) sends the very same headers and must get nothing.
 */
describeWithNetworkNamespaces('deployment: trusting only the proxy on a shared network', () => {
  let lab: NetworkLab;
  let database: TestDatabase;
  let api: TestApp;

  beforeAll(async () => {
    lab = createNetworkLab(['proxy', 'neighbour']);
    database = await createTestDatabase();
    api = await startTestApp(
      'express',
      { trustedIps: [lab.hosts.proxy!], createUnknownUser: true },
      await database.options(),
      lab.appAddress,
    );
  });

  afterAll(async () => {
    try {
      await api?.close();
      await database?.close();
    } finally {
      lab?.remove();
    }
  });

  const from = async (host: string, path: string, headers: [string, string][]): Promise<Answer> =>
    JSON.parse(await lab.node(host, CLIENT, [lab.appAddress, String(api.port), path, JSON.stringify(headers)]));

  it('logs in the user the proxy at its static address asserts', async () => {
    const answer = await from('proxy', '/me', [
      ['Remote-User', 'alice'],
      ['Remote-Groups', 'devs'],
    ]);
    expect(answer).toEqual({
      status: 200,
      body: expect.objectContaining({ username: 'alice', externalGroups: ['devs'] }),
    });
  });

  it("refuses a neighbour's forged identity on the same network, X-Forwarded-For naming the proxy or not", async () => {
    for (const extra of [[], [['X-Forwarded-For', lab.hosts.proxy!]]] as [string, string][][]) {
      const answer = await from('neighbour', '/me', [['Remote-User', 'admin'], ...extra]);
      expect(answer).toEqual({ status: 401, body: expect.objectContaining({ reason: 'untrusted_proxy' }) });
    }
    expect(
      api.logs.matching('warn', new RegExp(`^untrusted_proxy: peer ${lab.hosts.neighbour!.replace(/\./g, '\\.')} `)),
    ).not.toEqual([]);
    expect(await api.sql(`SELECT 1 FROM auth_proxy_users WHERE username = 'admin'`)).toEqual([]);
  });

  it("removes the neighbour's identity headers before any handler runs, and keeps the proxy's", async () => {
    const headers: [string, string][] = [['Remote-User', 'admin']];
    expect((await from('neighbour', '/probe/headers', headers)).body).toEqual({ headers: [], rawHeaders: [] });
    expect((await from('proxy', '/probe/headers', headers)).body).toEqual({
      headers: ['remote-user'],
      rawHeaders: ['Remote-User'],
    });
  });
});
