/**
 * `npm run bench:instructions`: instructions per request under callgrind, the measure that does not move with
 * the machine's speed, and what those instructions miss in a simulated cache. For each adapter it runs (b'),
 * (c) and (e) (bench/server.ts) one after the other under `valgrind --tool=callgrind` with counting off, warms
 * each with BENCH_INSTR_WARMUP requests (30,000), counts the main thread over BENCH_INSTR_REQUESTS more (6,000;
 * the compiler threads, whose work differs from run to run, are left out) and reports the ratios (b')/(c) and
 * (b')/(e). Writes bench/results/instructions.md. Needs valgrind; takes about 3 minutes per Fastify variant and
 * 5 per Express variant on a 2-core machine.
 *
 * Instructions alone predict the CPU ratio badly: the guard's code and data push the request's working set
 * further out of the caches, and each miss costs cycles an instruction count does not see
 * (docs/performance.md, "What the caches say"). So callgrind also simulates the caches and branch predictor
 * (`--cache-sim`, `--branch-sim`) and the report gives a modelled cycle count beside the instructions.
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

/**
 * The simulated caches, fixed rather than read from the host: valgrind takes them from the CPU's description,
 * which a virtual machine may fill with anything (one here announced a 512 MB direct-mapped L3), and fixed
 * sizes keep runs on different machines comparable. 32 KB 8-way level-1 caches and, as the last level, a 512 KB
 * 8-way cache: the per-core L2 of current x86 server cores, the level a request's code spills out of.
 */
const CACHES = ['--I1=32768,8,64', '--D1=32768,8,64', '--LL=524288,8,64'];

/**
 * Cycles per event of the model: an instruction 1, a level-1 miss served by the L2 12, a miss of the L2 40 (an
 * L3 hit), a mispredicted branch 16, as published for current x86 server cores. A model, not a measurement:
 * it ranks what costs what (docs/performance.md compares it with the measured CPU ratios).
 */
const CYCLES = { instruction: 1, l1Miss: 12, l2Miss: 40, mispredict: 16 } as const;

/** Per request, from callgrind's events (Ir; I1mr, D1mr, D1mw; ILmr, DLmr, DLmw; Bcm, Bim). */
interface Count {
  readonly instructions: number;
  readonly l1InstructionMisses: number;
  readonly l1DataMisses: number;
  readonly l2Misses: number;
  readonly mispredicts: number;
  readonly cycles: number;
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
 * The callgrind file's totals per event, and the instructions (the first event) of the functions whose name
 * holds `mark`. The format names a function once in full (`fn=(7) name`) and by its number after that; a
 * `calls=` line is followed by the inclusive cost of that call, which is not the caller's own.
 */
function readCallgrind(file: string, mark: string): { totals: Map<string, number>; marked: number } {
  const names = new Map<string, string>();
  let current = '';
  let events: string[] = [];
  const totals = new Map<string, number>();
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
    } else if (line.startsWith('events:')) {
      events = line.slice('events:'.length).trim().split(' ');
    } else if (line.startsWith('totals:')) {
      // Events left off at the end of the line are zero.
      const values = line.slice('totals:'.length).trim().split(' ');
      events.forEach((event, i) => totals.set(event, Number(values[i] ?? 0)));
    } else if (line.startsWith('cfn=')) {
      const named = /^cfn=\((\d+)\) (.*)$/.exec(line);
      if (named !== null) names.set(named[1]!, named[2]!);
    }
  }
  return { totals, marked };
}

function countOf(totals: Map<string, number>, marked: number, requests: number): Count {
  const per = (...events: string[]) => events.reduce((sum, event) => sum + (totals.get(event) ?? 0), 0) / requests;
  const instructions = per('Ir');
  const l1InstructionMisses = per('I1mr');
  const l1DataMisses = per('D1mr', 'D1mw');
  const l2Misses = per('ILmr', 'DLmr', 'DLmw');
  const mispredicts = per('Bcm', 'Bim');
  const cycles =
    instructions * CYCLES.instruction +
    (l1InstructionMisses + l1DataMisses) * CYCLES.l1Miss +
    l2Misses * CYCLES.l2Miss +
    mispredicts * CYCLES.mispredict;
  return {
    instructions,
    l1InstructionMisses,
    l1DataMisses,
    l2Misses,
    mispredicts,
    cycles,
    slowState: marked / requests,
  };
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
    '--cache-sim=yes',
    '--branch-sim=yes',
    ...CACHES,
    `--callgrind-out-file=${join(directory, 'out.%p')}`,
  ];
  const server = await ServerProcess.start(variant, adapter, { BENCH_UNDER_VALGRIND: '1' }, [], launcher);
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
    const { totals, marked } = readCallgrind(join(directory, dump), SLOW_STATE_MARK);
    if (!totals.has('I1mr')) throw new Error(`${label}: callgrind simulated no cache (events ${[...totals.keys()]})`);
    return countOf(totals, marked, REQUESTS);
  } finally {
    await server.stop();
    rmSync(directory, { recursive: true, force: true });
  }
}

