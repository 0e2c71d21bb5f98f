import type pg from 'pg';
import type { DataSourceOptions } from 'typeorm';

/** Names the listener's session in pg_stat_activity, so operators (and tests) can tell it from the pool's. */
export const LISTENER_APPLICATION_NAME = 'trusted-header-listener';

/** A connection attempt that hangs (a black-holed address) must end so the next one can start. */
const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;

/** The fields of TypeORM's PostgreSQL options that say how to connect (the same in TypeORM 0.3 and 1.x). */
interface PostgresCredentials {
  readonly url?: string;
  readonly host?: string;
  readonly port?: number;
  readonly username?: string;
  readonly password?: string | (() => string | Promise<string>);
  readonly database?: string;
  readonly ssl?: unknown;
}

interface PostgresDataSourceOptions extends PostgresCredentials {
  readonly type: string;
  readonly connectTimeoutMS?: number;
  readonly extra?: Record<string, unknown>;
  readonly replication?: { readonly master?: PostgresCredentials };
}

/** Settings of the pool that mean nothing to one client. */
const POOL_ONLY = new Set([
  'max',
  'min',
  'idleTimeoutMillis',
  'maxUses',
  'maxLifetimeSeconds',
  'allowExitOnIdle',
  'log',
]);

/**
 * The options of the listener's own client: AUTH_PROXY_NOTIFY_URL when set, otherwise what TypeORM would give
 * the pool (its createPool: the credentials, then `extra` over them), taking the primary under replication,
 * since a replica does not deliver the primary's notifications.
 */
export function listenerClientConfig(options: DataSourceOptions, notifyUrl: string | null): pg.ClientConfig {
  // Keepalive from ten seconds of silence, as well as the heartbeat: the operating system's default is hours.
  const own = { application_name: LISTENER_APPLICATION_NAME, keepAlive: true, keepAliveInitialDelayMillis: 10_000 };
  if (notifyUrl !== null) {
    return { connectionString: notifyUrl, connectionTimeoutMillis: DEFAULT_CONNECT_TIMEOUT_MS, ...own };
  }
  const postgres = options as unknown as PostgresDataSourceOptions;
  const credentials = postgres.replication?.master ?? postgres;
  const extra = Object.fromEntries(Object.entries(postgres.extra ?? {}).filter(([key]) => !POOL_ONLY.has(key)));
  const config: Record<string, unknown> = {
    connectionString: credentials.url,
    host: credentials.host,
    port: credentials.port,
    user: credentials.username,
    password: credentials.password,
    database: credentials.database,
    ssl: credentials.ssl,
    connectionTimeoutMillis: postgres.connectTimeoutMS,
    ...extra,
    ...own,
  };
  for (const key of Object.keys(config)) if (config[key] === undefined) delete config[key];
  config.connectionTimeoutMillis ??= DEFAULT_CONNECT_TIMEOUT_MS;
  return config as pg.ClientConfig;
}
