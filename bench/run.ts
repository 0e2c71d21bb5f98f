/**
 * `npm run bench`: starts each server variant in its own process, drives it with autocannon over loopback for
 * a bounded time, and writes bench/results/latest.md and bench/results/throughput.svg. Compares ratios measured
 * in the same run; absolute numbers depend on the machine.
 */
import autocannon from 'autocannon';
import jwt from 'jsonwebtoken';
import { LRUCache } from 'lru-cache';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { JWT_SECRET } from './shared.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const results = join(root, 'bench', 'results');
const WARMUP_SECONDS = Number(process.env.BENCH_WARMUP ?? 1);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
/** Variants run interleaved, round after round; the report takes each one's median, which tames the noise of
 * a client and a server sharing two cores. */
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);

type Variant = 'raw' | 'none' | 'noop' | 'guard' | 'jwt';
type Adapter = 'express' | 'fastify';
interface Measurement {
  variant: Variant;
  adapter: Adapter | '-';
  requestsPerSecond: number;
  p50: number;
  p99: number;
  non2xx: number;
  statements?: number;
  writes?: number;
}

const LABELS: Record<Variant, string> = {
  raw: '(a) node:http',
  none: '(b) Nest, no auth',
  noop: "(b') Nest + allow-all global guard",
  guard: '(c) Nest + TrustedHeaderGuard',
  jwt: '(d) Nest + passport-jwt HS256',
};

async function startServer(
  variant: Variant,
  adapter: Adapter,
  port: number,
  env: NodeJS.ProcessEnv = {},
): Promise<ChildProcess> {
  const child = spawn(process.execPath, [join(here, 'server.js'), variant, adapter, String(port)], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => chunk.toString().includes('READY') && resolve());
    child.once('exit', (code) => reject(new Error(`${variant}/${adapter} exited with ${code}`)));
  });
  return child;
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  child.kill('SIGKILL');
  await new Promise((resolve) => child.once('exit', resolve));
}

function headersFor(variant: Variant): Record<string, string> {
  if (variant === 'guard')
    return { 'Remote-User': 'bench-user', 'Remote-Groups': 'staff,finance', 'Remote-Email': 'bench@example.org' };
  if (variant === 'jwt')
    return {
      Authorization: `Bearer ${jwt.sign({ sub: 'bench-user' }, JWT_SECRET, { algorithm: 'HS256', expiresIn: '1h' })}`,
    };
  return {};
}

function drive(port: number, headers: Record<string, string>, seconds: number): Promise<autocannon.Result> {
  return autocannon({ url: `http://127.0.0.1:${port}/hello`, connections: CONNECTIONS, duration: seconds, headers });
}

async function json(port: number, path: string): Promise<any> {
  return (await fetch(`http://127.0.0.1:${port}${path}`)).json();
}

let nextPort = 41_000 + Math.floor(Math.random() * 1000);

async function measure(variant: Variant, adapter: Adapter): Promise<Measurement> {
  const port = nextPort++;
  const server = await startServer(variant, adapter, port);
  try {
    const headers = headersFor(variant);
    const first = await fetch(`http://127.0.0.1:${port}/hello`, { headers });
    if (first.status !== 200) throw new Error(`${variant}/${adapter}: first request answered ${first.status}`);
    await drive(port, headers, WARMUP_SECONDS);
    if (variant === 'guard') await json(port, '/bench/reset');
    const result = await drive(port, headers, SECONDS);
    const measurement: Measurement = {
      variant,
      adapter: variant === 'raw' ? '-' : adapter,
      requestsPerSecond: result.requests.average,
      p50: result.latency.p50,
      p99: result.latency.p99,
      non2xx: result.non2xx + result.errors,
    };
    if (variant === 'guard') {
      const stats = await json(port, '/bench/stats');
      measurement.statements = stats.statements;
      measurement.writes = stats.writes;
    }
    console.log(
      `${LABELS[variant]} ${measurement.adapter}: ${Math.round(measurement.requestsPerSecond)} req/s, p50 ${measurement.p50} ms, p99 ${measurement.p99} ms`,
    );
    return measurement;
  } finally {
    await stop(server);
  }
}

