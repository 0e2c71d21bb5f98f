import { createRequire } from 'node:module';

/** Attribute sets are built once and shared: frozen, string values only, never a per-user value. */
export type MetricAttributes = Readonly<Record<string, string>>;

/** What the library uses of an OpenTelemetry Counter. */
export interface CounterLike {
  add(value: number, attributes?: MetricAttributes): void;
}

/** What the library uses of an OpenTelemetry Histogram. */
export interface HistogramLike {
  record(value: number, attributes?: MetricAttributes): void;
}

export interface InstrumentOptions {
  readonly description: string;
  readonly unit: string;
  readonly advice?: { explicitBucketBoundaries: number[] };
}

/**
 * What the library uses of an OpenTelemetry Meter. Written here rather than imported from @opentelemetry/api,
 * so that the package's declarations name nothing from an optional peer an application may not have installed.
 */
export interface MeterLike {
  createCounter(name: string, options?: InstrumentOptions): CounterLike;
  createHistogram(name: string, options?: InstrumentOptions): HistogramLike;
}

interface MetricsApi {
  readonly metrics: { getMeter(name: string, version?: string): MeterLike };
}

const require = createRequire(import.meta.url);

/** The instrumentation scope's version: the package's own, read from its manifest beside dist/ (or src/). */
function packageVersion(): string | undefined {
  try {
    return (require('../../package.json') as { version?: string }).version;
  } catch {
    return undefined;
  }
}

/**
 * The meter `nestjs-trusted-header` from the process-wide MeterProvider the application registered, or null
 * when @opentelemetry/api is not installed. A library never requires a telemetry stack: without the package
 * or without an SDK, every instrument is a no-op. Loaded with require() inside a try, so the package loads
 * (in CommonJS and ESM applications alike) whether the optional peer is there or not.
 *
 * @opentelemetry/api hands out a no-op meter while no MeterProvider is registered, and instruments made from it
 * stay no-ops: the application registers its provider before it creates the Nest application.
 */
export function globalMeter(): MeterLike | null {
  let api: MetricsApi;
  try {
    api = require('@opentelemetry/api') as MetricsApi;
  } catch {
    return null;
  }
  return api.metrics.getMeter('nestjs-trusted-header', packageVersion());
}
