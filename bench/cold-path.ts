/**
 * The cold path: first logins (user, email, three external groups, audit events) at concurrency 1 and 50, the
 * identity cache's memory once it is full, how a group-mapping change made through the admin API reaches the next
 * request, and, on PostgreSQL, what the database itself does with the statements of a first login.
 *
 * The baseline: the server traces the statements (text and parameters) of one first login as the library ran
 * them; they become a pgbench script, replayed at the same concurrency against the same fresh database, so the
 * app's first logins per second are compared with the rate PostgreSQL sustains for the same statements under the
 * same locks and unique indexes, without Node, HTTP or the library in between. The script follows the library's
 * SQL: nothing in it is written by hand. In each transaction the username and the email are new (from a random
 * number), the id the user's INSERT ... RETURNING id produced is taken with \gset, and every other parameter is
 * inlined as the literal the login sent.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { firstLoginLoad, pinnedMethodUnavailable } from './pinned-load.js';
import { createScratchDatabase } from './scratch-database.js';
import { GUARD_HEADERS, ServerProcess as Server } from './server-process.js';
import type { ServerReply, TracedStatement } from './shared.js';
import { spread, type Spread } from './statistics.js';

/**
 * Distinct users logged in on the cold path at concurrency 50: on PostgreSQL enough to fill the identity cache
 * to its bound; the embedded PGlite provisions about a third as fast, so fewer keep the run under 5 minutes.
 */
const COLD_USERS = Number(process.env.BENCH_COLD_USERS ?? (process.env.DATABASE_URL ? 10_000 : 3_000));
/** With wrk, the concurrent round runs for a time instead: about as many users on PostgreSQL here. */
const COLD_SECONDS = Number(process.env.BENCH_COLD_SECONDS ?? (process.env.DATABASE_URL ? 12 : 8));
const SERIAL_USERS = 300;
const CONCURRENCY = 50;
const COLD_GROUPS = 'staff,finance,ops';
/** Debian's postgresql-client; BENCH_PGBENCH names another. */
const PGBENCH = process.env.BENCH_PGBENCH ?? '/usr/bin/pgbench';

/** The app's first logins at concurrency 50 beside pgbench running the same statements at the same concurrency. */
export interface Baseline {
  /** Statements of one first login, as the server ran them (transaction statements included). */
  statements: number;
  /** First logins per second at concurrency 50 (the provisioning row of that concurrency). */
  appUsersPerSecond: number;
  /** pgbench's tps (without initial connection time) running `script`; null when it could not run. */
  pgbenchTps: number | null;
  /** appUsersPerSecond / pgbenchTps; null without pgbenchTps. */
  ratio: number | null;
  /** The pgbench script generated from the trace; null without DATABASE_URL. */
  script: string | null;
  /** pgbench transactions in all (clients × transactions per client), each a first login. */
  transactions: number | null;
  /** The pgbench command line, its database left out. */
  command: string | null;
  /** Why there is no pgbench figure (no DATABASE_URL, no pgbench); absent when there is one. */
  unavailable?: string;
}

export interface ColdPath {
  database: string;
  /** The embedded PGlite runs inside the server process, so its memory mixes with the cache's. */
  embedded: boolean;
  provisioning: { concurrency: number; users: number; usersPerSecond: number; failures: number }[];
  memory: {
    /** Heap the cached identities hold: after a full GC, with the cache full minus with it emptied. */
    heldBytes: number;
    heldIdentities: number;
    /** Growth over the concurrent round, which also holds the connections the pool opened for it. */
    heapBytes: number;
    rssBytes: number;
    cachedBefore: number;
    cachedAfter: number;
    distinctUsers: number;
  };
  mapping: { changes: number; seenByNextRequest: number; nextRequestMs: Spread; cachedRequestMs: Spread };
  baseline: Baseline;
}

/** What pgbench did with the generated script. */
type PgbenchRun = { pgbenchTps: number } & Pick<Baseline, 'script' | 'transactions' | 'command'>;

type Login = (path: string, headers: Record<string, string>) => Promise<{ status: number; body: string }>;

async function timed<T>(work: () => Promise<T>): Promise<[T, number]> {
  const started = performance.now();
  const value = await work();
  return [value, performance.now() - started];
}

/** The values a first login sends that must be new in every transaction of the baseline. */
interface SentIdentity {
  username: string;
  email: string;
}

