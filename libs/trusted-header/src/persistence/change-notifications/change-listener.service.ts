import {
  Inject,
  Injectable,
  Logger,
  Optional,
  type OnApplicationBootstrap,
  type OnModuleDestroy,
} from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import pg from 'pg';
import type { DataSource } from 'typeorm';
import { LogThrottle } from '../../common/log-throttle.js';
import { maskedUrl } from '../../config/resolve-options.js';
import type { ResolvedTrustedHeaderOptions } from '../../config/trusted-header-options.js';
import { TRUSTED_HEADER_OPTIONS } from '../../trusted-header.constants.js';
import {
  CHANGE_CHANNEL,
  decodeChangeMessage,
  EVERYONE,
  reconnectDelay,
  senderIdOf,
  type ChangeNotice,
} from './change-notice.js';
import { listenerClientConfig } from './listener-connection.js';
import { startHeartbeat } from './listener-heartbeat.js';
import { NO_METRICS, TrustedHeaderMetrics } from '../../observability/trusted-header-metrics.js';

/**
 * `starting`: not listening yet (first attempt, or the database was down at startup); `listening`;
 * `reconnecting`: the connection was lost; `off`: the database cannot deliver notifications (embedded PGlite);
 * `closed`: the application is shutting down.
 */
export type ChangeListenerState = 'starting' | 'listening' | 'reconnecting' | 'off' | 'closed';

/** PGlite's version() names it; it serves one session, which the pool holds. */
const EMBEDDED_DATABASE = /\bPGlite\b|emscripten/i;

/**
 * Listens on CHANGE_CHANNEL for the changes other instances commit and hands each notice to the subscribers
 * (sync/ drops the users it names), so a disabled user or a changed mapping shows on every instance at once
 * rather than after AUTH_PROXY_SYNC_TTL_SECONDS, which stays as the backstop.
 *
 * The listener holds a connection of its own, never one from the pool: a pooled connection goes back to other
 * work, and PgBouncer in transaction mode or a replica would not deliver notifications at all (hence
 * AUTH_PROXY_NOTIFY_URL). A lost connection loses the notifications sent meanwhile, so it reconnects with a
 * capped backoff and, once LISTENing again, tells the subscribers that everything changed. It never stops the
 * application: a database down at startup is retried in the background.
 *
 * For metrics: `connected`, `reconnects` and `notifications` are read at any time.
 */
