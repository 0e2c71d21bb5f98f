/**
 * `npm run bench`: starts each server variant in its own process, drives it with autocannon over loopback in
 * short interleaved bursts, and writes bench/results/latest.md and bench/results/throughput.svg.
 *
 * Client and server share two noisy cores, so one long run per variant compares different minutes of the
 * machine. Instead every variant of an adapter is started once and the variants take turns, burst after burst
 * (the order rotates each cycle); ratios are taken inside each cycle and the report gives their median and
 * range. Besides requests per second, each burst records the server's own CPU time per request, which does
 * not depend on how much of the machine the client happened to take. CPU profiles of (b') and (c) attribute
 * the difference (bench/profile.ts), and bench/guard-cost.ts times the library's own work in-process.
 *
 * (e) is (c) with persistent sessions: the driver logs in once with the identity headers, keeps the session
 * cookie the server set, and from then on sends only that cookie, so its bursts measure a browser's requests
 * after login beside (c), the same user authenticated by headers on every request.
 *
 * (f) is (c) behind a proxy that signs who the user is: the driver makes an ES256 key pair at start, gives the
 * server the public key's file, signs one token for the same user and sends only that token (X-Jwt-Assertion).
 * The server verifies it once and keeps it until its `exp`, so the bursts measure the cached token beside (c).
 */
import autocannon from 'autocannon';
import { exportSPKI, generateKeyPair, SignJWT, type CryptoKey } from 'jose';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { measureColdPath } from './cold-path.js';
import { profileLibraryShare } from './profile.js';
import { describePropagation, measurePropagation } from './propagation.js';
import { GUARD_HEADERS, REQUEST_HEADERS, ServerProcess as Server, type Adapter } from './server-process.js';
import { ASSERTION, type ServerReply } from './shared.js';
import { median, spread, type Spread } from './statistics.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const results = join(root, 'bench', 'results');
const WARMUP_SECONDS = Number(process.env.BENCH_WARMUP ?? 2);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 2);
const CYCLES = Number(process.env.BENCH_CYCLES ?? 5);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);
const CACHE_BOUND = 10_000;
/** The session variant's cookie: `sessionCookieSecure: false` drops the `__Host-` prefix (plain HTTP here). */
const SESSION_COOKIE = 'trusted_header_session';
const BODY = '{"ok":true,"user":"bench-user"}';

type Variant = 'raw' | 'none' | 'noop' | 'guard' | 'jwt' | 'session' | 'assertion';
type Headers = Record<string, string>;
interface Burst {
  variant: Variant;
  adapter: Adapter | '-';
  cycle: number;
  requestsPerSecond: number;
  p50: number;
  p99: number;
  failures: number;
  requests: number;
  cpuMicrosPerRequest: number;
}

const LABELS: Record<Variant, string> = {
  raw: '(a) node:http',
  none: '(b) Nest, no auth',
  noop: "(b') Nest + allow-all guard + database",
  guard: '(c) Nest + TrustedHeaderGuard',
  jwt: '(d) Nest + passport-jwt HS256',
  session: '(e) Nest + TrustedHeaderGuard, session cookie',
  assertion: '(f) Nest + TrustedHeaderGuard, signed assertion (ES256 JWT)',
};

function drive(server: Server, seconds: number, headers: Headers): Promise<autocannon.Result> {
  return autocannon({ url: server.url('/hello'), connections: CONNECTIONS, duration: seconds, headers });
}

/** The variant answers as the others do, and an authenticating variant refuses a request without credentials. */
async function checkVariant(server: Server, variant: Variant, label: string): Promise<void> {
  const ok = await fetch(server.url('/hello'), { headers: REQUEST_HEADERS });
  const body = await ok.text();
  if (ok.status !== 200 || body !== BODY) {
    throw new Error(`${label}: answered ${ok.status} ${body}`);
  }
  if (variant === 'guard' || variant === 'jwt') {
    const anonymous = await fetch(server.url('/hello'));
    await anonymous.arrayBuffer();
    if (anonymous.status !== 401) throw new Error(`${label}: a request without credentials got ${anonymous.status}`);
  }
}

