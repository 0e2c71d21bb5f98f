/**
 * bench/results/latest.md and throughput.svg from what `npm run bench` measured: the pinned steady state, the
 * targets with the ranges measured, the library's in-process cost, CPU profiles, the cold path against
 * PostgreSQL's own speed, cache memory and propagation across instances.
 */
import { cpus, totalmem } from 'node:os';
import type { ColdPath } from './cold-path.js';
import { describePropagation, type Propagation } from './propagation.js';
import type { Adapter } from './server-process.js';
import { median, spread, type Spread } from './statistics.js';
import type { AdapterRun, Round, SteadyStateSettings, Statements } from './steady-state.js';
import { LABELS, type Variant } from './variants.js';

export interface GuardCost {
  iterations: number;
  rounds: number;
  libraryNsPerRequest: number;
  minNs: number;
  maxNs: number;
}

export interface ReportData {
  settings: SteadyStateSettings;
  runs: AdapterRun[];
  guardCost: GuardCost;
  cold: ColdPath;
  cacheBound: number;
  propagation: Propagation;
  seconds: number;
  /** Where the steady state's servers keep their users: a PostgreSQL server (DATABASE_URL) or PGlite each. */
  steadyDatabase: 'postgres' | 'pglite';
}

const VARIANT_ORDER = Object.keys(LABELS) as Variant[];

const fixed = (value: number, digits: number) => value.toFixed(digits);
const ratioText = (s: Spread) => `${fixed(s.median, 3)} (${fixed(s.min, 3)}–${fixed(s.max, 3)})`;
const microsText = (s: Spread) => `${fixed(s.median, 2)} µs (${fixed(s.min, 2)} to ${fixed(s.max, 2)})`;
const millis = (s: Spread) => `${fixed(s.median, 1)} ms (${fixed(s.min, 1)}–${fixed(s.max, 1)})`;

function roundsOf(run: AdapterRun, variant: Variant, copy?: number): Round[] {
  return run.rounds.filter((r) => r.variant === variant && (copy === undefined || r.copy === copy));
}

/** The mean CPU per request of a variant's processes in one round. */
function cpuInRound(run: AdapterRun, variant: Variant, round: number): number {
  const same = run.rounds.filter((r) => r.variant === variant && r.round === round);
  return same.reduce((sum, r) => sum + r.cpuMicrosPerRequest, 0) / same.length;
}

/** Capacity of `variant` relative to `baseline`: CPU per request of the baseline / of the variant, per round. */
export function capacity(run: AdapterRun, baseline: Variant, variant: Variant): Spread {
  const rounds = [...new Set(run.rounds.map((r) => r.round))];
  return spread(rounds.map((round) => cpuInRound(run, baseline, round) / cpuInRound(run, variant, round)));
}

/**
 * Capacity of a variant against (b') from the paired rounds, where both were loaded at the same time: every
 * pair's ratio, over rounds and processes (copy k of each), or of one process pair only. Null when the variant
 * had no paired rounds (it or (b') was not run).
 */
export function pairedCapacity(run: AdapterRun, variant: Variant, copy?: number): Spread | null {
  const pairs = run.paired.filter((p) => p.variant === variant && (copy === undefined || p.copy === copy));
  return pairs.length === 0 ? null : spread(pairs.map((p) => p.baselineCpu / p.variantCpu));
}

/** The same, process against process: copy k of the baseline with copy k of the variant. */
function capacityOfCopy(run: AdapterRun, baseline: Variant, variant: Variant, copy: number): Spread {
  const rounds = [...new Set(run.rounds.map((r) => r.round))];
  const cpu = (v: Variant, round: number) =>
    run.rounds.find((r) => r.variant === v && r.copy === copy && r.round === round)!.cpuMicrosPerRequest;
  return spread(rounds.map((round) => cpu(baseline, round) / cpu(variant, round)));
}

function addedMicros(run: AdapterRun, baseline: Variant, variant: Variant): Spread {
  const rounds = [...new Set(run.rounds.map((r) => r.round))];
  return spread(rounds.map((round) => cpuInRound(run, variant, round) - cpuInRound(run, baseline, round)));
}