/**
 * First logins at concurrency 1 and 50; the cache's memory once it holds the bound's worth of identities; how a
 * group-mapping change made through the admin API reaches the next request; and the pgbench baseline of the
 * first logins at concurrency 50. Against DATABASE_URL when set (a fresh database on that server), else the
 * embedded PGlite (no baseline then: pgbench needs a server).
 */
export async function measureColdPath(): Promise<ColdPath> {
  const serverUrl = process.env.DATABASE_URL;
  const database = serverUrl ? await createScratchDatabase(serverUrl, 'cold') : undefined;
  const env: NodeJS.ProcessEnv = { DATABASE_URL: database?.url ?? '' };
  const server = await Server.start('cold', 'fastify', env);
  try {
    const login: Login = async (path, headers) => {
      const response = await fetch(server.url(path), { headers });
      return { status: response.status, body: await response.text() };
    };
    await login('/hello', GUARD_HEADERS);
    const traced = await traceFirstLogin(server, login);
    // Memory is read after the serial round, before the concurrent one: the code the first logins compile (about
    // 2 MiB) is then in both readings, and the growth between them is the cache's.
    let baseline: ServerReply | undefined;

    const provisioning: ColdPath['provisioning'] = [];
    for (const [concurrency, users] of [
      [1, SERIAL_USERS],
      [CONCURRENCY, COLD_USERS],
    ] as const) {
      if (concurrency === CONCURRENCY && pinnedMethodUnavailable() === null) {
        const result = await firstLoginLoad({
          url: server.url('/hello'),
          seconds: COLD_SECONDS,
          connections: CONCURRENCY,
          prefix: `cold-${concurrency}-`,
          groups: COLD_GROUPS,
        });
        // wrk stops counting at its deadline; the logins still under way at the server finish within a second.
        await new Promise((resolve) => setTimeout(resolve, 1_000));
        const usersPerSecond = result.requests / result.seconds;
        provisioning.push({ concurrency, users: result.requests, usersPerSecond, failures: result.failures });
        console.log(`first logins at concurrency ${concurrency} (wrk): ${Math.round(usersPerSecond)} users/s`);
        continue;
      }
      let next = 0;
      let failures = 0;
      const [, elapsed] = await timed(() =>
        Promise.all(
          Array.from({ length: concurrency }, async () => {
            while (next < users) {
              const i = next++;
              const { status } = await login('/hello', {
                'Remote-User': `cold-${concurrency}-${i}`,
                'Remote-Groups': COLD_GROUPS,
                'Remote-Email': `cold-${concurrency}-${i}@example.org`,
              });
              if (status !== 200) failures += 1;
            }
          }),
        ),
      );
      provisioning.push({ concurrency, users, usersPerSecond: users / (elapsed / 1000), failures });
      baseline ??= await server.ask('memory');
      console.log(`first logins at concurrency ${concurrency}: ${Math.round(users / (elapsed / 1000))} users/s`);
    }
    const filled = await server.ask('memory');
    // What the cached identities hold: the heap with the cache full, then emptied (both after a full GC).
    await server.ask('forget-identities');
    const emptied = await server.ask('memory');

    const concurrent = provisioning.find((p) => p.concurrency === CONCURRENCY)!;
    const appUsersPerSecond = concurrent.usersPerSecond;
    const concurrentUsers = concurrent.users;
    const comparison = env.DATABASE_URL
      ? await pgbenchBaseline(env.DATABASE_URL, traced, concurrentUsers)
      : { unavailable: 'the pgbench comparison needs PostgreSQL: set DATABASE_URL' };
    const baselineResult: Baseline = {
      statements: traced.trace.length,
      appUsersPerSecond,
      pgbenchTps: null,
      ratio: null,
      script: null,
      transactions: null,
      command: null,
      ...comparison,
    };
    if (baselineResult.pgbenchTps !== null) baselineResult.ratio = appUsersPerSecond / baselineResult.pgbenchTps;
    console.log(
      baselineResult.ratio === null
        ? `pgbench baseline: ${baselineResult.unavailable}`
        : `first logins at concurrency ${CONCURRENCY}: app ${Math.round(appUsersPerSecond)} users/s, pgbench ` +
            `${Math.round(baselineResult.pgbenchTps!)} tps with the same ${traced.trace.length} statements, ratio ` +
            `${baselineResult.ratio.toFixed(2)}`,
    );

    const mapping = await measureMappingChange(server, login);
    return {
      database: serverUrl ? 'PostgreSQL (DATABASE_URL)' : 'embedded PGlite (set DATABASE_URL for PostgreSQL)',
      embedded: !serverUrl,
      provisioning,
      memory: {
        heldBytes: filled.heapUsed! - emptied.heapUsed!,
        heldIdentities: (filled.cachedIdentities ?? 0) - (emptied.cachedIdentities ?? 0),
        heapBytes: filled.heapUsed! - baseline!.heapUsed!,
        rssBytes: filled.rss! - baseline!.rss!,
        cachedBefore: baseline!.cachedIdentities ?? 0,
        cachedAfter: filled.cachedIdentities ?? 0,
        // The warm-up user, the traced one, and those of the two provisioning rounds.
        distinctUsers: 2 + SERIAL_USERS + concurrentUsers,
      },
      mapping,
      baseline: baselineResult,
    };
  } finally {
    await server.stop();
    await database?.drop();
  }
}