/**
 * (e): logs in once with the identity headers alone and returns the request of the bursts, the session cookie
 * alone. Checks that the login set the cookie (and that the statement counter saw the session being written),
 * that the cookie alone is the user without a new Set-Cookie, and that no cookie or another token is refused.
 */
async function sessionLogin(server: Server, label: string): Promise<Headers> {
  const before = await server.ask('stats');
  const login = await fetch(server.url('/hello'), { headers: GUARD_HEADERS });
  const body = await login.text();
  if (login.status !== 200 || body !== BODY) throw new Error(`${label}: the login answered ${login.status} ${body}`);
  const setCookies = login.headers.getSetCookie();
  const pair = setCookies.map((line) => line.split(';')[0]!.trim()).find((p) => p.startsWith(`${SESSION_COOKIE}=`));
  if (pair === undefined || setCookies.length !== 1) {
    throw new Error(`${label}: the login set ${JSON.stringify(setCookies)}, not one ${SESSION_COOKIE} cookie`);
  }
  const after = await server.ask('stats');
  if (after.writes! - before.writes! < 1) {
    throw new Error(`${label}: the statement counter saw no write while the login started a session`);
  }
  const cookie: Headers = { Cookie: pair };
  const ask = async (path: string, headers: Headers = {}) => {
    const response = await fetch(server.url(path), { headers });
    return { status: response.status, body: await response.text(), setCookies: response.headers.getSetCookie() };
  };
  const me = await ask('/bench/me', cookie);
  if (me.status !== 200 || (JSON.parse(me.body) as { username?: string }).username !== 'bench-user') {
    throw new Error(`${label}: the session cookie alone answered ${me.status} ${me.body}`);
  }
  if (me.setCookies.length > 0) {
    throw new Error(`${label}: a request with the session cookie set ${JSON.stringify(me.setCookies)}`);
  }
  const anonymous = await ask('/hello');
  if (anonymous.status !== 401) throw new Error(`${label}: a request without the cookie got ${anonymous.status}`);
  const token = pair.slice(SESSION_COOKIE.length + 1);
  const other = `${token.slice(0, -1)}${token.endsWith('A') ? 'B' : 'A'}`;
  const forged = await ask('/hello', { Cookie: `${SESSION_COOKIE}=${other}` });
  if (forged.status !== 401) throw new Error(`${label}: a request with another token got ${forged.status}`);
  await checkSessionCookie(server, cookie, label);
  return cookie;
}

/** The cookie alone is still the user, and the answer sets no cookie (before the warm-up and after the bursts). */
async function checkSessionCookie(server: Server, cookie: Headers, label: string): Promise<void> {
  const response = await fetch(server.url('/hello'), { headers: cookie });
  const body = await response.text();
  const setCookies = response.headers.getSetCookie();
  if (response.status !== 200 || body !== BODY || setCookies.length > 0) {
    throw new Error(
      `${label}: the session cookie alone answered ${response.status} ${body}, set ${JSON.stringify(setCookies)}`,
    );
  }
}

/** (f): the public key's file the servers read, the token of the bursts, and one signed by another key. */
interface AssertionSetup {
  directory: string;
  keyFile: string;
  token: string;
  foreignToken: string;
}

/** The user and groups of the guard variant's headers, as claims, valid for an hour. */
function signAssertion(key: CryptoKey): Promise<string> {
  return new SignJWT({ email: GUARD_HEADERS['Remote-Email'], groups: GUARD_HEADERS['Remote-Groups'].split(',') })
    .setProtectedHeader({ alg: ASSERTION.algorithm, typ: 'JWT' })
    .setIssuer(ASSERTION.issuer)
    .setAudience(ASSERTION.audience)
    .setSubject(GUARD_HEADERS['Remote-User'])
    .setIssuedAt()
    .setExpirationTime('1h')
    .sign(key);
}