function statementsLine(label: string, runs: AdapterRun[], pick: (run: AdapterRun) => Statements, variant: Variant) {
  const parts = runs.map((run) => {
    const s = pick(run);
    const requests = roundsOf(run, variant).reduce((sum, r) => sum + r.requests, 0);
    const queries = s.queries.map((q) => `${q.count} × \`${q.text.length > 64 ? `${q.text.slice(0, 64)}…` : q.text}\``);
    return (
      `${run.adapter}: ${s.statements} statements and ${s.writes} writes over ${requests.toLocaleString('en')} requests` +
      (queries.length > 0 ? ` (${queries.join(', ')})` : '')
    );
  });
  return `${label}: ${parts.join('; ')}.`;
}

export function renderReport(data: ReportData): string {
  const { runs, settings, cold, guardCost, propagation } = data;
  const runOf = (adapter: Adapter) => runs.find((run) => run.adapter === adapter);
  const express = runOf('express');
  const fastify = runOf('fastify');
  const both = (compute: (run: AdapterRun) => string) =>
    `${express ? compute(express) : '-'} | ${fastify ? compute(fastify) : '-'}`;
  const has = (variant: Variant) => runs.some((run) => run.rounds.some((r) => r.variant === variant));
  const verdict = (value: number | null, target: number, lowerIsBetter = false) =>
    value === null ? 'not measured' : (lowerIsBetter ? value <= target : value >= target) ? 'met' : 'not met';

  const processRows = runs.flatMap((run) =>
    VARIANT_ORDER.flatMap((variant) =>
      [...new Set(roundsOf(run, variant).map((r) => r.copy))].map((copy) => {
        const rounds = roundsOf(run, variant, copy);
        const cpu = spread(rounds.map((r) => r.cpuMicrosPerRequest));
        return (
          `| ${LABELS[variant]} | ${rounds[0]!.adapter} | ${copy} | ${fixed(cpu.median, 2)} (${fixed(cpu.min, 2)}–${fixed(cpu.max, 2)}) | ` +
          `${Math.round(median(rounds.map((r) => r.requestsPerSecond)))} | ${fixed(median(rounds.map((r) => r.p50Ms)), 2)} | ` +
          `${fixed(median(rounds.map((r) => r.p99Ms)), 2)} | ${rounds.reduce((sum, r) => sum + r.failures, 0)} |`
        );
      }),
    ),
  );

  const targetRow = (title: string, variant: Variant, target: { express: number; fastify: number }) =>
    has(variant) && has('noop')
      ? `| ${title} | ${both((run) => {
          const s = pairedCapacity(run, variant);
          return s === null ? 'not measured' : `${ratioText(s)}, ${verdict(s.median, target[run.adapter])}`;
        })} | ≥ ${target.express} Express, ≥ ${target.fastify} Fastify |`
      : null;
  /** `end` closes the row: the targets' table has one more column (the target) than the other ratios'. */
  const pairedPerCopyRow = (title: string, variant: Variant, end = ' |') =>
    has(variant) && has('noop')
      ? `| ${title} | ${both((run) =>
          [...new Set(run.paired.filter((p) => p.variant === variant).map((p) => p.copy))]
            .map((copy) => `#${copy}: ${ratioText(pairedCapacity(run, variant, copy)!)}`)
            .join('; '),
        )} |${end}`
      : null;
  const pairedRow = (title: string, variant: Variant) =>
    has(variant) && has('noop')
      ? `| ${title} | ${both((run) => {
          const s = pairedCapacity(run, variant);
          return s === null ? 'not measured' : ratioText(s);
        })} |`
      : null;
  const ratioRow = (title: string, baseline: Variant, variant: Variant) =>
    has(variant) && has(baseline)
      ? `| ${title} | ${both((run) => ratioText(capacity(run, baseline, variant)))} |`
      : null;
  const perCopyRow = (title: string, baseline: Variant, variant: Variant) =>
    has(variant) && has(baseline)
      ? `| ${title} | ${both((run) =>
          [1, 2]
            .filter((copy) => roundsOf(run, variant, copy).length > 0 && roundsOf(run, baseline, copy).length > 0)
            .map((copy) => `#${copy}: ${ratioText(capacityOfCopy(run, baseline, variant, copy))}`)
            .join('; '),
        )} |`
      : null;
  const microsRow = (title: string, baseline: Variant, variant: Variant) =>
    has(variant) && has(baseline)
      ? `| ${title} | ${both((run) => microsText(addedMicros(run, baseline, variant)))} |`
      : null;

  const baselineRatio = cold.baseline.ratio;
  const grown = Math.max(1, cold.memory.cachedAfter - cold.memory.cachedBefore);
  const heapPerIdentity = cold.embedded ? null : cold.memory.heldBytes / Math.max(1, cold.memory.heldIdentities);
  const concurrent = cold.provisioning.find((p) => p.concurrency === 50);

  const lines = [
    '# Benchmark results',
    '',
    `Run ${new Date().toISOString()} on ${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}; ${Math.round(data.seconds)} s in all.`,
    '',
    `Pinned: servers on core 1, the load generator (wrk, one thread, ${settings.connections} connections) on core 0. ` +
      `${settings.copies} processes of each variant; each warmed ${settings.warmupSeconds} s, then ${settings.rounds} rounds in which every process of an adapter is loaded in turn for ${settings.seconds} s (order rotating). ` +
      "CPU per request is the server process's CPU time (all threads, /proc/<pid>/task/*/schedstat) over the round divided by its responses. Ratios are taken inside each round; median (min–max) over the rounds. " +
      `The capacity targets come from ${settings.pairedRounds} more rounds in which (b')#k and (c)#k, (b')#k and (e)#k, (b')#k and (f)#k (and (g)#k, the bare guard) are loaded side by side, at the same time (one wrk each on core 0, both servers on core 1), for ${settings.seconds} s: both sides of each ratio meet the same seconds of the machine. Median (min–max) over every pair of every round. ` +
      (data.steadyDatabase === 'postgres'
        ? 'Every server that opens a database has one of its own on the PostgreSQL server of DATABASE_URL.'
        : 'The servers keep their users in an embedded PGlite each (no DATABASE_URL), which costs the guard variants more than a PostgreSQL server does.'),
    '',
    '## Targets',
    '',
    '| what | Express | Fastify | target |',
    '|---|---|---|---|',
    targetRow("capacity of the guard vs the allow-all guard: CPU per request of (b') / of (c)", 'guard', {
      express: 0.98,
      fastify: 0.95,
    }),
    pairedPerCopyRow("the same, process by process (b')#k / (c)#k", 'guard'),
    targetRow("with a session cookie: (b') / (e)", 'session', { express: 0.93, fastify: 0.93 }),
    targetRow("with a verified signed assertion: (b') / (f)", 'assertion', { express: 0.93, fastify: 0.93 }),
    `| first logins/s at concurrency 50 on ${cold.embedded ? 'embedded PGlite' : 'PostgreSQL'} / pgbench with the same ${cold.baseline.statements} statements at -c 50 | ${
      baselineRatio === null
        ? `not measured: ${cold.baseline.unavailable ?? 'needs DATABASE_URL'}`
        : `${fixed(baselineRatio, 2)} (${Math.round(cold.baseline.appUsersPerSecond ?? 0)} users/s vs ${Math.round(cold.baseline.pgbenchTps ?? 0)} tps), ${verdict(baselineRatio, 0.5)}`
    } | | ≥ 0.5 |`,
    `| heap per cached identity (after a full GC: the cache full minus emptied, ${cold.memory.heldIdentities.toLocaleString('en')} identities) | ${
      heapPerIdentity === null
        ? 'not measured: the embedded database shares the heap (set DATABASE_URL)'
        : `${fixed(heapPerIdentity / 1024, 2)} KB, ${verdict(heapPerIdentity / 1024, 0.5, true)}`
    } | | ≤ 0.5 KB |`,
    `| a disable reaching another instance (LISTEN/NOTIFY) | ${
      propagation.medianMs !== null && propagation.maxMs !== null
        ? `median ${fixed(propagation.medianMs, 1)} ms, max ${fixed(propagation.maxMs, 1)} ms over ${propagation.changes} changes, ${verdict(propagation.maxMs, 1000, true)}`
        : `not measured: ${propagation.skipped ?? 'skipped'}`
    } | | < 1 s |`,
    '',
    '## Steady state, every process',
    '',
    '| variant | adapter | process | server CPU µs/req, median (min–max) | req/s | p50 ms | p99 ms | failed |',
    '|---|---|---:|---:|---:|---:|---:|---:|',
    ...processRows,
    '',
    '| more ratios (capacity: CPU per request of the first / of the second) | Express | Fastify |',
    '|---|---|---|',
    pairedRow(
      "(b') / (g), side by side as the targets: a bare header guard, the least any guard trusting a header costs",
      'bare',
    ),
    pairedPerCopyRow("the same, process by process (b')#k / (g)#k", 'bare', ''),
    ratioRow("(b') / (c), loaded in turn rather than together", 'noop', 'guard'),
    perCopyRow("the same, process by process (b')#k / (c)#k", 'noop', 'guard'),
    ratioRow('(b) / (c): the guard vs Nest without auth', 'none', 'guard'),
    ratioRow('(d) / (c): the guard vs passport-jwt HS256', 'jwt', 'guard'),
    microsRow("server CPU per request added by the library, (c) − (b')", 'noop', 'guard'),
    microsRow('session cookie − headers, (e) − (c)', 'guard', 'session'),
    microsRow('signed assertion − headers, (f) − (c)', 'guard', 'assertion'),
    '',
    `The library's own work per request, timed in-process without sockets (bench/guard-cost.ts: pre-routing inspection and TrustedHeaderGuard for a cached user, minus an allow-all guard on the same request objects; ${guardCost.rounds} alternating rounds of ${guardCost.iterations.toLocaleString('en')}): ` +
      `${fixed(guardCost.libraryNsPerRequest / 1000, 2)} µs (${fixed(guardCost.minNs / 1000, 2)} to ${fixed(guardCost.maxNs / 1000, 2)}).`,
    '',
  ].filter((line): line is string => line !== null && line !== undefined);

  const profiled = runs.filter((run) => run.profiles !== undefined);
  if (profiled.length > 0) {
    lines.push(
      "Where the time goes: V8 CPU profiles of (b')#1 and (c)#1 over one more round each, self time per request in µs (the profiler slows the process; compare the columns with each other):",
      '',
      `| µs per request | ${profiled.map((run) => `${run.adapter} (b') | ${run.adapter} (c)`).join(' | ')} |`,
      `|---|${profiled.map(() => '---:|---:').join('|')}|`,
      ...(
        [
          ['busy (not idle)', 'busy'],
          ['library functions (nestjs-trusted-header, its lru-cache)', 'library'],
          ['socket writes (kernel; on loopback they include the receiving side)', 'socketWrites'],
          ['garbage collection', 'garbageCollection'],
        ] as const
      ).map(
        ([label, field]) =>
          `| ${label} | ${profiled.map((run) => `${fixed(run.profiles!.baseline[field], 2)} | ${fixed(run.profiles!.guard[field], 2)}`).join(' | ')} |`,
      ),
      '',
    );
  }

  lines.push(
    statementsLine('Steady state (c), database statements after warm-up', runs, (run) => run.guard, 'guard') +
      ' Any are the re-read of the user once its cache entry is older than AUTH_PROXY_SYNC_TTL_SECONDS (60 s).',
    '',
    statementsLine('Steady state (e), session cookie only', runs, (run) => run.session, 'session') +
      ` Sessions and users are read again after AUTH_PROXY_SYNC_TTL_SECONDS and last_seen_at is written at most once a minute per session; the measured rounds ran from ${runs
        .filter((run) => run.sessionWindow)
        .map((run) => `${run.adapter} ${fixed(run.sessionWindow!.from, 0)} s to ${fixed(run.sessionWindow!.to, 0)} s`)
        .join(
          ', ',
        )} after the login. The cookie alone was the user, with no new cookie, before the warm-up and after the rounds.`,
    '',
    statementsLine('Steady state (f), signed token only', runs, (run) => run.assertion, 'assertion') +
      ' The identity headers without the token, and a token signed by another key, were refused (401) before the warm-up.',
    '',
    `## Cold path (${cold.database})`,
    '',
    '| first logins (user, email, 3 external groups, audit events) | users | users/s | failures |',
    '|---|---:|---:|---:|',
    ...cold.provisioning.map(
      (p) => `| concurrency ${p.concurrency} | ${p.users} | ${Math.round(p.usersPerSecond)} | ${p.failures} |`,
    ),
    '',
    baselineRatio === null
      ? `PostgreSQL baseline: ${cold.baseline.unavailable ?? 'not measured'}. One first login is ${cold.baseline.statements} statements.`
      : `PostgreSQL baseline: pgbench (\`${cold.baseline.command}\`) ran the ${cold.baseline.statements} statements one first login issues (traced from the server, with a new username and email per transaction) ${cold.baseline.transactions} times at ${Math.round(cold.baseline.pgbenchTps!)} transactions/s; the application did ${Math.round(concurrent?.usersPerSecond ?? 0)} first logins/s at the same concurrency: ${fixed(baselineRatio, 2)}.`,
    '',
    `Identity cache: ${cold.memory.cachedAfter} cached identities after ${cold.memory.distinctUsers} distinct users (bound ${data.cacheBound}; ${cold.memory.cachedBefore} before). ` +
      (cold.embedded
        ? `Heap growth ${fixed(cold.memory.heapBytes / 2 ** 20, 1)} MiB, which includes the embedded database's (run with DATABASE_URL for the cache alone).`
        : `After a full GC the full cache held ${fixed(cold.memory.heldBytes / 2 ** 20, 2)} MiB of heap more than the emptied one: ${fixed(cold.memory.heldBytes / Math.max(1, cold.memory.heldIdentities), 0)} bytes per cached identity. ` +
          `The heap grew by ${fixed(cold.memory.heapBytes / 2 ** 20, 1)} MiB over the concurrent round (${fixed(cold.memory.heapBytes / grown, 0)} bytes per identity cached in it; this also holds the connections the pool opened for the round and code compiled meanwhile), RSS by ${fixed(cold.memory.rssBytes / 2 ** 20, 1)} MiB.`),
    '',
    `Group-mapping change through the admin API (${cold.mapping.changes} changes): the user's next request carried the new groups ${cold.mapping.seenByNextRequest} times out of ${cold.mapping.changes}; that request took ${millis(cold.mapping.nextRequestMs)}, a cached request ${millis(cold.mapping.cachedRequestMs)}.`,
    '',
    describePropagation(propagation),
    '',
  );
  return lines.join('\n');
}

