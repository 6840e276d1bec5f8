// OpenTelemetry traces (issue 10 §5), only when OTEL_EXPORTER_OTLP_ENDPOINT is set:
// then a NodeTracerProvider exports over OTLP/HTTP (JSON) in batches; unset, no SDK
// is created at all and nothing is wrapped. The spans:
// - one per HTTP request (plugins/tracing.ts), named after the route template;
// - one per provider call (traceProvider below), a child of the request span,
//   with the provider and operation; MariaDB searches add their plan
//   (mariadb/search-executor.ts sets vg.search.* on the active span).
// Attributes carry names, counts, ids and plan figures only: never a vector, a
// chunk text, a filter's group key or an API key.
import { SpanKind, SpanStatusCode, context, trace, type Span, type Tracer } from '@opentelemetry/api'
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http'
import { resourceFromAttributes } from '@opentelemetry/resources'
import { BatchSpanProcessor, NodeTracerProvider, type SpanExporter } from '@opentelemetry/sdk-trace-node'
import { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from '@opentelemetry/semantic-conventions'
import type { VectorProvider } from '../providers/vector-provider.ts'
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

/** Wraps a provider so every async operation runs in a span of its own. */
export function traceProvider<P extends VectorProvider>(provider: P, tracer: Tracer): P {
  return new Proxy(provider, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver)
      if (typeof value !== 'function' || typeof prop !== 'string') return value
      return function (this: unknown, ...args: unknown[]) {
        const span = tracer.startSpan(`${target.name} ${prop}`, {
          kind: SpanKind.CLIENT,
          attributes: {
            'vg.provider': target.name,
            'vg.operation': prop,
            'db.system.name': target.name,
            ...callAttributes(prop, args)
          }
        })
        let result: unknown
        try {
          result = context.with(trace.setSpan(context.active(), span), () => value.apply(target, args))
        } catch (err) {
          endWithError(span, err)
          throw err
        }
        if (!(result instanceof Promise)) {
          span.end()
          return result
        }
        return result.then(
          (v: unknown) => {
            if (typeof v === 'number') span.setAttribute('vg.result.count', v)
            else if (Array.isArray(v)) span.setAttribute('vg.result.count', v.length)
            span.end()
            return v
          },
          (err: unknown) => {
            endWithError(span, err)
            throw err
          }
        )
      }
    }
  })
}

function endWithError(span: Span, err: unknown): void {
  const e = err as { code?: string; message?: string }
  span.setStatus({ code: SpanStatusCode.ERROR, message: e.code ?? 'error' })
  span.setAttribute('error.type', e.code ?? (err instanceof Error ? err.name : 'error'))
  span.end()
}

/** What a call may say about itself: the user, batch sizes, limits. Never vectors or texts. */
function callAttributes(operation: string, args: unknown[]): Record<string, number | boolean> {
  const first = args[0] as Record<string, unknown> | unknown[] | undefined
  const out: Record<string, number | boolean> = {}
  if (Array.isArray(first)) out['vg.chunks'] = first.length
  else if (first !== null && typeof first === 'object') {
    if (typeof first.user_id === 'number') out['vg.user_id'] = first.user_id
    if (typeof first.limit === 'number') out['vg.limit'] = first.limit
    if (Array.isArray(first.file_ids)) out['vg.file_ids'] = first.file_ids.length
    if (typeof first.group_key === 'string') out['vg.group_filter'] = true
  } else if (typeof first === 'number') out['vg.user_id'] = first
  if (operation === 'upsert' && (args[1] as { insertOnly?: boolean } | undefined)?.insertOnly === true)
    out['vg.insert_only'] = true
  return out
}