async function prepareAssertion(): Promise<AssertionSetup> {
  const { publicKey, privateKey } = await generateKeyPair(ASSERTION.algorithm, { extractable: true });
  const other = await generateKeyPair(ASSERTION.algorithm);
  const directory = mkdtempSync(join(tmpdir(), 'th-bench-assertion-'));
  const keyFile = join(directory, 'proxy-public.pem');
  writeFileSync(keyFile, await exportSPKI(publicKey));
  return {
    directory,
    keyFile,
    token: await signAssertion(privateKey),
    foreignToken: await signAssertion(other.privateKey),
  };
}

/**
 * (f): returns the request of the bursts, the token alone. Checks that the token is the user (GET /bench/me)
 * and that the identity headers without a token, or a token signed by another key, are refused.
 */
async function checkAssertion(server: Server, setup: AssertionSetup, label: string): Promise<Headers> {
  const headers: Headers = { [ASSERTION.header]: setup.token };
  const ask = async (path: string, sent: Headers) => {
    const response = await fetch(server.url(path), { headers: sent });
    return { status: response.status, body: await response.text() };
  };
  const ok = await ask('/hello', headers);
  if (ok.status !== 200 || ok.body !== BODY) throw new Error(`${label}: answered ${ok.status} ${ok.body}`);
  const me = await ask('/bench/me', headers);
  if (me.status !== 200 || (JSON.parse(me.body) as { username?: string }).username !== GUARD_HEADERS['Remote-User']) {
    throw new Error(`${label}: the token answered ${me.status} ${me.body}`);
  }
  const headersAlone = await ask('/hello', REQUEST_HEADERS);
  if (headersAlone.status !== 401) {
    throw new Error(`${label}: identity headers without the token got ${headersAlone.status}`);
  }
  const foreign = await ask('/hello', { [ASSERTION.header]: setup.foreignToken });
  if (foreign.status !== 401) throw new Error(`${label}: a token signed by another key got ${foreign.status}`);
  return headers;
}

async function burst(
  server: Server,
  variant: Variant,
  adapter: Adapter | '-',
  cycle: number,
  headers: Headers,
): Promise<Burst> {
  const before = (await server.ask('cpu')).cpuMicros!;
  const result = await drive(server, SECONDS, headers);
  const after = (await server.ask('cpu')).cpuMicros!;
  return {
    variant,
    adapter,
    cycle,
    requestsPerSecond: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    failures: result.non2xx + result.errors + result.timeouts,
    requests: result.requests.total,
    cpuMicrosPerRequest: (after - before) / Math.max(1, result.requests.total),
  };
}

/** Database statements of one server over the measured bursts (counted after warm-up). */
interface Statements {
  statements: number;
  writes: number;
  queries: { text: string; count: number }[];
  cachedSessions?: number;
}

interface AdapterRun {
  bursts: Burst[];
  guard: Statements;
  session: Statements;
  assertion: Statements;
  /** Seconds from the login of (e) to the start of its first measured burst and the end of its last. */
  sessionWindow?: { from: number; to: number };
}

const NO_STATEMENTS: Statements = { statements: 0, writes: 0, queries: [] };

function statementsOf(reply: ServerReply): Statements {
  return {
    statements: reply.statements ?? 0,
    writes: reply.writes ?? 0,
    queries: reply.queries ?? [],
    cachedSessions: reply.cachedSessions,
  };
}

/**
 * Starts the variants of one adapter (all at once: starting is not measured, and on two cores it takes half the
 * time), checks and warms each in turn, then runs CYCLES rounds of one burst per variant.
 *
 * (e) logs in first, so that its measured bursts go on past a minute after its login: the session's round
 * (read again after AUTH_PROXY_SYNC_TTL_SECONDS, last_seen_at written once a minute) then falls inside them.
 */
