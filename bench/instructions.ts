/**
 * `npm run bench:instructions`: instructions per request under callgrind, the measure that does not move with
 * the machine's speed. For each adapter it runs (b'), (c) and (e) (bench/server.ts) one after the other under
 * `valgrind --tool=callgrind` with counting off, warms each with BENCH_INSTR_WARMUP requests (30,000), counts
 * the main thread over BENCH_INSTR_REQUESTS more (6,000; the compiler threads, whose work differs from run to
 * run, are left out) and reports the ratios (b')/(c) and (b')/(e). Writes bench/results/instructions.md. Needs
 * valgrind; takes about 2 minutes per Fastify variant and 4 per Express variant on a 2-core machine.
 *
 * A process whose `process.nextTick` runs through V8's runtime (docs/performance.md: "A process can settle in
 * a state ...") costs tens of thousands of instructions more per request, whatever the variant: such a run is
 * reported and measured again, once.
 *
 * Settings: BENCH_ADAPTERS (express,fastify), BENCH_INSTR_WARMUP, BENCH_INSTR_REQUESTS, DATABASE_URL (else the
 * embedded PGlite).
 */
import autocannon from 'autocannon';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { REQUEST_HEADERS, ServerProcess, type Adapter } from './server-process.js';
import { checkVariant, LABELS, sessionLogin, type Headers, type Variant } from './variants.js';

const here = dirname(fileURLToPath(import.meta.url));
const results = join(here, '..', '..', 'bench', 'results');
const VARIANTS = ['noop', 'guard', 'session'] as const satisfies readonly Variant[];
const WARMUP = Number(process.env.BENCH_INSTR_WARMUP ?? 30_000);
const REQUESTS = Number(process.env.BENCH_INSTR_REQUESTS ?? 6_000);
/** The V8 runtime function `process.nextTick` goes through in the slow state, and what of it marks that state. */
const SLOW_STATE_MARK = 'Runtime_DefineKeyedOwnPropertyInLiteral';
const SLOW_STATE_PER_REQUEST = 5_000;

interface Count {
  readonly perRequest: number;
  /** Instructions per request in SLOW_STATE_MARK. */
  readonly slowState: number;
}

function valgrindUnavailable(): string | null {
  for (const tool of ['valgrind', 'callgrind_control']) {
    try {
      execFileSync(tool, ['--version'], { stdio: 'ignore' });
    } catch {
      return `${tool} is missing (Debian: apt-get install valgrind)`;
    }
  }
  return null;
}

async function load(url: string, headers: Headers, amount: number): Promise<void> {
  const result = await autocannon({ url, headers, connections: 10, amount, timeout: 60 });
  const failed = result.errors + result.timeouts + result.non2xx;
  if (failed > 0) throw new Error(`${url}: ${failed} of ${amount} requests failed or were refused`);
}

/**
 * The callgrind file's total, and the self cost of the functions whose name holds `mark`. The format names a
 * function once in full (`fn=(7) name`) and by its number after that; a `calls=` line is followed by the
 * inclusive cost of that call, which is not the caller's own.
 */
function readCallgrind(file: string, mark: string): { total: number; marked: number } {
  const names = new Map<string, string>();
  let current = '';
  let total = 0;
  let marked = 0;
  let afterCall = false;
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (line.startsWith('fn=')) {
      const named = /^fn=\((\d+)\)(?: (.*))?$/.exec(line);
      if (named === null) current = line.slice(3);
      else {
        if (named[2] !== undefined) names.set(named[1]!, named[2]);
        current = names.get(named[1]!) ?? '';
      }
    } else if (line.startsWith('calls=')) {
      afterCall = true;
    } else if (/^[0-9+*-]/.test(line)) {
      if (afterCall) afterCall = false;
      else if (current.includes(mark)) marked += Number(line.split(' ')[1] ?? 0);
    } else if (line.startsWith('totals:')) {
      total = Number(line.slice('totals:'.length));
    } else if (line.startsWith('cfn=')) {
      const named = /^cfn=\((\d+)\) (.*)$/.exec(line);
      if (named !== null) names.set(named[1]!, named[2]!);
    }
  }
  return { total, marked };
}