/** RSS and heap of the identity cache alone, and proof that it stays at its bound. */
function measureCache(): { bytesPer10k: number; sizeAfter20k: number; max: number } {
  const global = globalThis as { gc?: () => void };
  const max = 10_000;
  const user = (i: number) =>
    Object.freeze({
      id: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
      username: `user-${i}`,
      email: `user-${i}@example.org`,
      displayName: `User ${i}`,
      groups: Object.freeze(['staff', 'finance']),
      externalGroups: Object.freeze(['cn=staff,ou=groups,dc=example,dc=org', 'cn=finance,ou=groups,dc=example,dc=org']),
      isAdmin: false,
    });
  global.gc?.();
  const before = process.memoryUsage().heapUsed;
  const cache = new LRUCache<string, object>({ max, ttl: 60_000 });
  for (let i = 0; i < max; i += 1) {
    cache.set(
      JSON.stringify([`user-${i}`, `user-${i}@example.org`, `User ${i}`, ['cn=staff,ou=groups,dc=example,dc=org']]),
      { disabled: false, user: user(i) },
    );
  }
  global.gc?.();
  const bytesPer10k = process.memoryUsage().heapUsed - before;
  for (let i = max; i < 2 * max; i += 1) cache.set(`extra-${i}`, { disabled: false, user: user(i) });
  return { bytesPer10k, sizeAfter20k: cache.size, max };
}

/** First-login provisioning against PostgreSQL (DATABASE_URL): new users per second at concurrency 1 and 50. */
async function measureColdPath(): Promise<{ concurrency: number; usersPerSecond: number; failures: number }[] | null> {
  const serverUrl = process.env.DATABASE_URL;
  if (!serverUrl) return null;
  const name = `bench_${Date.now()}`;
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE "${name}"`);
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  const port = nextPort++;
  const server = await startServer('guard', 'fastify', port, { DATABASE_URL: url.toString() });
  const rows: { concurrency: number; usersPerSecond: number; failures: number }[] = [];
  try {
    for (const concurrency of [1, 50]) {
      const users = concurrency === 1 ? 300 : 2000;
      let next = 0;
      let failures = 0;
      const started = performance.now();
      await Promise.all(
        Array.from({ length: concurrency }, async () => {
          while (next < users) {
            const i = next++;
            const response = await fetch(`http://127.0.0.1:${port}/hello`, {
              headers: {
                'Remote-User': `cold-${concurrency}-${i}`,
                'Remote-Groups': 'staff,finance,ops',
                'Remote-Email': `cold-${concurrency}-${i}@example.org`,
              },
            });
            await response.arrayBuffer();
            if (response.status !== 200) failures += 1;
          }
        }),
      );
      rows.push({ concurrency, usersPerSecond: users / ((performance.now() - started) / 1000), failures });
    }
  } finally {
    await stop(server);
    await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    await admin.end();
  }
  return rows;
}

