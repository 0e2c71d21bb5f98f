/**
 * `npm run bench`: the steady state of every variant, pinned (bench/steady-state.ts: servers on one core, wrk on
 * the other, two processes per variant, CPU per request from the kernel), the library's own work timed
 * in-process (bench/guard-cost.ts), the cold path against PostgreSQL's own speed (bench/cold-path.ts) and the
 * propagation of a change between instances (bench/propagation.ts). Writes bench/results/latest.md and
 * bench/results/throughput.svg (bench/report.ts).
 *
 * Settings: BENCH_SECONDS (per process and round, default 1), BENCH_ROUNDS (1), BENCH_WARMUP (seconds, 1),
 * BENCH_CONNECTIONS (50), BENCH_COPIES (processes per variant, 2), BENCH_PAIRED_ROUNDS (rounds of (b') side by
 * side with (g), (c), (e) and (f): the capacity targets and the floor, 4), BENCH_VARIANTS (comma-separated
 * subset of raw,none,noop,bare,guard,jwt,session,assertion), BENCH_ADAPTERS (express,fastify),
 * BENCH_COLD_SECONDS, BENCH_COLD_USERS; DATABASE_URL for the cold path, the PostgreSQL baseline and
 * propagation on a PostgreSQL server (else the embedded PGlite).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { measureColdPath } from './cold-path.js';
import { pinnedMethodUnavailable } from './pinned-load.js';
import { describePropagation, measurePropagation } from './propagation.js';
import { renderChart, renderReport, type GuardCost } from './report.js';
import type { Adapter } from './server-process.js';
import { measureAdapter, type AdapterRun, type SteadyStateSettings } from './steady-state.js';
import { listSetting } from './shared.js';
import { LABELS, prepareAssertion, type Variant } from './variants.js';

const here = dirname(fileURLToPath(import.meta.url));
const results = join(here, '..', '..', 'bench', 'results');
const CACHE_BOUND = 10_000;

const settings: SteadyStateSettings = {
  seconds: Number(process.env.BENCH_SECONDS ?? 1),
  warmupSeconds: Number(process.env.BENCH_WARMUP ?? 1),
  rounds: Number(process.env.BENCH_ROUNDS ?? 1),
  connections: Number(process.env.BENCH_CONNECTIONS ?? 50),
  copies: Number(process.env.BENCH_COPIES ?? 2),
  pairedRounds: Number(process.env.BENCH_PAIRED_ROUNDS ?? 4),
};

/** The library's own work per request, timed in-process (bench/guard-cost.ts). */
function measureGuardCost(): GuardCost {
  const output = execFileSync(process.execPath, ['--expose-gc', join(here, 'guard-cost.js')], {
    env: { ...process.env, DATABASE_URL: '' },
    encoding: 'utf8',
  });
  return JSON.parse(output.trim().split('\n').pop()!) as GuardCost;
}

async function main(): Promise<void> {
  const started = performance.now();
  const unavailable = pinnedMethodUnavailable();
  if (unavailable !== null) throw new Error(`npm run bench measures with the pinned method, and ${unavailable}`);
  const variants = listSetting('BENCH_VARIANTS', Object.keys(LABELS) as Variant[]);
  const adapters = listSetting<Adapter>('BENCH_ADAPTERS', ['express', 'fastify']);
  const assertion = await prepareAssertion();
  const runs: AdapterRun[] = [];
  try {
    for (const [i, adapter] of adapters.entries()) {
      // node:http has no adapter: it runs once, beside the first adapter's variants.
      const chosen = variants.filter((variant) => variant !== 'raw' || i === 0);
      runs.push(await measureAdapter(adapter, chosen, assertion, settings, (line) => console.log(line)));
    }
  } finally {
    rmSync(assertion.directory, { recursive: true, force: true });
  }
  const guardCost = measureGuardCost();
  const cold = await measureColdPath();
  const propagation = await measurePropagation();
  console.log(describePropagation(propagation));

  const data = {
    settings,
    runs,
    guardCost,
    cold,
    cacheBound: CACHE_BOUND,
    propagation,
    seconds: (performance.now() - started) / 1000,
    steadyDatabase: process.env.DATABASE_URL ? ('postgres' as const) : ('pglite' as const),
  };
  const report = renderReport(data);
  mkdirSync(results, { recursive: true });
  writeFileSync(join(results, 'latest.md'), report);
  writeFileSync(join(results, 'throughput.svg'), renderChart(data));
  console.log(report);
}

void main().catch((error) => {
  console.error(error);
  process.exit(1);
});
