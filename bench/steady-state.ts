/**
 * The steady state, pinned: every variant of an adapter runs in two processes (processes of the same code
 * differ by a few µs per request, so one process per variant would compare processes, not code), all of them
 * on SERVER_CORE, loaded in turn by wrk on CLIENT_CORE for a fixed time per round. The order of
 * the processes rotates each round; ratios are taken inside a round, where the machine's speed (which drifts
 * by tens of percent within minutes here) is the same for both sides. Those rounds give each process's req/s,
 * latencies and CPU per request. The capacity targets come from paired rounds after them: (b')#k and the
 * variant's #k loaded side by side, at the same time (see pairedRounds).
 *
 * (e) logs in once with the identity headers and sends only the session cookie from then on; (f) sends only
 * the signed token, verified once and cached until its `exp`.
 */
import { profileShare, type ProfileShare } from './profile.js';
import { CLIENT_CORE, pin, pinnedLoad, pinnedLoadTogether, SERVER_CORE, type LoadResult } from './pinned-load.js';
import { createScratchDatabase, type ScratchDatabase } from './scratch-database.js';
import { REQUEST_HEADERS, ServerProcess as Server, type Adapter } from './server-process.js';
import { ASSERTION, type ServerReply } from './shared.js';
import {
  checkAssertion,
  checkSessionCookie,
  checkVariant,
  sessionLogin,
  type AssertionSetup,
  type Headers,
  type Variant,
} from './variants.js';

export interface SteadyStateSettings {
  /** Seconds of load of each process per round, and of its warm-up. */
  seconds: number;
  warmupSeconds: number;
  rounds: number;
  connections: number;
  /** Processes per variant. */
  copies: number;
  /** Rounds in which (b')#k is loaded together with each of (c)#k, (e)#k and (f)#k: the capacity ratios. */
  pairedRounds: number;
}

/**
 * (b')#k and another variant's process #k loaded side by side for one round's seconds (see pairedRounds): the
 * CPU per request of each; (b') / variant is the variant's capacity relative to (b').
 */
export interface PairedRound {
  variant: Variant;
  copy: number;
  round: number;
  baselineCpu: number;
  variantCpu: number;
  /** Responses other than 200 and socket errors, of both. */
  failures: number;
}

export interface Round extends LoadResult {
  variant: Variant;
  adapter: Adapter | '-';
  /** Which process of the variant: 1, 2, ... */
  copy: number;
  round: number;
}

/** Database statements of a variant's processes over the measured rounds (counted after warm-up). */
export interface Statements {
  statements: number;
  writes: number;
  queries: { text: string; count: number }[];
  cachedSessions?: number;
}

export interface AdapterRun {
  adapter: Adapter;
  rounds: Round[];
  paired: PairedRound[];
  guard: Statements;
  session: Statements;
  assertion: Statements;
  /** Seconds from the login of (e) to the start of its first measured round and the end of its last. */
  sessionWindow?: { from: number; to: number };
  /** CPU profiles of (b') and (c), first process of each, over one more round. */
  profiles?: { baseline: ProfileShare; guard: ProfileShare };
}

interface Contender {
  variant: Variant;
  copy: number;
  server: Server;
  headers: Headers;
  label: string;
}

const NO_STATEMENTS: Statements = { statements: 0, writes: 0, queries: [] };

function statementsOf(replies: ServerReply[]): Statements {
  if (replies.length === 0) return NO_STATEMENTS;
  const queries = new Map<string, number>();
  for (const reply of replies) {
    for (const query of reply.queries ?? []) queries.set(query.text, (queries.get(query.text) ?? 0) + query.count);
  }
  return {
    statements: replies.reduce((sum, reply) => sum + (reply.statements ?? 0), 0),
    writes: replies.reduce((sum, reply) => sum + (reply.writes ?? 0), 0),
    queries: [...queries].map(([text, count]) => ({ text, count })),
    cachedSessions: replies.reduce((sum, reply) => sum + (reply.cachedSessions ?? 0), 0),
  };
}

/**
 * Starts `copies` processes of each variant (unpinned, all at once: starting is not measured), checks each,
 * pins them, warms each, then runs the rounds; finally profiles (b') and (c) and stops everything.
 */
