/** HS256 secret of the passport-jwt variant; the driver signs its token with it. */
export const JWT_SECRET = 'benchmark-secret-of-reasonable-length-0123456789';

/**
 * The signed-assertion variant: the driver makes an ES256 key pair, writes the public key (SPKI PEM) to a file
 * and names it in ASSERTION_KEY_FILE_ENV; the server verifies tokens of this issuer and audience with it.
 */
export const ASSERTION = {
  header: 'X-Jwt-Assertion',
  issuer: 'https://proxy.bench.example',
  audience: 'bench-app',
  algorithm: 'ES256',
  keyFileEnv: 'BENCH_ASSERTION_KEY_FILE',
} as const;

/** What the driver asks a server process over the IPC channel. */
export type ServerRequest =
  | 'cpu'
  | 'stats'
  | 'reset'
  | 'memory'
  | 'forget-identities'
  | 'profile-start'
  | 'profile-stop'
  | 'trace-start'
  | 'trace-stop';

/** One database statement as the server ran it: its text and its parameters (as sent over IPC, JSON). */
export interface TracedStatement {
  query: string;
  parameters?: unknown[];
}

/** A server's answer: the fields of the question asked. */
export interface ServerReply {
  /** Process CPU time (user + system) since start. */
  cpuMicros?: number;
  /** Database statements and writes since the last reset (guard variants), and each distinct statement. */
  statements?: number;
  writes?: number;
  queries?: { text: string; count: number }[];
  /** Sessions the session variant's cache holds. */
  cachedSessions?: number;
  /** After a full GC when the process runs with --expose-gc. */
  rss?: number;
  heapUsed?: number;
  cachedIdentities?: number;
  /** A V8 CPU profile (`profile-stop`), as the inspector's Profiler.stop returns it. */
  profile?: import('node:inspector').Profiler.Profile;
  /** Every statement between `trace-start` and `trace-stop`, in the order the server ran them. */
  trace?: TracedStatement[];
}

/** A comma-separated setting naming some of `all` (all of them when unset); an unknown name is an error. */
export function listSetting<T extends string>(name: string, all: readonly T[]): T[] {
  const value = process.env[name];
  if (value === undefined || value.trim() === '') return [...all];
  const chosen = value.split(',').map((part) => part.trim()) as T[];
  const unknown = chosen.filter((part) => !all.includes(part));
  if (unknown.length > 0) throw new Error(`${name}: unknown ${unknown.join(', ')} (known: ${all.join(', ')})`);
  return chosen;
}