@Injectable()
export class ChangeListener implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('TrustedHeader');
  private readonly failures = new LogThrottle(30_000);
  private readonly unexpected = new LogThrottle(60_000);
  private readonly subscribers: ((notice: ChangeNotice) => void)[] = [];
  /** The connection that LISTENs; null while there is none. */
  private client: pg.Client | null = null;
  /** The connection being opened, ended by a shutdown that comes meanwhile. */
  private opening: pg.Client | null = null;
  private timer: NodeJS.Timeout | undefined;
  private stopHeartbeat: () => void = () => undefined;
  private failedAttempts = 0;
  private listenedBefore = false;
  private embeddedChecked = false;
  private reconnectCount = 0;
  private notificationCount = 0;
  private currentState: ChangeListenerState = 'starting';

  constructor(
    @Inject(TRUSTED_HEADER_OPTIONS) private readonly options: ResolvedTrustedHeaderOptions,
    @InjectDataSource() private readonly dataSource: DataSource,
    @Optional() private readonly metrics: TrustedHeaderMetrics = NO_METRICS,
  ) {}

  /** Called with every notice received, and with EVERYONE after the connection was (re)established. */
  subscribe(subscriber: (notice: ChangeNotice) => void): void {
    this.subscribers.push(subscriber);
  }

  get state(): ChangeListenerState {
    return this.currentState;
  }

  /** Whether notifications reach this instance now. */
  get connected(): boolean {
    return this.currentState === 'listening';
  }

  /** How often the listener LISTENs again after having lost its connection (each time every user is dropped). */
  get reconnects(): number {
    return this.reconnectCount;
  }

  /** Notifications received on CHANGE_CHANNEL, well-formed or not. */
  get notifications(): number {
    return this.notificationCount;
  }

  /**
   * Asks once, before the application serves, whether the database can deliver notifications at all: the
   * question goes through the pool, and asked in the background it could still be under way when the
   * application closes. A database that does not answer now is asked again by the background attempts.
   */
  async onApplicationBootstrap(): Promise<void> {
    if (this.options.notifyUrl === null) {
      try {
        if (await this.isEmbedded()) {
          this.off();
          return;
        }
        this.embeddedChecked = true;
      } catch {
        // The first background attempt asks again and logs why it cannot listen.
      }
    }
    void this.attempt();
  }

  async onModuleDestroy(): Promise<void> {
    this.currentState = 'closed';
    clearTimeout(this.timer);
    this.stopHeartbeat();
    const clients = [this.client, this.opening];
    this.client = null;
    this.opening = null;
    for (const client of clients) await client?.end().catch(() => undefined);
  }

  /** One attempt to LISTEN; on failure the next is scheduled. Never rejects. */
  private async attempt(): Promise<void> {
    if (this.isClosed()) return;
    let client: pg.Client | undefined;
    try {
      if (!this.embeddedChecked && this.options.notifyUrl === null) {
        if (await this.isEmbedded()) {
          if (!this.isClosed()) this.off();
          return;
        }
        this.embeddedChecked = true;
      }
      client = new pg.Client(listenerClientConfig(this.dataSource.options, this.options.notifyUrl));
      const current = client;
      // Without an error listener a lost connection would be an uncaught exception that ends the process.
      current.on('error', (error) => this.lose(current, error));
      current.on('end', () => this.lose(current, undefined));
      current.on('notification', (message) => this.receive(message));
      this.opening = current;
      await current.connect();
      await current.query(`LISTEN ${CHANGE_CHANNEL}`);
      if (this.isClosed()) return;
      this.opening = null;
      this.client = current;
      this.stopHeartbeat = startHeartbeat(current, (error) => this.lose(current, error));
      this.listening();
    } catch (error) {
      if (this.opening === client) this.opening = null;
      void client?.end().catch(() => undefined);
      if (this.isClosed()) return;
      this.retry(error);
    }
  }

  private off(): void {
    this.currentState = 'off';
    this.logger.log(
      'change notifications off: the database is an embedded PGlite, which serves one session; ' +
        `other instances' changes show after AUTH_PROXY_SYNC_TTL_SECONDS`,
    );
  }

  private listening(): void {
    const again = this.listenedBefore;
    const failed = this.failedAttempts;
    this.listenedBefore = true;
    this.failedAttempts = 0;
    this.currentState = 'listening';
    if (again) {
      this.reconnectCount += 1;
      this.metrics.notificationReconnected();
      this.logger.warn(
        `change notifications: listening again on ${CHANGE_CHANNEL} after ${failed} failed attempt(s); ` +
          'notifications sent meanwhile are lost, so every cached user and session is dropped',
      );
    } else {
      this.logger.log(`change notifications: listening on ${CHANGE_CHANNEL} (${this.target()})`);
    }
    // Whatever changed before LISTEN took effect was announced to no one here.
    this.publish(EVERYONE);
  }

  private lose(client: pg.Client, error: Error | undefined): void {
    if (this.client !== client || this.isClosed()) return;
    this.client = null;
    this.stopHeartbeat();
    void client.end().catch(() => undefined);
    if (this.currentState === 'listening') {
      this.currentState = 'reconnecting';
      this.logger.warn(
        `change notifications: listener connection lost (${error?.message ?? 'closed by the server'}); reconnecting`,
      );
    }
    this.retry(undefined);
  }

  private retry(error: unknown): void {
    if (this.isClosed() || this.timer !== undefined) return;
    this.failedAttempts += 1;
    const delay = reconnectDelay(this.failedAttempts);
    if (error !== undefined) {
      const skipped = this.failures.admit('connect');
      if (skipped !== null) {
        this.logger.warn(
          `change notifications: cannot listen (${error instanceof Error ? error.message : String(error)}); ` +
            `retrying in ${delay} ms; meanwhile other instances' changes show after AUTH_PROXY_SYNC_TTL_SECONDS` +
            (skipped > 0 ? ` (${skipped} similar lines not logged)` : ''),
        );
      }
    }
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.attempt();
    }, delay);
    // A pending retry must not keep a process alive that has nothing else to do.
    this.timer.unref();
  }

  private receive(message: pg.Notification): void {
    if (message.channel !== CHANGE_CHANNEL) return;
    this.notificationCount += 1;
    const { notice, from, wellFormed } = decodeChangeMessage(message.payload);
    // This instance dropped what its own change made stale when the change committed.
    if (from !== null && from === senderIdOf(this.dataSource)) return;
    // Any role that can connect may NOTIFY: a payload this library does not send is only a reason to re-read.
    if (!wellFormed) {
      const skipped = this.unexpected.admit('payload');
      if (skipped !== null) {
        this.logger.warn(
          `change notifications: unexpected payload (${message.payload?.length ?? 0} characters) from backend ` +
            `${message.processId}; every cached user dropped` +
            (skipped > 0 ? ` (${skipped} similar lines not logged)` : ''),
        );
      }
    }
    this.publish(notice);
  }

  private publish(notice: ChangeNotice): void {
    for (const subscriber of this.subscribers) {
      try {
        subscriber(notice);
      } catch (error) {
        this.logger.error(
          `change notifications: a subscriber failed: ${error instanceof Error ? error.message : error}`,
        );
      }
    }
  }

  /** A method, not a narrowed field read: shutdown may come during any await. */
  private isClosed(): boolean {
    return this.currentState === 'closed';
  }

  /** Asked through the pool, before opening a connection that an embedded database would refuse the pool. */
  private async isEmbedded(): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`database did not answer within ${this.options.databaseTimeoutMs} ms`)),
        this.options.databaseTimeoutMs,
      );
    });
    try {
      const rows: { version?: unknown }[] = await Promise.race([this.dataSource.query('SELECT version()'), timeout]);
      return EMBEDDED_DATABASE.test(String(rows[0]?.version ?? ''));
    } finally {
      clearTimeout(timer);
    }
  }

  private target(): string {
    if (this.options.notifyUrl !== null) return `AUTH_PROXY_NOTIFY_URL ${maskedUrl(this.options.notifyUrl)}`;
    return 'the DataSource connection options';
  }
}