/** One first login, like those of the provisioning rounds, with the server recording its statements. */
async function traceFirstLogin(
  server: Server,
  login: Login,
): Promise<{ trace: TracedStatement[]; sent: SentIdentity }> {
  const sent: SentIdentity = { username: 'cold-traced', email: 'cold-traced@example.org' };
  await server.ask('trace-start');
  const { status, body } = await login('/hello', {
    'Remote-User': sent.username,
    'Remote-Groups': COLD_GROUPS,
    'Remote-Email': sent.email,
  });
  // Anything the login leaves running after its answer belongs to it too.
  await new Promise((resolve) => setTimeout(resolve, 200));
  const { trace = [] } = await server.ask('trace-stop');
  if (status !== 200) throw new Error(`the traced first login answered ${status} ${body}`);
  if (trace.length === 0) throw new Error('the traced first login ran no database statement');
  return { trace, sent };
}

/**
 * pgbench at -c 50 running the traced first login, `users` transactions in all (rounded up to a multiple of
 * 50), against the database the app used. Throws when a transaction fails or the users it should have created
 * are not all there; reports a missing pgbench instead.
 */
async function pgbenchBaseline(
  databaseUrl: string,
  traced: { trace: TracedStatement[]; sent: SentIdentity },
  users: number,
): Promise<PgbenchRun | { unavailable: string }> {
  if (!existsSync(PGBENCH)) {
    return {
      unavailable: `no pgbench at ${PGBENCH} (Debian: apt-get install postgresql-client; or set BENCH_PGBENCH)`,
    };
  }
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  const directory = mkdtempSync(join(tmpdir(), 'th-bench-pgbench-'));
  try {
    const { script, createdIn } = await pgbenchScript(traced.trace, traced.sent, async (sql, parameters) => {
      const { rows } = await client.query<{ id: unknown }>(sql, parameters);
      return rows.map((row) => String(row.id));
    });
    const count = async () => Number((await client.query(`SELECT count(*) AS n FROM ${createdIn}`)).rows[0].n);
    const perClient = Math.ceil(users / CONCURRENCY);
    const transactions = perClient * CONCURRENCY;
    const file = join(directory, 'first-login.sql');
    writeFileSync(file, script);
    const options = ['-n', '-M', 'extended', '-c', String(CONCURRENCY), '-j', '2', '-t', String(perClient)];
    const command = `pgbench ${options.join(' ')} -f first-login.sql`;
    const before = await count();
    let output: { stdout: string; stderr: string };
    try {
      output = await promisify(execFile)(PGBENCH, [...options, '-f', file, databaseUrl], {
        maxBuffer: 64 * 2 ** 20,
        encoding: 'utf8',
      });
    } catch (error) {
      const { stdout = '', stderr = '' } = error as { stdout?: string; stderr?: string };
      throw new Error(
        `${command} failed (${(error as Error).message.split('\n')[0]}):\n${lastLines(stderr)}\n${lastLines(stdout)}\nscript:\n${script}`,
        { cause: error },
      );
    }
    const { stdout, stderr } = output;
    const tps = /^tps = ([\d.]+) \(without initial connection time\)/m.exec(stdout);
    const processed = /^number of transactions actually processed: (\d+)\/(\d+)/m.exec(stdout);
    const failed = /^number of failed transactions: (\d+)/m.exec(stdout);
    const created = (await count()) - before;
    const problems = [
      tps ? '' : 'no tps in its output',
      processed && Number(processed[1]) === transactions ? '' : `${processed?.[1] ?? 'no'} transactions processed`,
      failed && Number(failed[1]) === 0 ? '' : `${failed?.[1] ?? 'an unknown number of'} failed transactions`,
      created === transactions ? '' : `${created} new rows in ${createdIn}`,
    ].filter(Boolean);
    if (problems.length > 0) {
      throw new Error(
        `${command}: expected ${transactions} transactions, 0 failed, ${transactions} new rows in ${createdIn}; got ` +
          `${problems.join(', ')}:\n${lastLines(stderr)}\n${lastLines(stdout)}\nscript:\n${script}`,
      );
    }
    return { pgbenchTps: Number(tps![1]), script, transactions, command };
  } finally {
    rmSync(directory, { recursive: true, force: true });
    await client.end();
  }
}