/** Requests per second and CPU per request of each variant (median over its processes and rounds). */
export function renderChart(data: ReportData): string {
  const rows = data.runs.flatMap((run) =>
    VARIANT_ORDER.filter((variant) => roundsOf(run, variant).length > 0).map((variant) => {
      const rounds = roundsOf(run, variant);
      return {
        label: `${LABELS[variant]}${rounds[0]!.adapter === '-' ? '' : ` (${run.adapter})`}`,
        variant,
        requestsPerSecond: median(rounds.map((r) => r.requestsPerSecond)),
        cpu: median(rounds.map((r) => r.cpuMicrosPerRequest)),
      };
    }),
  );
  const width = 1120;
  const rowHeight = 26;
  const left = 480;
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
  const bars = rows
    .map((row, i) => {
      const y = top + i * rowHeight;
      const colour = colours[row.variant] ?? '#3b6ea8';
      const rate = Math.max(1, Math.round(((panel - 70) * row.requestsPerSecond) / maxRate));
      const cpu = Math.max(1, Math.round(((panel - 70) * row.cpu) / maxCpu));
      const x2 = left + panel + 40;
      return [
        `<text x="${left - 8}" y="${y + 17}" text-anchor="end">${row.label}</text>`,
        `<rect x="${left}" y="${y + 4}" width="${rate}" height="${rowHeight - 8}" fill="${colour}"/>`,
        `<text x="${left + rate + 6}" y="${y + 17}">${Math.round(row.requestsPerSecond)}</text>`,
        `<rect x="${x2}" y="${y + 4}" width="${cpu}" height="${rowHeight - 8}" fill="${colour}"/>`,
        `<text x="${x2 + cpu + 6}" y="${y + 17}">${row.cpu.toFixed(1)}</text>`,
      ].join('');
    })
    .join('\n');
  const height = top + rows.length * rowHeight + 20;
  const { settings } = data;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="13">
<text x="10" y="22" font-size="15" font-weight="bold">GET /hello, server pinned to one core, wrk ${settings.connections} connections on the other; medians of ${settings.copies} processes × ${settings.rounds} rounds</text>
<text x="${left}" y="42" font-weight="bold">requests per second (higher is better)</text>
<text x="${left + panel + 40}" y="42" font-weight="bold">server CPU µs per request (lower is better)</text>
${bars}
</svg>
`;
}
