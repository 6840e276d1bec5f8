// OpenTelemetry traces (issue 10 §5), only when OTEL_EXPORTER_OTLP_ENDPOINT is set:
// then a NodeTracerProvider exports over OTLP/HTTP (JSON) in batches; unset, no SDK
// is created at all and nothing is wrapped. The spans:
// - one per HTTP request (plugins/tracing.ts), named after the route template;
// - one per provider call (traceProvider, trace-provider.ts), a child of the request span,
//   with the provider and operation; MariaDB searches add their plan
//   (mariadb/search-executor.ts sets vg.search.* on the active span).
// Attributes carry names, counts, ids and plan figures only: never a vector, a
// chunk text, a filter's group key or an API key.
import type { Tracer } from '@opentelemetry/api'
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http'
import { resourceFromAttributes } from '@opentelemetry/resources'
import { BatchSpanProcessor, NodeTracerProvider, type SpanExporter } from '@opentelemetry/sdk-trace-node'
import { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from '@opentelemetry/semantic-conventions'
import { SERVICE_VERSION } from '../version.ts'

export interface Tracing {
  tracer: Tracer
  /** exports what is buffered and stops the SDK */
  shutdown(): Promise<void>
}

export interface TracingOptions {
  /** OTEL_EXPORTER_OTLP_ENDPOINT: traces go to `${endpoint}/v1/traces` (the OTLP/HTTP convention) */
  endpoint?: string
  serviceName?: string
  /** replaces the OTLP exporter (tests) */
  exporter?: SpanExporter
}

/** null when there is no endpoint (and no exporter): no SDK, no spans, no cost. */
export function startTracing(options: TracingOptions): Tracing | null {
  if (options.endpoint === undefined && options.exporter === undefined) return null
  const exporter =
    options.exporter ?? new OTLPTraceExporter({ url: `${options.endpoint?.replace(/\/+$/, '') ?? ''}/v1/traces` })
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({
      [ATTR_SERVICE_NAME]: options.serviceName ?? 'vector-gateway',
      [ATTR_SERVICE_VERSION]: SERVICE_VERSION
    }),
    spanProcessors: [new BatchSpanProcessor(exporter)]
  })
  // AsyncLocalStorage context (provider spans find their request span) and W3C
  // traceparent propagation; the first registration in a process wins.
  provider.register()
  return {
    tracer: provider.getTracer('vector-gateway', SERVICE_VERSION),
    shutdown: async () => {
      await provider.shutdown()
    }
  }
}
