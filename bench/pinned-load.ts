/**
 * Load with the client and the servers on separate cores, and each server's CPU time read from the kernel.
 *
 * On shared cores a server's CPU per request moves by tens of percent with whatever the client does at the
 * moment; pinned, one process's CPU per request repeats within a few percent from round to round. The client is
 * wrk (C, one thread on CLIENT_CORE): autocannon on one core cannot keep a Nest server on the other core busy,
 * and a server that waits between requests pays a wake-up per batch, which makes its CPU per request depend on
 * the client's pace. wrk keeps the server saturated (CPU time over wall time ≥ 0.97, checked); each round is a
 * fixed time, and the CPU per request is over all the responses of the round (tens of thousands).
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';

export const CLIENT_CORE = 0;
export const SERVER_CORE = 1;

/** Why the pinned method cannot run here, or null when it can. */
export function pinnedMethodUnavailable(): string | null {
  if (cpus().length < 2) return 'it needs two cores (client on one, servers on the other)';
  for (const [binary, hint] of [
    ['taskset', 'util-linux'],
    ['wrk', 'the wrk package (apt-get install wrk)'],
  ] as const) {
    try {
      execFileSync('sh', ['-c', `command -v ${binary}`], { stdio: 'ignore' });
    } catch {
      return `${binary} is missing: install ${hint}`;
    }
  }
  return null;
}

/** Pins every thread of a process (and the threads it starts later) to one core. */
export function pin(pid: number, core: number): void {
  execFileSync('taskset', ['--all-tasks', '--pid', '--cpu-list', String(core), String(pid)], { stdio: 'ignore' });
}

/**
 * CPU time the process has run, all threads (V8's GC helpers, libuv's pool), in ns: the first field of each
 * thread's /proc schedstat. A thread that ended meanwhile drops out of the sum, so read it around work during
 * which the process starts no threads (a warmed server).
 */
export function cpuTimeNs(pid: number): number {
  let total = 0;
  for (const task of readdirSync(`/proc/${pid}/task`)) {
    try {
      total += Number(readFileSync(`/proc/${pid}/task/${task}/schedstat`, 'utf8').split(' ')[0]);
    } catch {
      // The thread ended between the listing and the read.
    }
  }
  return total;
}

export interface LoadResult {
  requests: number;
  seconds: number;
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  /** Responses other than 200, and socket errors. */
  failures: number;
  /** The server's CPU time over the run divided by the responses, in µs. */
  cpuMicrosPerRequest: number;
}

/** Counts responses other than 200; `done` prints one JSON line (WrkSummary). Ends every script here. */
const SUMMARY = `
local failed = 0
function response(status, headers, body)
  if status ~= 200 then failed = failed + 1 end
end
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('{"requests":%d,"micros":%d,"p50":%d,"p99":%d,"failed":%d,"errors":%d}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    failed, e.connect + e.read + e.write + e.timeout))
end
`;

/** A new user on every request: `<prefix><n>`, its email and three groups. */
const FIRST_LOGIN_REQUEST = `
local prefix = os.getenv("BENCH_USER_PREFIX")
local groups = os.getenv("BENCH_GROUPS")
local n = 0
request = function()
  n = n + 1
  local name = prefix .. n
  return wrk.format("GET", "/hello", { ["Remote-User"] = name, ["Remote-Email"] = name .. "@example.org",
    ["Remote-Groups"] = groups })
end
`;

interface WrkSummary {
  requests: number;
  micros: number;
  p50: number;
  p99: number;
  failed: number;
  errors: number;
}

let scripts: { steady: string; firstLogins: string } | undefined;

/** The Lua scripts, written once per run. */
function scriptFiles(): { steady: string; firstLogins: string } {
  if (scripts === undefined) {
    const directory = mkdtempSync(join(tmpdir(), 'th-bench-wrk-'));
    scripts = { steady: join(directory, 'steady.lua'), firstLogins: join(directory, 'first-logins.lua') };
    writeFileSync(scripts.steady, SUMMARY);
    writeFileSync(scripts.firstLogins, FIRST_LOGIN_REQUEST + SUMMARY);
  }
  return scripts;
}