async function runAdapter(adapter: Adapter, variants: Variant[], assertion: AssertionSetup): Promise<AdapterRun> {
  const servers = new Map<Variant, Server>();
  const headers = new Map<Variant, Headers>();
  const bursts: Burst[] = [];
  let loggedInAt = 0;
  let sessionWindow: AdapterRun['sessionWindow'];
  try {
    // The hot path never reaches the database; the guard variants keep their users in the embedded PGlite.
    const env = { DATABASE_URL: '', [ASSERTION.keyFileEnv]: assertion.keyFile };
    const started = await Promise.allSettled(variants.map((variant) => Server.start(variant, adapter, env)));
    started.forEach((outcome, i) => outcome.status === 'fulfilled' && servers.set(variants[i]!, outcome.value));
    const failed = started.find((outcome) => outcome.status === 'rejected');
    if (failed) throw failed.reason;
    const sessionFirst = [...variants].sort((a, b) => Number(b === 'session') - Number(a === 'session'));
    for (const variant of sessionFirst) {
      const server = servers.get(variant)!;
      if (variant === 'session') {
        loggedInAt = performance.now();
        headers.set(variant, await sessionLogin(server, `${variant}/${adapter}`));
      } else if (variant === 'assertion') {
        headers.set(variant, await checkAssertion(server, assertion, `${variant}/${adapter}`));
      } else {
        await checkVariant(server, variant, `${variant}/${adapter}`);
        headers.set(variant, REQUEST_HEADERS);
      }
      await drive(server, WARMUP_SECONDS, headers.get(variant)!);
    }
    await servers.get('guard')?.ask('reset');
    await servers.get('session')?.ask('reset');
    await servers.get('assertion')?.ask('reset');
    for (let cycle = 0; cycle < CYCLES; cycle += 1) {
      const order = variants.map((_, i) => variants[(i + cycle) % variants.length]!);
      for (const variant of order) {
        const shown = variant === 'raw' ? '-' : adapter;
        const from = (performance.now() - loggedInAt) / 1000;
        const result = await burst(servers.get(variant)!, variant, shown, cycle, headers.get(variant)!);
        if (variant === 'session') {
          sessionWindow = { from: sessionWindow?.from ?? from, to: (performance.now() - loggedInAt) / 1000 };
        }
        bursts.push(result);
        console.log(
          `cycle ${cycle + 1}/${CYCLES} ${LABELS[variant]} ${shown}: ${Math.round(result.requestsPerSecond)} req/s, ` +
            `${result.cpuMicrosPerRequest.toFixed(1)} µs CPU/req, p99 ${result.p99} ms`,
        );
      }
    }
    if (servers.has('session'))
      await checkSessionCookie(servers.get('session')!, headers.get('session')!, `session/${adapter}`);
    const statsOf = async (variant: Variant) =>
      servers.has(variant) ? statementsOf(await servers.get(variant)!.ask('stats')) : NO_STATEMENTS;
    return {
      bursts,
      guard: await statsOf('guard'),
      session: await statsOf('session'),
      assertion: await statsOf('assertion'),
      sessionWindow,
    };
  } finally {
    for (const server of servers.values()) await server.stop();
  }
}

/** A per-cycle quantity over all cycles of one adapter, e.g. (c)/(b) throughput. */
function perCycle(bursts: Burst[], compute: (of: (variant: Variant) => Burst) => number): Spread {
  const cycles = [...new Set(bursts.map((b) => b.cycle))];
  return spread(
    cycles.map((cycle) =>
      compute((variant) => bursts.find((b) => b.cycle === cycle && b.variant === variant && b.adapter !== '-')!),
    ),
  );
}

interface GuardCost {
  iterations: number;
  rounds: number;
  libraryNsPerRequest: number;
  minNs: number;
  maxNs: number;
}

/** The library's own work per request, timed in-process (bench/guard-cost.ts). */
function measureGuardCost(): GuardCost {
  const output = execFileSync(process.execPath, ['--expose-gc', join(here, 'guard-cost.js')], {
    env: { ...process.env, DATABASE_URL: '' },
    encoding: 'utf8',
  });
  return JSON.parse(output.trim().split('\n').pop()!) as GuardCost;
}