function lastLines(text: string, count = 20): string {
  return text.trimEnd().split('\n').slice(-count).join('\n');
}

/** pgbench's name for the random number that makes each transaction's username and email new. */
const UNIQUE_VARIABLE = 'n';

/**
 * The trace as a pgbench script (extended protocol: `:variables` become parameters). A parameter equal to a
 * sent username or email becomes `(:n || '-<value>')`, new in each transaction; the id an INSERT ... RETURNING
 * id created (looked up with `lookup` by the columns it inserted) is taken with \gset and stands wherever the
 * trace had that id; every other parameter is inlined as a literal. Statements without parameters stay as they
 * are. Returns the script and the table of the user's INSERT, which gains one row per transaction.
 */
export async function pgbenchScript(
  trace: TracedStatement[],
  sent: SentIdentity,
  lookup: (sql: string, parameters: unknown[]) => Promise<string[]>,
): Promise<{ script: string; createdIn: string }> {
  const fresh = new Map(
    [sent.username, sent.email].map((value) => [value, `(:${UNIQUE_VARIABLE} || ${literal(`-${value}`)})`]),
  );
  const ids = new Map<string, string>();
  const variables = new Set([UNIQUE_VARIABLE]);
  const lines = [`\\set ${UNIQUE_VARIABLE} random(1, 9000000000000000000)`];
  let createdIn: string | undefined;
  const used = new Set<string>();
  for (const { query, parameters = [] } of trace) {
    const values = parameters.map((value) => {
      const text = value === null || value === undefined || typeof value === 'object' ? undefined : String(value);
      if (text !== undefined && fresh.has(text)) used.add(text);
      return (text !== undefined && (fresh.get(text) ?? ids.get(text))) || literal(value);
    });
    const sql = values.length === 0 ? query.trim() : query.trim().replace(/\$(\d+)/g, (p, k) => values[k - 1] ?? p);
    const insert = createdRow(query, parameters, fresh);
    if (insert === undefined) {
      lines.push(`${sql};`);
      continue;
    }
    const found = await lookup(insert.select, insert.parameters);
    if (found.length !== 1) {
      throw new Error(`the row of the traced ${JSON.stringify(query)} is not there (${found.length} rows)`);
    }
    const prefix = `new${ids.size + 1}_`;
    ids.set(found[0]!, `:${prefix}id`);
    variables.add(`${prefix}id`);
    createdIn ??= insert.table;
    lines.push(`${sql} \\gset ${prefix}`);
  }
  if (!used.has(sent.username)) {
    throw new Error(`no statement of the traced first login has the username ${sent.username} as a parameter`);
  }
  if (createdIn === undefined) {
    throw new Error('the traced first login has no INSERT ... RETURNING id of the username: which table gains users?');
  }
  const script = `${lines.join('\n')}\n`;
  for (const name of pgbenchVariables(script)) {
    if (!variables.has(name)) throw new Error(`the generated script has :${name}, which pgbench takes for a variable`);
  }
  return { script, createdIn };
}

/**
 * `INSERT INTO t (c1, c2) VALUES ($1, $2) ... RETURNING id` with a sent username or email among its parameters:
 * the statement that creates the user, and a SELECT finding the row it created by the columns it inserted.
 */