async function countOnce(variant: Variant, adapter: Adapter): Promise<Count> {
  const directory = mkdtempSync(join(tmpdir(), 'bench-callgrind-'));
  const launcher = [
    'valgrind',
    '--quiet',
    '--tool=callgrind',
    '--instr-atstart=no',
    '--separate-threads=yes',
    '--smc-check=all-non-file',
    `--callgrind-out-file=${join(directory, 'out.%p')}`,
  ];
  const server = await ServerProcess.start(variant, adapter, {}, [], launcher);
  try {
    const label = `${LABELS[variant]}/${adapter}`;
    let headers: Headers = REQUEST_HEADERS;
    if (variant === 'session') headers = await sessionLogin(server, label);
    else await checkVariant(server, variant, label);
    const url = server.url('/hello');
    await load(url, headers, WARMUP);
    const pid = String(server.pid);
    execFileSync('callgrind_control', ['--instr=on', pid], { stdio: 'ignore' });
    await load(url, headers, REQUESTS);
    execFileSync('callgrind_control', ['--instr=off', pid], { stdio: 'ignore' });
    execFileSync('callgrind_control', ['--dump', pid], { stdio: 'ignore' });
    // The dump of the main thread: out.<pid>.1-01 (dump 1, thread 1).
    const dump = readdirSync(directory).find((name) => name === `out.${pid}.1-01`);
    if (dump === undefined) throw new Error(`${label}: callgrind wrote no dump of the main thread`);
    const { total, marked } = readCallgrind(join(directory, dump), SLOW_STATE_MARK);
    return { perRequest: total / REQUESTS, slowState: marked / REQUESTS };
  } finally {
    await server.stop();
    rmSync(directory, { recursive: true, force: true });
  }
}

async function count(variant: Variant, adapter: Adapter, notes: string[]): Promise<number> {
  const first = await countOnce(variant, adapter);
  if (first.slowState < SLOW_STATE_PER_REQUEST) return first.perRequest;
  const again = await countOnce(variant, adapter);
  notes.push(
    `${LABELS[variant]} on ${adapter}: the first process was in the nextTick slow state ` +
      `(${Math.round(first.perRequest).toLocaleString('en')} instructions per request, ` +
      `${Math.round(first.slowState).toLocaleString('en')} of them in ${SLOW_STATE_MARK}); measured again` +
      (again.slowState < SLOW_STATE_PER_REQUEST ? '.' : ', and the second was too.'),
  );
  return again.perRequest;
}

async function main(): Promise<void> {
  const unavailable = valgrindUnavailable();
  if (unavailable !== null)
    throw new Error(`npm run bench:instructions runs the servers under callgrind, and ${unavailable}`);
  const started = performance.now();
  const adapters = (process.env.BENCH_ADAPTERS ?? 'express,fastify').split(',').map((a) => a.trim()) as Adapter[];
  const notes: string[] = [];
  const rows: string[] = [];
  for (const adapter of adapters) {
    const counts = new Map<Variant, number>();
    for (const variant of VARIANTS) {
      counts.set(variant, await count(variant, adapter, notes));
      console.log(`${adapter} ${variant}: ${Math.round(counts.get(variant)!)} instructions per request`);
    }
    const base = counts.get('noop')!;
    for (const variant of VARIANTS) {
      const instructions = counts.get(variant)!;
      const ratio = variant === 'noop' ? '1' : (base / instructions).toFixed(3);
      const more = variant === 'noop' ? '' : `+${Math.round(instructions - base).toLocaleString('en')}`;
      rows.push(
        `| ${LABELS[variant]} | ${adapter} | ${Math.round(instructions).toLocaleString('en')} | ${more} | ${ratio} |`,
      );
    }
  }
  const seconds = Math.round((performance.now() - started) / 1000);
  const report = [
    '# Instructions per request',
    '',
    `Run ${new Date().toISOString()}, Node ${process.version}; ${seconds} s in all. Each server under ` +
      `\`valgrind --tool=callgrind\`, ${WARMUP.toLocaleString('en')} requests of warm-up (autocannon, 10 ` +
      `connections), then the main thread counted over ${REQUESTS.toLocaleString('en')} requests. The ` +
      'capacity ratio of the side-by-side CPU measurement is about twice as far from 1 as the instruction ratio ' +
      '(docs/performance.md).',
    '',
    "| variant | adapter | instructions per request | more than (b') | (b') / it |",
    '|---|---|---:|---:|---:|',
    ...rows,
    '',
    ...(notes.length > 0 ? notes.map((note) => `- ${note}`) : ['No process was in the nextTick slow state.']),
    '',
  ].join('\n');
  writeFileSync(join(results, 'instructions.md'), report);
  console.log(report);
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  },
);