function chart(rows: { label: string; requestsPerSecond: number; cpu: number; variant: Variant }[]): string {
  const width = 980;
  const rowHeight = 26;
  const left = 330;
  const panel = 280;
  const top = 50;
  const maxRate = Math.max(...rows.map((r) => r.requestsPerSecond));
  const maxCpu = Math.max(...rows.map((r) => r.cpu));
  const colours: Partial<Record<Variant, string>> = {
    guard: '#2b7a3d',
    session: '#6aa84f',
    assertion: '#93c47d',
    jwt: '#b5651d',
    raw: '#777',
  };
  const colour = (variant: Variant) => colours[variant] ?? '#3b6ea8';
  const bars = rows
    .map((row, i) => {
      const y = top + i * rowHeight;
      const rate = Math.max(1, Math.round(((panel - 70) * row.requestsPerSecond) / maxRate));
      const cpu = Math.max(1, Math.round(((panel - 70) * row.cpu) / maxCpu));
      const x2 = left + panel + 40;
      return [
        `<text x="${left - 8}" y="${y + 17}" text-anchor="end">${row.label}</text>`,
        `<rect x="${left}" y="${y + 4}" width="${rate}" height="${rowHeight - 8}" fill="${colour(row.variant)}"/>`,
        `<text x="${left + rate + 6}" y="${y + 17}">${Math.round(row.requestsPerSecond)}</text>`,
        `<rect x="${x2}" y="${y + 4}" width="${cpu}" height="${rowHeight - 8}" fill="${colour(row.variant)}"/>`,
        `<text x="${x2 + cpu + 6}" y="${y + 17}">${row.cpu.toFixed(1)}</text>`,
      ].join('');
    })
    .join('\n');
  const height = top + rows.length * rowHeight + 20;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="13">
<text x="10" y="22" font-size="15" font-weight="bold">GET /hello, ${CONNECTIONS} connections, medians of ${CYCLES} interleaved ${SECONDS} s bursts</text>
<text x="${left}" y="42" font-weight="bold">requests per second (higher is better)</text>
<text x="${left + panel + 40}" y="42" font-weight="bold">server CPU µs per request (lower is better)</text>
${bars}
</svg>
`;
}

const percent = (s: Spread) => `${s.median.toFixed(1)} % (${s.min.toFixed(0)}–${s.max.toFixed(0)})`;
const micros = (s: Spread) => `${s.median.toFixed(1)} µs (${s.min.toFixed(1)} to ${s.max.toFixed(1)})`;
const millis = (s: Spread) => `${s.median.toFixed(1)} ms (${s.min.toFixed(1)}–${s.max.toFixed(1)})`;

async function main(): Promise<void> {
  const started = Date.now();
  const assertion = await prepareAssertion();
  let express: AdapterRun;
  let fastify: AdapterRun;
  try {
    // Where (e) stands in the rotation puts its last burst late in the last cycle (see runAdapter).
    express = await runAdapter('express', ['raw', 'none', 'noop', 'guard', 'jwt', 'assertion', 'session'], assertion);
    fastify = await runAdapter('fastify', ['none', 'noop', 'guard', 'session', 'jwt', 'assertion'], assertion);
  } finally {
    rmSync(assertion.directory, { recursive: true, force: true });
  }
  const bursts = [...express.bursts, ...fastify.bursts];
  const profiles = { express: await profileLibraryShare('express'), fastify: await profileLibraryShare('fastify') };
  const cold = await measureColdPath();
  const guardCost = measureGuardCost();
  const propagation = await measurePropagation();
  console.log(describePropagation(propagation));

  const rank = (b: Burst) => (b.adapter === 'fastify' ? 10 : 0) + Object.keys(LABELS).indexOf(b.variant);
  const keys = [...new Set([...bursts].sort((a, b) => rank(a) - rank(b)).map((b) => `${b.variant}/${b.adapter}`))];
  const rows = keys.map((key) => {
    const same = bursts.filter((b) => `${b.variant}/${b.adapter}` === key);
    return {
      variant: same[0]!.variant,
      adapter: same[0]!.adapter,
      label: `${LABELS[same[0]!.variant]}${same[0]!.adapter === '-' ? '' : ` (${same[0]!.adapter})`}`,
      requestsPerSecond: median(same.map((b) => b.requestsPerSecond)),
      p50: median(same.map((b) => b.p50)),
      p99: median(same.map((b) => b.p99)),
      failures: same.reduce((sum, b) => sum + b.failures, 0),
      cpu: median(same.map((b) => b.cpuMicrosPerRequest)),
    };
  });
  const byAdapter = { express: express.bursts, fastify: fastify.bursts };
  const requestsOf = (variant: Variant, adapter?: Adapter) =>
    bursts
      .filter((b) => b.variant === variant && (adapter === undefined || b.adapter === adapter))
      .reduce((sum, b) => sum + b.requests, 0);
  const guardRequests = requestsOf('guard');
  const sessionRequests = requestsOf('session');
  const assertionRequests = requestsOf('assertion');
  const perRequest = (count: number, requests: number) => (count === 0 ? '0' : (count / requests).toExponential(1));
  const sessionSteadyState = (run: AdapterRun, adapter: Adapter) => {
    const requests = requestsOf('session', adapter);
    const queries = run.session.queries
      .map((q) => `${q.count} × \`${q.text.length > 64 ? `${q.text.slice(0, 64)}…` : q.text}\``)
      .join(', ');
    const plural = (count: number, word: string) => `${count} ${word}${count === 1 ? '' : 's'}`;
    const window = run.sessionWindow;
    return (
      `${adapter === 'express' ? 'Express' : 'Fastify'}: ${plural(run.session.statements, 'statement')} and ${plural(run.session.writes, 'write')} over ${requests.toLocaleString('en')} requests ` +
      `(${perRequest(run.session.statements, requests)} and ${perRequest(run.session.writes, requests)} per request)` +
      (window ? ` in bursts from ${window.from.toFixed(0)} s to ${window.to.toFixed(0)} s after the login` : '') +
      (queries ? `: ${queries}` : '')
    );
  };
  const ratioRow = (title: string, compute: (of: (variant: Variant) => Burst) => number, show = percent) =>
    `| ${title} | ${show(perCycle(byAdapter.express, compute))} | ${show(perCycle(byAdapter.fastify, compute))} |`;
  const rate = (of: (v: Variant) => Burst, a: Variant, b: Variant) =>
    (100 * of(a).requestsPerSecond) / of(b).requestsPerSecond;
  const capacity = (of: (v: Variant) => Burst, a: Variant, b: Variant) =>
    (100 * of(b).cpuMicrosPerRequest) / of(a).cpuMicrosPerRequest;
  const cost = (of: (v: Variant) => Burst, a: Variant, b: Variant) =>
    of(a).cpuMicrosPerRequest - of(b).cpuMicrosPerRequest;

  const perTenThousand = (bytes: number) =>
    ((bytes / 2 ** 20) * (10_000 / Math.max(1, cold.memory.cachedAfter - cold.memory.cachedBefore))).toFixed(1);
  const lines = [
    '# Benchmark results',
    '',
    `Run ${new Date().toISOString()} on ${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}.`,
    `autocannon, ${CONNECTIONS} connections; each server in its own process, warmed ${WARMUP_SECONDS} s, then ${CYCLES} cycles in which the variants of an adapter take turns with ${SECONDS} s bursts (order rotating). Medians over the cycles; client and server share the machine.`,
    '',
    '| variant | adapter | req/s | p50 ms | p99 ms | server CPU µs/req | failed requests |',
    '|---|---|---:|---:|---:|---:|---:|',
    ...rows.map(
      (r) =>
        `| ${LABELS[r.variant]} | ${r.adapter} | ${Math.round(r.requestsPerSecond)} | ${r.p50} | ${r.p99} | ${r.cpu.toFixed(1)} | ${r.failures} |`,
    ),
    '',
    'Ratios are computed inside each cycle; median (min–max) over the cycles.',
    '',
    '| ratio | Express | Fastify |',
    '|---|---:|---:|',
    ratioRow('(c)/(b) throughput, req/s', (of) => rate(of, 'guard', 'none')),
    ratioRow('(c)/(b) capacity, CPU per request of (b) / of (c)', (of) => capacity(of, 'guard', 'none')),
    ratioRow('(c)/(d) throughput', (of) => rate(of, 'guard', 'jwt')),
    ratioRow("(c)/(b') throughput: the library alone", (of) => rate(of, 'guard', 'noop')),
    ratioRow("(c)/(b') capacity: the library alone", (of) => capacity(of, 'guard', 'noop')),
    ratioRow("(b')/(b) throughput: a global guard and a database module", (of) => rate(of, 'noop', 'none')),
    ratioRow('server CPU per request added, (c) − (b)', (of) => cost(of, 'guard', 'none'), micros),
    ratioRow(
      "server CPU per request added by the library alone, (c) − (b')",
      (of) => cost(of, 'guard', 'noop'),
      micros,
    ),
    ratioRow(
      'CPU per request: session cookie vs headers, (e) / (c)',
      (of) => (100 * of('session').cpuMicrosPerRequest) / of('guard').cpuMicrosPerRequest,
    ),
    ratioRow(
      'server CPU per request, session cookie − headers, (e) − (c)',
      (of) => cost(of, 'session', 'guard'),
      micros,
    ),
    ratioRow('(e)/(c) throughput: session cookie vs headers', (of) => rate(of, 'session', 'guard')),
    ratioRow(
      'CPU per request: signed assertion vs headers, (f) / (c)',
      (of) => (100 * of('assertion').cpuMicrosPerRequest) / of('guard').cpuMicrosPerRequest,
    ),
    ratioRow(
      'server CPU per request, signed assertion − headers, (f) − (c)',
      (of) => cost(of, 'assertion', 'guard'),
      micros,
    ),
    ratioRow('(f)/(c) throughput: signed assertion vs headers', (of) => rate(of, 'assertion', 'guard')),
    '',
    `The library's own work per request, timed in-process without sockets (bench/guard-cost.ts: pre-routing inspection and TrustedHeaderGuard for a cached user, minus an allow-all guard on the same request objects; ${guardCost.rounds} alternating rounds of ${guardCost.iterations.toLocaleString('en')}): ` +
      `${(guardCost.libraryNsPerRequest / 1000).toFixed(2)} µs (${(guardCost.minNs / 1000).toFixed(2)} to ${(guardCost.maxNs / 1000).toFixed(2)}), that is ` +
      `${((100 * guardCost.libraryNsPerRequest) / 1000 / rows.find((r) => r.variant === 'none' && r.adapter === 'express')!.cpu).toFixed(1)} % of the server CPU of a (b) request on Express and ` +
      `${((100 * guardCost.libraryNsPerRequest) / 1000 / rows.find((r) => r.variant === 'none' && r.adapter === 'fastify')!.cpu).toFixed(1)} % on Fastify.`,
    '',
    `Where the time of (c) goes: CPU profiles (--cpu-prof) of (b') and (c), one after the other under the same load, self time per request in µs:`,
    '',
    "| µs per request | Express (b') | Express (c) | Fastify (b') | Fastify (c) |",
    '|---|---:|---:|---:|---:|',
    ...(
      [
        ['busy (not idle)', 'busy'],
        ['library functions (nestjs-trusted-header, its lru-cache)', 'library'],
        ['socket writes (kernel; on loopback they include the client side)', 'socketWrites'],
        ['garbage collection', 'garbageCollection'],
      ] as const
    ).map(
      ([label, field]) =>
        `| ${label} | ${profiles.express.baseline[field].toFixed(1)} | ${profiles.express.guard[field].toFixed(1)} | ${profiles.fastify.baseline[field].toFixed(1)} | ${profiles.fastify.guard[field].toFixed(1)} |`,
    ),
    '',
    `Steady state (c): ${express.guard.statements + fastify.guard.statements} database statements and ${express.guard.writes + fastify.guard.writes} writes over ${guardRequests.toLocaleString('en')} authenticated requests in the measured bursts (TypeORM logger, counted after warm-up). ` +
      'Any statements are the re-read of the user once its cache entry is older than AUTH_PROXY_SYNC_TTL_SECONDS (60 s; 2 reads, no write).',
    '',
    `Steady state (e), requests carrying only the session cookie of one user (logged in once with the identity headers before the warm-up): ` +
      `${express.session.statements + fastify.session.statements} database statements and ${express.session.writes + fastify.session.writes} writes over ${sessionRequests.toLocaleString('en')} requests in the measured bursts ` +
      `(TypeORM logger, counted after warm-up). ${sessionSteadyState(express, 'express')}. ${sessionSteadyState(fastify, 'fastify')}. ` +
      'By design the session is read again once its cache entry is older than AUTH_PROXY_SYNC_TTL_SECONDS (60 s), the user likewise, and last_seen_at is written at most once a minute per session, ' +
      `so bursts that go on past a minute after the login include one such round. A cookie-only request was answered as the user without setting a cookie before the warm-up and after the bursts; sessions cached at the end: ${express.session.cachedSessions ?? '-'} (Express), ${fastify.session.cachedSessions ?? '-'} (Fastify).`,
    '',
    `Steady state (f), requests carrying only the signed token (${ASSERTION.algorithm}, verified and cached before the warm-up): ` +
      `${express.assertion.statements + fastify.assertion.statements} database statements and ${express.assertion.writes + fastify.assertion.writes} writes over ${assertionRequests.toLocaleString('en')} requests in the measured bursts ` +
      '(TypeORM logger, counted after warm-up). The identity headers without the token and a token signed by another key were refused (401) before the warm-up.',
    '',
    `## Cold path (${cold.database})`,
    '',
    '| first logins (user, email, 3 external groups, audit events) | users | users/s | failures |',
    '|---|---:|---:|---:|',
    ...cold.provisioning.map(
      (p) => `| concurrency ${p.concurrency} | ${p.users} | ${Math.round(p.usersPerSecond)} | ${p.failures} |`,
    ),
    '',
    `Identity cache: after ${cold.memory.distinctUsers} distinct users the server holds ${cold.memory.cachedAfter} cached identities (bound ${CACHE_BOUND}; ${cold.memory.cachedBefore} before). ` +
      (cold.embedded
        ? `Growth from ${cold.memory.cachedBefore} to ${cold.memory.cachedAfter}, measured after a full GC: heap ${(cold.memory.heapBytes / 2 ** 20).toFixed(1)} MiB, ${perTenThousand(cold.memory.heapBytes)} MiB per 10,000 (the embedded database shares the heap and the RSS; run with DATABASE_URL for the cache alone).`
        : `Growth from ${cold.memory.cachedBefore} to ${cold.memory.cachedAfter}, measured after a full GC: heap ${(cold.memory.heapBytes / 2 ** 20).toFixed(1)} MiB, RSS ${(cold.memory.rssBytes / 2 ** 20).toFixed(1)} MiB; ` +
          `per 10,000 cached identities: heap ${perTenThousand(cold.memory.heapBytes)} MiB, RSS ${perTenThousand(cold.memory.rssBytes)} MiB (RSS also holds what the database driver and the allocator keep).`),
    '',
    `Group-mapping change through the admin API (${cold.mapping.changes} changes, mapping and unmapping): the user's next request carried the new groups ${cold.mapping.seenByNextRequest} times out of ${cold.mapping.changes}; that request took ${millis(cold.mapping.nextRequestMs)} (it reads the user again), a cached request ${millis(cold.mapping.cachedRequestMs)}.`,
    '',
    describePropagation(propagation),
    '',
    `Total bench time: ${Math.round((Date.now() - started) / 1000)} s.`,
    '',
  ];
  mkdirSync(results, { recursive: true });
  writeFileSync(join(results, 'latest.md'), lines.join('\n'));
  writeFileSync(join(results, 'throughput.svg'), chart(rows));
  console.log(lines.join('\n'));
}

void main().catch((error) => {
  console.error(error);
  process.exit(1);
});
