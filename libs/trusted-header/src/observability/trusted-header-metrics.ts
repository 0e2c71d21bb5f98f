import { STATUS_OF_REASON } from '../errors/http-mapping.js';
import type { RejectionReason } from '../errors/rejection-reason.js';
import { ASSERTION_ERROR_TYPES, type AssertionErrorType } from './assertion-error-type.js';
import {
  globalMeter,
  type CounterLike,
  type HistogramLike,
  type MeterLike,
  type MetricAttributes,
} from './opentelemetry-api.js';

/** The instruments' names: dashboards and alerts match on them, so they are kept across versions. */
export const METRIC_NAMES = Object.freeze({
  authentications: 'trusted_header.authentications',
  syncDuration: 'trusted_header.sync.duration',
  identityCacheLookups: 'trusted_header.identity_cache.lookups',
  databaseUnavailable: 'trusted_header.database.unavailable',
  notificationReconnects: 'trusted_header.notification.reconnects',
  sessions: 'trusted_header.sessions',
  assertions: 'trusted_header.assertions',
});

/** How one database round of the user sync ended. */
export type SyncResult = 'unchanged' | 'written' | 'disabled' | 'unknown_user' | 'username_taken' | 'failed';

/** Why the database did not answer: AUTH_PROXY_DB_TIMEOUT_MS ran out, or it failed. */
export type DatabaseFailure = 'timeout' | 'error';

/** How a session ended; the reasons of `revoked_reason`. */
export type SessionEnd = 'logout' | 'admin' | 'user_disabled' | 'replaced';

const SYNC_RESULTS: readonly SyncResult[] = [
  'unchanged',
  'written',
  'disabled',
  'unknown_user',
  'username_taken',
  'failed',
];
const SESSION_ENDS: readonly SessionEnd[] = ['logout', 'admin', 'user_disabled', 'replaced'];
/** A refusal that was not a TrustedHeaderException: a defect, never a login. */
export const UNEXPECTED_ERROR = 'error';

/** Seconds: a cached answer never reaches the histogram, a database round takes milliseconds to the timeout. */
const SYNC_BUCKETS = Object.freeze([0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]);

const NOOP_COUNTER: CounterLike = Object.freeze({ add: () => undefined });
const NOOP_HISTOGRAM: HistogramLike = Object.freeze({ record: () => undefined });

function attributesBy<K extends string>(
  keys: readonly K[],
  make: (key: K) => MetricAttributes,
): Record<K, MetricAttributes> {
  const table = Object.create(null) as Record<K, MetricAttributes>;
  for (const key of keys) table[key] = Object.freeze(make(key));
  return table;
}

const REASONS = Object.keys(STATUS_OF_REASON) as RejectionReason[];

/**
 * The library's counters and histograms, made once from the meter `nestjs-trusted-header` of the process-wide
 * MeterProvider (through @opentelemetry/api, an optional peer). Without the package or without an SDK every
 * method does nothing.
 *
 * Attributes are bounded sets (outcomes, reason codes, kinds of failure), and every attribute set is built
 * once here, so recording costs a counter add and no allocation. No attribute ever carries a username, a
 * token, a peer address or a header value: a metric backend keeps every distinct value as a series, and
 * those would both leak who uses the application and grow without bound.
 */
export class TrustedHeaderMetrics {
  private readonly authentications: CounterLike;
  private readonly syncDuration: HistogramLike;
  private readonly identityCacheLookups: CounterLike;
  private readonly databaseUnavailable: CounterLike;
  private readonly notificationReconnects: CounterLike;
  private readonly sessions: CounterLike;
  private readonly assertions: CounterLike;

  private readonly success = Object.freeze({ outcome: 'success' });
  private readonly rejections = attributesBy([...REASONS, UNEXPECTED_ERROR], (reason) => ({
    outcome: 'rejected',
    reason,
  }));
  private readonly syncResults = attributesBy(SYNC_RESULTS, (result) => ({ result }));
  private readonly hit = Object.freeze({ result: 'hit' });
  private readonly miss = Object.freeze({ result: 'miss' });
  private readonly databaseFailures = attributesBy<DatabaseFailure>(['timeout', 'error'], (cause) => ({ cause }));
  private readonly sessionCreated = Object.freeze({ outcome: 'created' });
  private readonly sessionResumed = Object.freeze({ outcome: 'resumed' });
  private readonly sessionRefusals = attributesBy([...REASONS, UNEXPECTED_ERROR], (reason) => ({
    outcome: 'refused',
    reason,
  }));
  private readonly sessionEnds = attributesBy(SESSION_ENDS, (reason) => ({ outcome: 'revoked', reason }));
  private readonly verifiedToken = Object.freeze({ outcome: 'verified' });
  private readonly cachedToken = Object.freeze({ outcome: 'cached' });
  private readonly keysUnavailable = Object.freeze({ outcome: 'keys_unavailable' });
  private readonly assertionFailures = attributesBy(ASSERTION_ERROR_TYPES, (type) => ({
    outcome: 'invalid',
    'error.type': type,
  }));

