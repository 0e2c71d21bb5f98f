export interface DatabaseConfig {
  /** `postgres://...`; unset means embedded PGlite. */
  readonly url?: string;
  /** Where embedded PGlite keeps its files; `memory://` keeps nothing. */
  readonly pgliteDataDir: string;
  /** Connect, pool-wait and statement timeout, so a dead or slow database fails fast. */
  readonly timeoutMs: number;
  /** Pool size for a PostgreSQL server. */
  readonly poolSize?: number;
}
