import { metrics } from '@opentelemetry/api';
import { DataPointType, MeterProvider, MetricReader, type MetricData } from '@opentelemetry/sdk-metrics';
import { assertionErrorType } from './assertion-error-type.js';
import { METRIC_NAMES, NO_METRICS, TrustedHeaderMetrics } from './trusted-header-metrics.js';

/** A reader collected on demand: what a Prometheus scrape does, without a server. */
class CollectingReader extends MetricReader {
  protected override onForceFlush(): Promise<void> {
    return Promise.resolve();
  }
  protected override onShutdown(): Promise<void> {
    return Promise.resolve();
  }
  async metric(name: string): Promise<MetricData | undefined> {
    const { resourceMetrics } = await this.collect();
    return resourceMetrics.scopeMetrics.flatMap((scope) => scope.metrics).find((m) => m.descriptor.name === name);
  }
  /** Sum of a counter's points whose attributes include `match`. */
  async count(name: string, match: Record<string, string> = {}): Promise<number> {
    const metric = await this.metric(name);
    if (metric === undefined) return 0;
    return metric.dataPoints
      .filter((point) => Object.entries(match).every(([key, value]) => point.attributes[key] === value))
      .reduce((sum, point) => sum + (point.value as number), 0);
  }
}

function setUp(): { reader: CollectingReader; recorder: TrustedHeaderMetrics; provider: MeterProvider } {
  const reader = new CollectingReader();
  const provider = new MeterProvider({ readers: [reader] });
  return { reader, provider, recorder: new TrustedHeaderMetrics(provider.getMeter('nestjs-trusted-header')) };
}