/** Runs wrk (one thread) for whole seconds, its wrk's unit, and reads the script's summary line. */
async function runWrk(options: {
  core?: number;
  connections: number;
  seconds: number;
  script: string;
  headers?: Record<string, string>;
  env?: NodeJS.ProcessEnv;
  url: string;
}): Promise<WrkSummary> {
  const wrk = [
    'wrk',
    '-t1',
    `-c${options.connections}`,
    `-d${Math.max(1, Math.round(options.seconds))}s`,
    '-s',
    options.script,
    ...Object.entries(options.headers ?? {}).flatMap(([name, value]) => ['-H', `${name}: ${value}`]),
    options.url,
  ];
  const [command, ...args] = options.core === undefined ? wrk : ['taskset', '--cpu-list', String(options.core), ...wrk];
  const output = await new Promise<string>((resolve, reject) => {
    const child = spawn(command!, args, {
      env: { ...process.env, ...options.env },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let text = '';
    child.stdout.on('data', (chunk: Buffer) => (text += chunk.toString()));
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve(text) : reject(new Error(`wrk exited with ${code}: ${text}`))));
  });
  const line = output.split('\n').find((candidate) => candidate.startsWith('{"requests"'));
  if (line === undefined) throw new Error(`wrk printed no summary: ${output}`);
  return JSON.parse(line) as WrkSummary;
}

/** Which server to load, and with what. */
export interface PinnedLoadOptions {
  url: string;
  pid: number;
  headers: Record<string, string>;
}

/**
 * Loads the server `pid` for `seconds` over `connections` connections from CLIENT_CORE, and divides the
 * server's CPU time over the run by the responses.
 */
export async function pinnedLoad(
  options: PinnedLoadOptions & { seconds: number; connections: number },
): Promise<LoadResult> {
  const before = cpuTimeNs(options.pid);
  const summary = await runWrk({ ...options, core: CLIENT_CORE, script: scriptFiles().steady });
  const cpu = cpuTimeNs(options.pid) - before;
  return {
    requests: summary.requests,
    seconds: summary.micros / 1e6,
    requestsPerSecond: summary.requests / (summary.micros / 1e6),
    p50Ms: summary.p50 / 1000,
    p99Ms: summary.p99 / 1000,
    failures: summary.failed + summary.errors,
    cpuMicrosPerRequest: cpu / 1000 / Math.max(1, summary.requests),
  };
}

export interface PairedLoad {
  baseline: LoadResult;
  variant: LoadResult;
}

/**
 * Loads two servers side by side, each with a wrk of its own on CLIENT_CORE, for the same `seconds`: both
 * servers share SERVER_CORE, so whatever the host does to that core in those seconds meets both. The ratio of
 * their CPU per request then moves far less from round to round than one of servers loaded in turn, which
 * meet the machine at different moments (its speed drifts by tens of percent within seconds to minutes here).
 */
export async function pinnedLoadTogether(
  baseline: PinnedLoadOptions,
  variant: PinnedLoadOptions,
  seconds: number,
  connections: number,
): Promise<PairedLoad> {
  const [a, b] = await Promise.all([
    pinnedLoad({ ...baseline, seconds, connections }),
    pinnedLoad({ ...variant, seconds, connections }),
  ]);
  return { baseline: a, variant: b };
}

/**
 * First logins for `seconds` over `connections` connections, each request a user never seen before, from wrk
 * (not pinned: the database needs both cores). A load generator in C leaves the cores to the server and the
 * database, as pgbench does on the other side of the comparison; undici's fetch took a large share of them.
 */
export async function firstLoginLoad(options: {
  url: string;
  seconds: number;
  connections: number;
  prefix: string;
  groups: string;
}): Promise<{ requests: number; seconds: number; failures: number }> {
  const summary = await runWrk({
    ...options,
    script: scriptFiles().firstLogins,
    env: { BENCH_USER_PREFIX: options.prefix, BENCH_GROUPS: options.groups },
  });
  return { requests: summary.requests, seconds: summary.micros / 1e6, failures: summary.failed + summary.errors };
}
