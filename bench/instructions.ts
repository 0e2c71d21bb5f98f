/**
 * `npm run bench:instructions`: instructions per request under callgrind, the measure that does not move with
 * the machine's speed, and what those instructions miss in a simulated cache. For each adapter it runs (b'),
 * (g), (c), (e) and (f) (bench/server.ts) one after the other under `valgrind --tool=callgrind` with counting off,
 * warms each with BENCH_INSTR_WARMUP requests (30,000), counts the main thread over BENCH_INSTR_REQUESTS more
 * (6,000; the compiler threads, whose work differs from run to run, are left out) and reports each variant's
 * ratio to (b'). Writes bench/results/instructions.md, and bench/results/instructions-functions.md: where each
 * variant's instructions and misses differ from (b')'s, function by function (bench/callgrind.ts). Needs
 * valgrind; takes about 3 minutes per Fastify variant and 5 per Express variant on a 2-core machine.
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
 * Settings: BENCH_ADAPTERS (express,fastify), BENCH_INSTR_VARIANTS (a subset of bare,guard,session,assertion;
 * (b') is always counted), BENCH_INSTR_WARMUP, BENCH_INSTR_REQUESTS, DATABASE_URL (else the embedded PGlite).
 */
import autocannon from 'autocannon';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readDump, sumOf, type Costs, type Dump } from './callgrind.js';
import { REQUEST_HEADERS, ServerProcess, type Adapter } from './server-process.js';
import { ASSERTION, listSetting } from './shared.js';
import {
  checkAssertion,
  checkVariant,
  LABELS,
  prepareAssertion,
  sessionLogin,
  type AssertionSetup,
  type Headers,
  type Variant,
} from './variants.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const results = join(root, 'bench', 'results');
const COUNTED: readonly Variant[] = ['bare', 'guard', 'session', 'assertion'];
const VARIANTS: readonly Variant[] = ['noop', ...listSetting('BENCH_INSTR_VARIANTS', COUNTED)];
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

/** What the report gives of some costs, per request. */
interface Measures {
  readonly instructions: number;
  readonly l1InstructionMisses: number;
  readonly l1DataMisses: number;
  readonly l2Misses: number;
  readonly mispredicts: number;
  readonly cycles: number;
}