function createdRow(
  query: string,
  parameters: unknown[],
  fresh: Map<string, string>,
): { table: string; select: string; parameters: unknown[] } | undefined {
  if (!/\bRETURNING\s+id\s*;?\s*$/i.test(query)) return undefined;
  const insert = /^\s*INSERT\s+INTO\s+([\w."]+)\s*\(([^)]*)\)\s*VALUES\s*\(([^)]*)\)/i.exec(query);
  if (!insert) return undefined;
  const columns = insert[2]!.split(',').map((column) => column.trim());
  const placed = insert[3]!.split(',').map((value) => /^\s*\$(\d+)\s*$/.exec(value)?.[1]);
  if (!placed.some((k) => k !== undefined && fresh.has(String(parameters[Number(k) - 1])))) return undefined;
  const conditions = columns.flatMap((column, i) => (placed[i] === undefined ? [] : [[column, placed[i]!] as const]));
  return {
    table: insert[1]!,
    select: `SELECT id FROM ${insert[1]} WHERE ${conditions.map(([column], i) => `${column} = $${i + 1}`).join(' AND ')}`,
    parameters: conditions.map(([, k]) => parameters[Number(k) - 1]),
  };
}

/**
 * The names pgbench reads as variables in a script's SQL, as its parseQuery does: a colon followed by a name,
 * anywhere (string literals included), but not a run of colons such as the `::` of a cast.
 */
function pgbenchVariables(script: string): Set<string> {
  const names = new Set<string>();
  for (const line of script.split('\n')) {
    if (line.startsWith('\\set')) continue;
    const sql = line.replace(/\\gset\s+\w*\s*$/, '');
    for (const match of sql.matchAll(/:+([A-Za-z0-9_]*)/g)) {
      if (match[0].length === match[1]!.length + 1 && match[1]) names.add(match[1]);
    }
  }
  return names;
}

/**
 * A parameter as the SQL literal of the text node-postgres sends for it (untyped, like the parameter): arrays as
 * array literals ('{"a","b"}'), objects as JSON. A literal with a colon is written as an escape string with the
 * colon as \x3a, because pgbench would read `:name` inside quotes as a variable.
 */
function literal(value: unknown): string {
  if (value === null || value === undefined) return 'NULL';
  const text = textOf(value);
  if (!text.includes(':')) return `'${text.replaceAll("'", "''")}'`;
  return `E'${text.replace(/[\\']/g, (c) => (c === '\\' ? '\\\\' : "''")).replaceAll(':', '\\x3a')}'`;
}

function textOf(value: unknown): string {
  if (Array.isArray(value)) {
    const element = (item: unknown): string =>
      item === null || item === undefined
        ? 'NULL'
        : Array.isArray(item)
          ? textOf(item)
          : `"${textOf(item).replace(/[\\"]/g, '\\$&')}"`;
    return `{${value.map(element).join(',')}}`;
  }
  if (typeof value === 'object' && value !== null) {
    const buffer = value as { type?: unknown; data?: unknown };
    if (buffer.type === 'Buffer' && Array.isArray(buffer.data)) {
      return `\\x${Buffer.from(buffer.data as number[]).toString('hex')}`;
    }
    return JSON.stringify(value);
  }
  return String(value);
}

/** Maps and unmaps an external group through the admin API; after each change, times the user's next request. */
async function measureMappingChange(server: Server, login: Login): Promise<ColdPath['mapping']> {
  const adminHeaders = { 'Remote-User': 'bench-admin', 'Remote-Groups': 'bench-admins' };
  const user = { 'Remote-User': 'mapped-user', 'Remote-Groups': 'ext-mapped' };
  const call = async (method: string, path: string, body?: object) => {
    const response = await fetch(server.url(path), {
      method,
      headers: body ? { ...adminHeaders, 'Content-Type': 'application/json' } : adminHeaders,
      body: body ? JSON.stringify(body) : undefined,
    });
    const text = await response.text();
    if (response.status >= 300) throw new Error(`${method} ${path}: ${response.status} ${text}`);
    return text ? JSON.parse(text) : undefined;
  };
  const groupsOf = async () => {
    const [{ body }, ms] = await timed(() => login('/bench/me', user));
    return { groups: (JSON.parse(body) as { groups: string[] }).groups, ms };
  };
  await call('POST', '/admin/groups', { name: 'mapped' });
  for (let i = 0; i < 3; i += 1) await groupsOf();

  const changes = 20;
  let seen = 0;
  const nextRequestMs: number[] = [];
  const cachedRequestMs: number[] = [];
  for (let i = 0; i < changes / 2; i += 1) {
    const created = await call('POST', '/admin/group-mappings', { externalGroup: 'ext-mapped', group: 'mapped' });
    const afterCreate = await groupsOf();
    if (afterCreate.groups.includes('mapped')) seen += 1;
    nextRequestMs.push(afterCreate.ms);
    cachedRequestMs.push((await groupsOf()).ms);
    await call('DELETE', `/admin/group-mappings/${(created as { id: string }).id}`);
    const afterDelete = await groupsOf();
    if (!afterDelete.groups.includes('mapped')) seen += 1;
    nextRequestMs.push(afterDelete.ms);
    cachedRequestMs.push((await groupsOf()).ms);
  }
  return {
    changes,
    seenByNextRequest: seen,
    nextRequestMs: spread(nextRequestMs),
    cachedRequestMs: spread(cachedRequestMs),
  };
}
