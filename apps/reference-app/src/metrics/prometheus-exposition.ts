import { Logger } from '@nestjs/common';
import { metrics } from '@opentelemetry/api';
import { PrometheusExporter, PrometheusSerializer } from '@opentelemetry/exporter-prometheus';
import { MeterProvider } from '@opentelemetry/sdk-metrics';

/** What GET /metrics answers: every instrument of the process-wide MeterProvider, in Prometheus text format. */
export class PrometheusExposition {
  private readonly serializer = new PrometheusSerializer();

  constructor(private readonly reader: PrometheusExporter) {}

  async text(): Promise<string> {
    const { resourceMetrics } = await this.reader.collect();
    return this.serializer.serialize(resourceMetrics);
  }
}

let exposition: PrometheusExposition | undefined;

/**
 * Registers the OpenTelemetry MeterProvider of the process, once, with a Prometheus reader that starts no server
 * of its own: the app serves the exposition on its own port (GET /metrics). It must run before the Nest
 * application is created: @opentelemetry/api hands out no-op instruments to code that asks for a meter before
 * a provider is registered, and the library makes its instruments when its module starts.
 *
 * One provider per process, however many applications the process creates (tests start several): the global
 * provider can be set only once, so every application of the process shares the same counters.
 */
export function prometheusExposition(): PrometheusExposition {
  if (exposition !== undefined) return exposition;
  const reader = new PrometheusExporter({ preventServerStart: true });
  if (!metrics.setGlobalMeterProvider(new MeterProvider({ readers: [reader] }))) {
    new Logger('ReferenceApp').warn(
      'metrics: a MeterProvider was already registered in this process; GET /metrics shows only its own reader',
    );
  }
  exposition = new PrometheusExposition(reader);
  return exposition;
}