function chart(measurements: Measurement[]): string {
  const width = 760;
  const rowHeight = 26;
  const left = 300;
  const top = 40;
  const maxValue = Math.max(...measurements.map((m) => m.requestsPerSecond));
  const bars = measurements
    .map((m, i) => {
      const y = top + i * rowHeight;
      const barWidth = Math.max(1, Math.round(((width - left - 90) * m.requestsPerSecond) / maxValue));
      const colour =
        m.variant === 'guard' ? '#2b7a3d' : m.variant === 'jwt' ? '#b5651d' : m.variant === 'raw' ? '#777' : '#3b6ea8';
      const label = `${LABELS[m.variant]}${m.adapter === '-' ? '' : ` (${m.adapter})`}`;
      return `<text x="${left - 8}" y="${y + 17}" text-anchor="end">${label}</text><rect x="${left}" y="${y + 4}" width="${barWidth}" height="${rowHeight - 8}" fill="${colour}"/><text x="${left + barWidth + 6}" y="${y + 17}">${Math.round(m.requestsPerSecond)}</text>`;
    })
    .join('\n');
  const height = top + measurements.length * rowHeight + 20;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="13">
<text x="10" y="22" font-size="15" font-weight="bold">Requests per second, GET /hello, ${CONNECTIONS} connections, ${SECONDS} s (higher is better)</text>
${bars}
</svg>
`;
}

function ratio(a?: Measurement, b?: Measurement): string {
  return a && b ? `${((100 * a.requestsPerSecond) / b.requestsPerSecond).toFixed(1)} %` : 'n/a';
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

async function main(): Promise<void> {
  const started = Date.now();
  const runs: Measurement[] = [];
  for (let round = 0; round < ROUNDS; round += 1) {
    runs.push(await measure('raw', 'express'));
    for (const adapter of ['express', 'fastify'] as const) {
      for (const variant of ['none', 'noop', 'guard', 'jwt'] as const) runs.push(await measure(variant, adapter));
    }
  }
  const keys = [...new Set(runs.map((m) => `${m.variant}/${m.adapter}`))];
  const measurements: Measurement[] = keys.map((key) => {
    const same = runs.filter((m) => `${m.variant}/${m.adapter}` === key);
    return {
      ...same[0]!,
      requestsPerSecond: median(same.map((m) => m.requestsPerSecond)),
      p50: median(same.map((m) => m.p50)),
      p99: median(same.map((m) => m.p99)),
      non2xx: same.reduce((sum, m) => sum + m.non2xx, 0),
      statements: same[0]!.statements === undefined ? undefined : same.reduce((sum, m) => sum + (m.statements ?? 0), 0),
      writes: same[0]!.writes === undefined ? undefined : same.reduce((sum, m) => sum + (m.writes ?? 0), 0),
    };
  });
  const roundRatios = (adapter: Adapter) =>
    Array.from({ length: ROUNDS }, (_, round) => {
      const inRound = runs.slice(round * 9, round * 9 + 9);
      const guard = inRound.find((m) => m.variant === 'guard' && m.adapter === adapter)!;
      const none = inRound.find((m) => m.variant === 'none' && m.adapter === adapter)!;
      return ((100 * guard.requestsPerSecond) / none.requestsPerSecond).toFixed(0);
    }).join(', ');
  const cache = measureCache();
  const cold = await measureColdPath();

  const find = (variant: Variant, adapter: Adapter) =>
    measurements.find((m) => m.variant === variant && m.adapter === adapter);
  const lines = [
    '# Benchmark results',
    '',
    `Run ${new Date().toISOString()} on ${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}.`,
    `autocannon, ${CONNECTIONS} connections, ${WARMUP_SECONDS} s warm-up then ${SECONDS} s measured per variant, ${ROUNDS} interleaved rounds, medians shown; each server in its own process; client and server share the machine.`,
    '',
    '| variant | adapter | req/s | p50 ms | p99 ms | non-2xx | DB statements | DB writes |',
    '|---|---|---:|---:|---:|---:|---:|---:|',
    ...measurements.map(
      (m) =>
        `| ${LABELS[m.variant]} | ${m.adapter} | ${Math.round(m.requestsPerSecond)} | ${m.p50} | ${m.p99} | ${m.non2xx} | ${m.statements ?? ''} | ${m.writes ?? ''} |`,
    ),
    '',
    '| ratio (same run) | Express | Fastify |',
    '|---|---:|---:|',
    `| (c) guard / (b) no auth | ${ratio(find('guard', 'express'), find('none', 'express'))} | ${ratio(find('guard', 'fastify'), find('none', 'fastify'))} |`,
    `| (c) guard / (d) passport-jwt | ${ratio(find('guard', 'express'), find('jwt', 'express'))} | ${ratio(find('guard', 'fastify'), find('jwt', 'fastify'))} |`,
    `| (c) / (b) in each round, % | ${roundRatios('express')} | ${roundRatios('fastify')} |`,
    `| (b') allow-all guard / (b) no auth | ${ratio(find('noop', 'express'), find('none', 'express'))} | ${ratio(find('noop', 'fastify'), find('none', 'fastify'))} |`,
    `| (c) guard / (b') allow-all guard | ${ratio(find('guard', 'express'), find('noop', 'express'))} | ${ratio(find('guard', 'fastify'), find('noop', 'fastify'))} |`,
    '',
    `Steady state (c): DB statements and writes counted by a TypeORM logger over the measured seconds of all rounds, after warm-up.`,
    '',
    `Identity cache: ${(cache.bytesPer10k / 2 ** 20).toFixed(1)} MiB of heap for 10,000 cached identities (2 groups each); after 20,000 inserts the cache holds ${cache.sizeAfter20k} (bound ${cache.max}).`,
    '',
    cold
      ? [
          '| first-login provisioning (PostgreSQL, 3 groups each) | users/s | failures |',
          '|---|---:|---:|',
          ...cold.map(
            (row) => `| concurrency ${row.concurrency} | ${Math.round(row.usersPerSecond)} | ${row.failures} |`,
          ),
        ].join('\n')
      : 'First-login provisioning: not measured (set DATABASE_URL to a PostgreSQL server).',
    '',
    `Total bench time: ${Math.round((Date.now() - started) / 1000)} s.`,
    '',
  ];
  mkdirSync(results, { recursive: true });
  writeFileSync(join(results, 'latest.md'), lines.join('\n'));
  writeFileSync(join(results, 'throughput.svg'), chart(measurements));
  console.log(lines.join('\n'));
}

void main().catch((error) => {
  console.error(error);
  process.exit(1);
});