async function count(variant: Variant, adapter: Adapter, notes: string[]): Promise<Count> {
  const first = await countOnce(variant, adapter);
  if (first.slowState < SLOW_STATE_PER_REQUEST) return first;
  const again = await countOnce(variant, adapter);
  notes.push(
    `${LABELS[variant]} on ${adapter}: the first process was in the nextTick slow state ` +
      `(${Math.round(first.instructions).toLocaleString('en')} instructions per request, ` +
      `${Math.round(first.slowState).toLocaleString('en')} of them in ${SLOW_STATE_MARK}); measured again` +
      (again.slowState < SLOW_STATE_PER_REQUEST ? '.' : ', and the second was too.'),
  );
  return again;
}

const whole = (value: number) => Math.round(value).toLocaleString('en');

async function main(): Promise<void> {
  const unavailable = valgrindUnavailable();
  if (unavailable !== null)
    throw new Error(`npm run bench:instructions runs the servers under callgrind, and ${unavailable}`);
  const started = performance.now();
  const adapters = (process.env.BENCH_ADAPTERS ?? 'express,fastify').split(',').map((a) => a.trim()) as Adapter[];
  const notes: string[] = [];
  const rows: string[] = [];
  for (const adapter of adapters) {
    const counts = new Map<Variant, Count>();
    for (const variant of VARIANTS) {
      const counted = await count(variant, adapter, notes);
      counts.set(variant, counted);
      console.log(
        `${adapter} ${variant}: ${whole(counted.instructions)} instructions, ${whole(counted.cycles)} modelled ` +
          'cycles per request',
      );
    }
    const base = counts.get('noop')!;
    for (const variant of VARIANTS) {
      const it = counts.get(variant)!;
      const isBase = variant === 'noop';
      const ratio = (of: (count: Count) => number) => (isBase ? '1' : (of(base) / of(it)).toFixed(3));
      const more = isBase ? '' : `+${whole(it.instructions - base.instructions)}`;
      rows.push(
        `| ${LABELS[variant]} | ${adapter} | ${whole(it.instructions)} | ${more} | ${ratio((c) => c.instructions)} ` +
          `| ${whole(it.l1InstructionMisses)} | ${whole(it.l1DataMisses)} | ${whole(it.l2Misses)} ` +
          `| ${whole(it.mispredicts)} | ${whole(it.cycles)} | ${ratio((c) => c.cycles)} |`,
      );
    }
  }
  const seconds = Math.round((performance.now() - started) / 1000);
  const report = [
    '# Instructions per request',
    '',
    `Run ${new Date().toISOString()}, Node ${process.version}; ${seconds} s in all. Each server under ` +
      `\`valgrind --tool=callgrind --cache-sim=yes --branch-sim=yes ${CACHES.join(' ')}\`, ` +
      `${WARMUP.toLocaleString('en')} requests of warm-up (autocannon, 10 connections), then the main thread ` +
      `counted over ${REQUESTS.toLocaleString('en')} requests; every count is per request. Modelled cycles: ` +
      `instructions + ${CYCLES.l1Miss} × level-1 misses + ${CYCLES.l2Miss} × L2 misses + ${CYCLES.mispredict} × ` +
      'mispredicted branches. The CPU ratio of the side-by-side measurement follows the modelled cycles, not ' +
      'the instructions (docs/performance.md, "What the caches say").',
    '',
    "| variant | adapter | instructions | more than (b') | (b') / it | L1 instruction misses | L1 data misses " +
      "| L2 misses | mispredicted branches | modelled cycles | (b') / it, cycles |",
    '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
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