export async function measureAdapter(
  adapter: Adapter,
  variants: Variant[],
  assertion: AssertionSetup,
  settings: SteadyStateSettings,
  log: (line: string) => void,
): Promise<AdapterRun> {
  const contenders: Contender[] = [];
  const started: Server[] = [];
  const databases: ScratchDatabase[] = [];
  try {
    // The hot path never reaches the database, but what a process holds shapes its CPU per request: an embedded
    // PGlite (a PostgreSQL compiled to WebAssembly, in the server's own process) is not what an application
    // runs in production. With DATABASE_URL each process that opens a database gets one of its own there.
    const serverUrl = process.env.DATABASE_URL || undefined;
    const plan = variants.flatMap((variant) =>
      Array.from({ length: settings.copies }, (_, i) => ({ variant, copy: i + 1 })),
    );
    const databaseOf = async (variant: Variant) => {
      if (serverUrl === undefined || !OPENS_DATABASE.includes(variant)) return '';
      const database = await createScratchDatabase(serverUrl, 'steady');
      databases.push(database);
      return database.url;
    };
    const outcomes = await Promise.allSettled(
      plan.map(async ({ variant }) =>
        Server.start(variant, adapter, {
          DATABASE_URL: await databaseOf(variant),
          [ASSERTION.keyFileEnv]: assertion.keyFile,
        }),
      ),
    );
    outcomes.forEach((outcome) => outcome.status === 'fulfilled' && started.push(outcome.value));
    const failed = outcomes.find((outcome) => outcome.status === 'rejected');
    if (failed) throw failed.reason;

    let loggedInAt = Number.POSITIVE_INFINITY;
    for (const [i, { variant, copy }] of plan.entries()) {
      const server = (outcomes[i] as PromiseFulfilledResult<Server>).value;
      const label = `${variant}#${copy}/${adapter}`;
      let headers: Headers;
      if (variant === 'session') {
        loggedInAt = Math.min(loggedInAt, performance.now());
        headers = await sessionLogin(server, label);
      } else if (variant === 'assertion') {
        headers = await checkAssertion(server, assertion, label);
      } else {
        await checkVariant(server, variant, label);
        headers = REQUEST_HEADERS;
      }
      contenders.push({ variant, copy, server, headers, label });
    }

    pin(process.pid, CLIENT_CORE);
    for (const { server } of contenders) pin(server.pid, SERVER_CORE);
    const load = (contender: Contender, seconds: number) =>
      pinnedLoad({
        url: contender.server.url('/hello'),
        pid: contender.server.pid,
        headers: contender.headers,
        seconds,
        connections: settings.connections,
      });
    for (const contender of contenders) await load(contender, settings.warmupSeconds);
    for (const { server, variant } of contenders) if (variant !== 'raw') await server.ask('reset');

    const rounds: Round[] = [];
    let sessionWindow: AdapterRun['sessionWindow'];
    for (let round = 0; round < settings.rounds; round += 1) {
      const order = contenders.map((_, i) => contenders[(i + round) % contenders.length]!);
      for (const contender of order) {
        const from = (performance.now() - loggedInAt) / 1000;
        const result = await load(contender, settings.seconds);
        if (contender.variant === 'session') {
          sessionWindow = { from: sessionWindow?.from ?? from, to: (performance.now() - loggedInAt) / 1000 };
        }
        const shown = contender.variant === 'raw' ? '-' : adapter;
        rounds.push({ ...result, variant: contender.variant, adapter: shown, copy: contender.copy, round });
        log(
          `round ${round + 1}/${settings.rounds} ${contender.label}: ${result.cpuMicrosPerRequest.toFixed(2)} µs CPU/req, ` +
            `${Math.round(result.requestsPerSecond)} req/s, p99 ${result.p99Ms.toFixed(1)} ms` +
            (result.failures > 0 ? `, ${result.failures} failed` : ''),
        );
      }
    }
    const paired = await pairedRounds(contenders, settings, log);
    for (const contender of contenders) {
      if (contender.variant === 'session')
        await checkSessionCookie(contender.server, contender.headers, contender.label);
    }

    const statsOf = async (variant: Variant) =>
      statementsOf(
        await Promise.all(contenders.filter((c) => c.variant === variant).map((c) => c.server.ask('stats'))),
      );
    const guard = await statsOf('guard');
    const session = await statsOf('session');
    const assertionStatements = await statsOf('assertion');

    const first = (variant: Variant) => contenders.find((c) => c.variant === variant && c.copy === 1);
    const noop = first('noop');
    const guarded = first('guard');
    const profiles =
      noop && guarded
        ? {
            baseline: await profileShare(noop.server, () => load(noop, settings.seconds)),
            guard: await profileShare(guarded.server, () => load(guarded, settings.seconds)),
          }
        : undefined;
    return { adapter, rounds, paired, guard, session, assertion: assertionStatements, sessionWindow, profiles };
  } finally {
    for (const server of started) await server.stop();
    for (const database of databases) await database.drop();
  }
}

/** The variants whose capacity is a target, each measured against the allow-all guard (b'). */
const PAIRED_VARIANTS: readonly Variant[] = ['bare', 'guard', 'session', 'assertion'];

/** Variants whose server opens a database (bench/server.ts): the others run without one. */
const OPENS_DATABASE: readonly Variant[] = ['noop', 'bare', 'guard', 'session', 'assertion'];

/**
 * The capacity ratios: in each round, (b')#k side by side with (g)#k, (c)#k, (e)#k, then (f)#k (the
 * order of the pairs rotating), both loaded at the same time for one round's seconds (pinnedLoadTogether).
 */
async function pairedRounds(
  contenders: Contender[],
  settings: SteadyStateSettings,
  log: (line: string) => void,
): Promise<PairedRound[]> {
  const pairs = contenders.flatMap((contender) => {
    const baseline = contenders.find((c) => c.variant === 'noop' && c.copy === contender.copy);
    return PAIRED_VARIANTS.includes(contender.variant) && baseline ? [{ baseline, contender }] : [];
  });
  const target = (c: Contender) => ({ url: c.server.url('/hello'), pid: c.server.pid, headers: c.headers });
  const paired: PairedRound[] = [];
  for (let round = 0; round < settings.pairedRounds; round += 1) {
    for (let i = 0; i < pairs.length; i += 1) {
      const { baseline, contender } = pairs[(i + round) % pairs.length]!;
      const result = await pinnedLoadTogether(
        target(baseline),
        target(contender),
        settings.seconds,
        settings.connections,
      );
      const baselineCpu = result.baseline.cpuMicrosPerRequest;
      const variantCpu = result.variant.cpuMicrosPerRequest;
      const failures = result.baseline.failures + result.variant.failures;
      paired.push({ variant: contender.variant, copy: contender.copy, round, baselineCpu, variantCpu, failures });
      log(
        `paired round ${round + 1}/${settings.pairedRounds} ${baseline.label} side by side with ${contender.label}: ` +
          `${baselineCpu.toFixed(2)} and ${variantCpu.toFixed(2)} µs CPU/req, ratio ${(baselineCpu / variantCpu).toFixed(3)}` +
          (failures > 0 ? `, ${failures} failed` : ''),
      );
    }
  }
  return paired;
}