  /** `meter`: the global one by default; null records nothing. */
  constructor(meter: MeterLike | null = globalMeter()) {
    const counter = (name: string, unit: string, description: string) =>
      meter?.createCounter(name, { unit, description }) ?? NOOP_COUNTER;
    this.authentications = counter(
      METRIC_NAMES.authentications,
      '{request}',
      'Requests the trusted-header strategy logged in (outcome=success) or refused (outcome=rejected, reason=the reason code)',
    );
    this.syncDuration =
      meter?.createHistogram(METRIC_NAMES.syncDuration, {
        unit: 's',
        description: 'Database rounds that synced an identity the cache did not hold, by result',
        advice: { explicitBucketBoundaries: [...SYNC_BUCKETS] },
      }) ?? NOOP_HISTOGRAM;
    this.identityCacheLookups = counter(
      METRIC_NAMES.identityCacheLookups,
      '{lookup}',
      'Identities answered from memory (result=hit) or sent to the database (result=miss)',
    );
    this.databaseUnavailable = counter(
      METRIC_NAMES.databaseUnavailable,
      '{failure}',
      'Database calls that timed out (cause=timeout) or failed (cause=error) and were answered database_unavailable',
    );
    this.notificationReconnects = counter(
      METRIC_NAMES.notificationReconnects,
      '{reconnect}',
      'Times the connection listening for change notifications was lost and opened again',
    );
    this.sessions = counter(
      METRIC_NAMES.sessions,
      '{session}',
      'Persistent sessions created, resumed by a request, refused (reason=the reason code) and revoked (reason=why)',
    );
    this.assertions = counter(
      METRIC_NAMES.assertions,
      '{assertion}',
      'Signed assertions verified, answered from the cache of verified tokens, invalid (error.type) or not checkable since the keys could not be fetched',
    );
  }

  /** A request logged in by the trusted-header strategy. */
  authenticationSucceeded(): void {
    this.authentications.add(1, this.success);
  }

  /** A request the trusted-header strategy refused; `reason` is its reason code, or UNEXPECTED_ERROR. */
  authenticationRejected(reason: RejectionReason | typeof UNEXPECTED_ERROR): void {
    this.authentications.add(1, this.rejections[reason] ?? this.rejections[UNEXPECTED_ERROR]);
  }

  /** One database round of the user sync, `seconds` long. */
  syncFinished(result: SyncResult, seconds: number): void {
    this.syncDuration.record(seconds, this.syncResults[result]);
  }

  identityCacheHit(): void {
    this.identityCacheLookups.add(1, this.hit);
  }

  identityCacheMiss(): void {
    this.identityCacheLookups.add(1, this.miss);
  }

  /** A database call answered with database_unavailable. */
  databaseFailed(cause: DatabaseFailure): void {
    this.databaseUnavailable.add(1, this.databaseFailures[cause]);
  }

  /**
   * The connection that listens for change notifications was opened again after it had been lost: the
   * listener calls this once per successful reconnect (not for the first connection, not per failed attempt).
   */
  notificationReconnected(): void {
    this.notificationReconnects.add(1);
  }

  sessionStarted(): void {
    this.sessions.add(1, this.sessionCreated);
  }

  /** A request carried on an existing session (its cookie alone, or the same user's headers beside it). */
  sessionContinued(): void {
    this.sessions.add(1, this.sessionResumed);
  }

  sessionRefused(reason: RejectionReason | typeof UNEXPECTED_ERROR): void {
    this.sessions.add(1, this.sessionRefusals[reason] ?? this.sessionRefusals[UNEXPECTED_ERROR]);
  }

  /** `count` sessions ended at once (a logout ends one, disabling a user all of theirs). */
  sessionsRevoked(reason: SessionEnd, count = 1): void {
    if (count > 0) this.sessions.add(count, this.sessionEnds[reason]);
  }

  /** A token verified now (`cached`: false) or answered from the cache of verified tokens. */
  assertionVerified(cached: boolean): void {
    this.assertions.add(1, cached ? this.cachedToken : this.verifiedToken);
  }

  assertionInvalid(type: AssertionErrorType): void {
    this.assertions.add(1, this.assertionFailures[type] ?? this.assertionFailures.unverifiable);
  }

  assertionKeysUnavailable(): void {
    this.assertions.add(1, this.keysUnavailable);
  }
}

/** Records nothing: the default of services built by hand, outside the module. */
export const NO_METRICS = new TrustedHeaderMetrics(null);