/** Per request over the whole main thread, and what the function tables need. */
interface Count extends Measures {
  /** Instructions per request in SLOW_STATE_MARK. */
  readonly slowState: number;
  /** Self cost of each function over the counted requests (not per request). */
  readonly functions: Map<string, Costs>;
  readonly requests: number;
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

/** Some costs per request, from callgrind's events (Ir; I1mr; D1mr, D1mw; ILmr, DLmr, DLmw; Bcm, Bim). */
function perRequest(costs: Costs | undefined, requests: number): Measures {
  const instructions = sumOf(costs, 'Ir') / requests;
  const l1InstructionMisses = sumOf(costs, 'I1mr') / requests;
  const l1DataMisses = sumOf(costs, 'D1mr', 'D1mw') / requests;
  const l2Misses = sumOf(costs, 'ILmr', 'DLmr', 'DLmw') / requests;
  const mispredicts = sumOf(costs, 'Bcm', 'Bim') / requests;
  const cycles =
    instructions * CYCLES.instruction +
    (l1InstructionMisses + l1DataMisses) * CYCLES.l1Miss +
    l2Misses * CYCLES.l2Miss +
    mispredicts * CYCLES.mispredict;
  return { instructions, l1InstructionMisses, l1DataMisses, l2Misses, mispredicts, cycles };
}

/** Each measure of `each` combined with the same measure of `other`. */
function combine(each: Measures, other: Measures, by: (a: number, b: number) => number): Measures {
  return {
    instructions: by(each.instructions, other.instructions),
    l1InstructionMisses: by(each.l1InstructionMisses, other.l1InstructionMisses),
    l1DataMisses: by(each.l1DataMisses, other.l1DataMisses),
    l2Misses: by(each.l2Misses, other.l2Misses),
    mispredicts: by(each.mispredicts, other.mispredicts),
    cycles: by(each.cycles, other.cycles),
  };
}

const NOTHING = perRequest(undefined, 1);

function countOf({ totals, functions }: Dump, requests: number): Count {
  let slowState = 0;
  for (const [name, costs] of functions) if (name.includes(SLOW_STATE_MARK)) slowState += sumOf(costs, 'Ir');
  return { ...perRequest(totals, requests), slowState: slowState / requests, functions, requests };
}

async function countOnce(variant: Variant, adapter: Adapter, assertion: AssertionSetup): Promise<Count> {
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
  // The perf map names V8's generated code (/tmp/perf-<pid>.map); the log the flag also opens goes beside the dump.
  const v8Options = ['--perf-basic-prof', '--no-logfile-per-isolate', `--logfile=${join(directory, 'v8.log')}`];
  const environment = { BENCH_UNDER_VALGRIND: '1', [ASSERTION.keyFileEnv]: assertion.keyFile };
  const server = await ServerProcess.start(variant, adapter, environment, v8Options, launcher);
  const perfMap = join(tmpdir(), `perf-${server.pid}.map`);
  try {
    const label = `${LABELS[variant]}/${adapter}`;
    let headers: Headers = REQUEST_HEADERS;
    if (variant === 'session') headers = await sessionLogin(server, label);
    else if (variant === 'assertion') headers = await checkAssertion(server, assertion, label);
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
    const read = readDump(join(directory, dump), existsSync(perfMap) ? readFileSync(perfMap, 'utf8') : null, root);
    if (!read.totals.has('I1mr')) {
      throw new Error(`${label}: callgrind simulated no cache (events ${[...read.totals.keys()]})`);
    }
    return countOf(read, REQUESTS);
  } finally {
    await server.stop();
    rmSync(directory, { recursive: true, force: true });
    rmSync(perfMap, { force: true });
  }
}

async function count(variant: Variant, adapter: Adapter, assertion: AssertionSetup, notes: string[]): Promise<Count> {
  const first = await countOnce(variant, adapter, assertion);
  if (first.slowState < SLOW_STATE_PER_REQUEST) return first;
  const again = await countOnce(variant, adapter, assertion);
  notes.push(
    `${LABELS[variant]} on ${adapter}: the first process was in the nextTick slow state ` +
      `(${Math.round(first.instructions).toLocaleString('en')} instructions per request, ` +
      `${Math.round(first.slowState).toLocaleString('en')} of them in ${SLOW_STATE_MARK}); measured again` +
      (again.slowState < SLOW_STATE_PER_REQUEST ? '.' : ', and the second was too.'),
  );
  return again;
}

const whole = (value: number) => Math.round(value).toLocaleString('en');
const signed = (value: number, digits = 0) =>
  `${value > 0 ? '+' : ''}${value.toLocaleString('en', { minimumFractionDigits: digits, maximumFractionDigits: digits })}`;

/** How many functions each variant's table of differences lists. */
const FUNCTIONS_SHOWN = 20;

interface Difference extends Measures {
  readonly name: string;
}

/** What a variant costs more than (b') per request, function by function (self cost). */
function differences(base: Count, it: Count): Difference[] {
  const names = new Set([...base.functions.keys(), ...it.functions.keys()]);
  return [...names].map((name) => ({
    name,
    ...combine(
      perRequest(it.functions.get(name), it.requests),
      perRequest(base.functions.get(name), base.requests),
      (a, b) => a - b,
    ),
  }));
}

function differenceRow(label: string, d: Measures): string {
  return (
    `| ${label} | ${signed(d.instructions)} | ${signed(d.l1InstructionMisses, 1)} | ${signed(d.l1DataMisses, 1)} ` +
    `| ${signed(d.l2Misses, 1)} | ${signed(d.mispredicts, 1)} | ${signed(d.cycles)} |`
  );
}

function total(rows: readonly Measures[]): Measures {
  return rows.reduce<Measures>((sum, row) => combine(sum, row, (a, b) => a + b), NOTHING);
}

/** The library's own code, as its compiled functions are named (their file's path). */
const LIBRARY_PATH = 'libs/trusted-header/';

/** A variant against (b'): the library's functions together, the rest, and the functions that differ most. */
function differenceTable(adapter: Adapter, variant: Variant, base: Count, it: Count): string[] {
  const all = differences(base, it);
  const library = all.filter((d) => d.name.includes(LIBRARY_PATH));
  const shown = [...all].sort((a, b) => Math.abs(b.cycles) - Math.abs(a.cycles)).slice(0, FUNCTIONS_SHOWN);
  // A name is V8's: `JS:*name file:line` (`*` optimised, `^` baseline); backticks keep Markdown off it.
  const cell = (name: string) => `\`${name.replaceAll('`', "'").replaceAll('|', '\\|')}\``;
  return [
    `### ${LABELS[variant]} against (b'), ${adapter}`,
    '',
    '| function (self cost) | instructions | L1 instruction misses | L1 data misses | L2 misses | mispredicted branches | modelled cycles |',
    '|---|---:|---:|---:|---:|---:|---:|',
    differenceRow('**all**', total(all)),
    differenceRow(`**the library's functions (${library.length})**`, total(library)),
    differenceRow('**everything else**', total(all.filter((d) => !d.name.includes(LIBRARY_PATH)))),
    ...shown.map((d) => differenceRow(cell(d.name), d)),
    '',
  ];
}

/** Every variant on one adapter: its row of the totals and its table of differences from (b'). */
async function countAdapter(
  adapter: Adapter,
  assertion: AssertionSetup,
  notes: string[],
): Promise<{ rows: string[]; functionTables: string[] }> {
  const rows: string[] = [];
  const functionTables: string[] = [];
  const counts = new Map<Variant, Count>();
  for (const variant of VARIANTS) {
    const counted = await count(variant, adapter, assertion, notes);
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
    if (!isBase) functionTables.push(...differenceTable(adapter, variant, base, it));
    const ratio = (of: (count: Count) => number) => (isBase ? '1' : (of(base) / of(it)).toFixed(3));
    const more = isBase ? '' : signed(it.instructions - base.instructions);
    rows.push(
      `| ${LABELS[variant]} | ${adapter} | ${whole(it.instructions)} | ${more} | ${ratio((c) => c.instructions)} ` +
        `| ${whole(it.l1InstructionMisses)} | ${whole(it.l1DataMisses)} | ${whole(it.l2Misses)} ` +
        `| ${whole(it.mispredicts)} | ${whole(it.cycles)} | ${ratio((c) => c.cycles)} |`,
    );
  }
  return { rows, functionTables };
}

async function main(): Promise<void> {
  const unavailable = valgrindUnavailable();
  if (unavailable !== null)
    throw new Error(`npm run bench:instructions runs the servers under callgrind, and ${unavailable}`);
  const started = performance.now();
  const adapters = listSetting<Adapter>('BENCH_ADAPTERS', ['express', 'fastify']);
  const notes: string[] = [];
  const rows: string[] = [];
  const functionTables: string[] = [];
  const assertion = await prepareAssertion();
  try {
    for (const adapter of adapters) {
      const counted = await countAdapter(adapter, assertion, notes);
      rows.push(...counted.rows);
      functionTables.push(...counted.functionTables);
    }
  } finally {
    rmSync(assertion.directory, { recursive: true, force: true });
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
  const functions = [
    "# Where the variants differ from (b'), function by function",
    '',
    `The processes of bench/results/instructions.md (${new Date().toISOString()}). Per request, the self cost of ` +
      "each function (not of what it calls), the variant's minus (b')'s, with the modelled cycles of " +
      "instructions.md. V8's compiled functions are named from the process's perf map (`--perf-basic-prof`; " +
      "`*` optimised, `^` baseline code), and code of one name is summed. The library's functions are those " +
      `compiled from ${LIBRARY_PATH}; listed are the ${FUNCTIONS_SHOWN} functions whose modelled cycles differ ` +
      'most. L2 misses depend on where the JIT put the code and differ between processes of the same code by ' +
      'hundreds per request; level-1 misses and instructions repeat (docs/performance.md, "What the caches say").',
    '',
    ...functionTables,
  ].join('\n');
  writeFileSync(join(results, 'instructions-functions.md'), functions);
  console.log(report);
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  },
);