describe('TrustedHeaderMetrics', () => {
  it('counts authentications by outcome and reason code', async () => {
    const { reader, recorder } = setUp();
    recorder.authenticationSucceeded();
    recorder.authenticationSucceeded();
    recorder.authenticationRejected('untrusted_proxy');
    recorder.authenticationRejected('invalid_username');
    recorder.authenticationRejected('invalid_username');
    recorder.authenticationRejected('error');
    const name = METRIC_NAMES.authentications;
    expect(await reader.count(name, { outcome: 'success' })).toBe(2);
    expect(await reader.count(name, { outcome: 'rejected', reason: 'invalid_username' })).toBe(2);
    expect(await reader.count(name, { outcome: 'rejected', reason: 'untrusted_proxy' })).toBe(1);
    expect(await reader.count(name, { outcome: 'rejected', reason: 'error' })).toBe(1);
    const metric = (await reader.metric(name))!;
    expect(metric.descriptor.unit).toBe('{request}');
    expect(metric.dataPoints.find((point) => point.attributes.outcome === 'success')!.attributes).toEqual({
      outcome: 'success',
    });
  });

  it('keeps the reason attribute within the reason codes', async () => {
    const { reader, recorder } = setUp();
    // A value outside the set (a subclass passing its own string) is counted as an unexpected error.
    recorder.authenticationRejected('alice@example.com' as never);
    recorder.sessionRefused('10.0.0.1' as never);
    const reasons = (await reader.metric(METRIC_NAMES.authentications))!.dataPoints.map((p) => p.attributes.reason);
    expect(reasons).toEqual(['error']);
    expect(await reader.count(METRIC_NAMES.sessions, { outcome: 'refused', reason: 'error' })).toBe(1);
  });

  it('records sync durations in seconds with explicit buckets, by result', async () => {
    const { reader, recorder } = setUp();
    recorder.syncFinished('written', 0.004);
    recorder.syncFinished('unchanged', 0.002);
    recorder.syncFinished('unchanged', 0.003);
    const metric = (await reader.metric(METRIC_NAMES.syncDuration))!;
    expect(metric.dataPointType).toBe(DataPointType.HISTOGRAM);
    expect(metric.descriptor.unit).toBe('s');
    const unchanged = metric.dataPoints.find((point) => point.attributes.result === 'unchanged')!;
    const histogram = unchanged.value as { count: number; sum: number; buckets: { boundaries: number[] } };
    expect(histogram.count).toBe(2);
    expect(histogram.sum).toBeCloseTo(0.005);
    expect(histogram.buckets.boundaries[0]).toBe(0.001);
  });

  it('counts cache lookups, database failures, reconnects, sessions and assertions', async () => {
    const { reader, recorder } = setUp();
    recorder.identityCacheHit();
    recorder.identityCacheHit();
    recorder.identityCacheMiss();
    recorder.databaseFailed('timeout');
    recorder.notificationReconnected();
    recorder.notificationReconnected();
    recorder.sessionStarted();
    recorder.sessionContinued();
    recorder.sessionRefused('invalid_session');
    recorder.sessionsRevoked('user_disabled', 3);
    recorder.sessionsRevoked('logout', 0);
    recorder.assertionVerified(false);
    recorder.assertionVerified(true);
    recorder.assertionInvalid('expired');
    recorder.assertionKeysUnavailable();
    expect(await reader.count(METRIC_NAMES.identityCacheLookups, { result: 'hit' })).toBe(2);
    expect(await reader.count(METRIC_NAMES.identityCacheLookups, { result: 'miss' })).toBe(1);
    expect(await reader.count(METRIC_NAMES.databaseUnavailable, { cause: 'timeout' })).toBe(1);
    expect(await reader.count(METRIC_NAMES.notificationReconnects)).toBe(2);
    expect(await reader.count(METRIC_NAMES.sessions, { outcome: 'created' })).toBe(1);
    expect(await reader.count(METRIC_NAMES.sessions, { outcome: 'resumed' })).toBe(1);
    expect(await reader.count(METRIC_NAMES.sessions, { outcome: 'refused', reason: 'invalid_session' })).toBe(1);
    expect(await reader.count(METRIC_NAMES.sessions, { outcome: 'revoked', reason: 'user_disabled' })).toBe(3);
    expect(await reader.count(METRIC_NAMES.sessions, { outcome: 'revoked', reason: 'logout' })).toBe(0);
    expect(await reader.count(METRIC_NAMES.assertions, { outcome: 'verified' })).toBe(1);
    expect(await reader.count(METRIC_NAMES.assertions, { outcome: 'cached' })).toBe(1);
    expect(await reader.count(METRIC_NAMES.assertions, { outcome: 'invalid', 'error.type': 'expired' })).toBe(1);
    expect(await reader.count(METRIC_NAMES.assertions, { outcome: 'keys_unavailable' })).toBe(1);
  });

  it('uses the global MeterProvider when none is given, and records nothing before one is registered', async () => {
    const early = new TrustedHeaderMetrics();
    early.authenticationSucceeded();
    const reader = new CollectingReader();
    expect(metrics.setGlobalMeterProvider(new MeterProvider({ readers: [reader] }))).toBe(true);
    try {
      const recorder = new TrustedHeaderMetrics();
      recorder.authenticationSucceeded();
      early.authenticationSucceeded();
      expect(await reader.count(METRIC_NAMES.authentications, { outcome: 'success' })).toBe(1);
      const { resourceMetrics } = await reader.collect();
      expect(resourceMetrics.scopeMetrics[0]!.scope.name).toBe('nestjs-trusted-header');
      expect(resourceMetrics.scopeMetrics[0]!.scope.version).toMatch(/^\d+\.\d+\.\d+/);
    } finally {
      metrics.disable();
    }
  });

  it('without a meter records nothing and throws nothing', () => {
    expect(() => {
      NO_METRICS.authenticationSucceeded();
      NO_METRICS.syncFinished('failed', 1);
      NO_METRICS.notificationReconnected();
    }).not.toThrow();
  });
});

describe('assertionErrorType', () => {
  it('maps jose codes and ours to a fixed set', () => {
    expect(assertionErrorType('ERR_JWT_EXPIRED')).toBe('expired');
    expect(assertionErrorType('ERR_JWS_SIGNATURE_VERIFICATION_FAILED')).toBe('signature');
    expect(assertionErrorType('ERR_JWT_CLAIM_VALIDATION_FAILED')).toBe('claims');
    expect(assertionErrorType('ERR_JOSE_ALG_NOT_ALLOWED')).toBe('algorithm');
    expect(assertionErrorType('ERR_JWKS_NO_MATCHING_KEY')).toBe('key');
    expect(assertionErrorType('ERR_JWS_INVALID')).toBe('malformed');
    expect(assertionErrorType('ERR_SOMETHING_NEW')).toBe('unverifiable');
    expect(assertionErrorType('__proto__')).toBe('unverifiable');
    expect(assertionErrorType('toString')).toBe('unverifiable');
  });
});
