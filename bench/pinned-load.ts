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

/** Counts responses other than 200; `done` prints one JSON line. */
const SCRIPT = `
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

let scriptFile: string | undefined;

/**
 * Loads the server `pid` for `seconds` (whole seconds: wrk's unit) over `connections` connections from
 * CLIENT_CORE, and divides the server's CPU time over the run by the responses.
 */
export async function pinnedLoad(options: {
  url: string;
  pid: number;
  headers: Record<string, string>;
  seconds: number;
  connections: number;
}): Promise<LoadResult> {
  scriptFile ??= join(mkdtempSync(join(tmpdir(), 'th-bench-wrk-')), 'stop-after.lua');
  writeFileSync(scriptFile, SCRIPT);
  const headerArguments = Object.entries(options.headers).flatMap(([name, value]) => ['-H', `${name}: ${value}`]);
  const before = cpuTimeNs(options.pid);
  const output = await new Promise<string>((resolve, reject) => {
    const child = spawn(
      'taskset',
      [
        '--cpu-list',
        String(CLIENT_CORE),
        'wrk',
        '-t1',
        `-c${options.connections}`,
        `-d${Math.max(1, Math.round(options.seconds))}s`,
        '-s',
        scriptFile!,
        ...headerArguments,
        options.url,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let text = '';
    child.stdout.on('data', (chunk: Buffer) => (text += chunk.toString()));
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve(text) : reject(new Error(`wrk exited with ${code}: ${text}`))));
  });
  const cpu = cpuTimeNs(options.pid) - before;
  const line = output.split('\n').find((candidate) => candidate.startsWith('{"requests"'));
  if (line === undefined) throw new Error(`wrk printed no summary: ${output}`);
  const summary = JSON.parse(line) as {
    requests: number;
    micros: number;
    p50: number;
    p99: number;
    failed: number;
    errors: number;
  };
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

/** A new user on every request: `<prefix><n>`, its email and three groups. */
const FIRST_LOGIN_SCRIPT = `
local prefix = os.getenv("BENCH_USER_PREFIX")
local groups = os.getenv("BENCH_GROUPS")
local n = 0
local failed = 0
request = function()
  n = n + 1
  local name = prefix .. n
  return wrk.format("GET", "/hello", { ["Remote-User"] = name, ["Remote-Email"] = name .. "@example.org",
    ["Remote-Groups"] = groups })
end
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
  const file = join(mkdtempSync(join(tmpdir(), 'th-bench-wrk-')), 'first-logins.lua');
  writeFileSync(file, FIRST_LOGIN_SCRIPT);
  const output = await new Promise<string>((resolve, reject) => {
    const child = spawn(
      'wrk',
      ['-t1', `-c${options.connections}`, `-d${Math.max(1, Math.round(options.seconds))}s`, '-s', file, options.url],
      {
        env: { ...process.env, BENCH_USER_PREFIX: options.prefix, BENCH_GROUPS: options.groups },
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    let text = '';
    child.stdout.on('data', (chunk: Buffer) => (text += chunk.toString()));
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve(text) : reject(new Error(`wrk exited with ${code}: ${text}`))));
  });
  const line = output.split('\n').find((candidate) => candidate.startsWith('{"requests"'));
  if (line === undefined) throw new Error(`wrk printed no summary: ${output}`);
  const summary = JSON.parse(line) as { requests: number; micros: number; failed: number; errors: number };
  return { requests: summary.requests, seconds: summary.micros / 1e6, failures: summary.failed + summary.errors };
}
