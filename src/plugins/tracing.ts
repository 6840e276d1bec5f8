// A span per HTTP request when tracing is on (observability/tracing.ts); with
// OTEL_EXPORTER_OTLP_ENDPOINT unset this plugin only decorates `tracer: null`.
//
// The span starts in onRequest (so it covers body parsing and validation) and
// becomes the active context in preHandler: the body stream's events run outside
// any context, so activating it earlier would not reach the handler, while the
// handler runs synchronously inside preHandler's `done` and keeps the context
// through every await (AsyncLocalStorage). Provider spans are its children.
import fp from 'fastify-plugin'
import { SpanKind, SpanStatusCode, context, propagation, trace, type Span, type Tracer } from '@opentelemetry/api'
import type { Config } from '../config.ts'
import { startTracing, type Tracing } from '../observability/tracing.ts'

declare module 'fastify' {
  interface FastifyInstance {
    /** null when tracing is off */
    tracer: Tracer | null
  }
  interface FastifyRequest {
    traceSpan?: Span
  }
}

export interface TracingPluginOptions {
  config: Config
  /** a tracing set up by the caller (tests); otherwise started from the configuration */
  tracing?: Tracing
}

export default fp(
  async (fastify, opts: TracingPluginOptions) => {
    const tracing =
      opts.tracing ??
      startTracing({ endpoint: opts.config.OTEL_EXPORTER_OTLP_ENDPOINT, serviceName: opts.config.OTEL_SERVICE_NAME })
    fastify.decorate('tracer', tracing?.tracer ?? null)
    if (tracing === null) return
    const { tracer } = tracing

    fastify.addHook('onRequest', async request => {
      const parent = propagation.extract(context.active(), request.headers)
      const route = request.routeOptions.url ?? 'unmatched'
      request.traceSpan = tracer.startSpan(
        `${request.method} ${route}`,
        {
          kind: SpanKind.SERVER,
          attributes: { 'http.request.method': request.method, 'http.route': route, 'vg.request_id': request.id }
        },
        parent
      )
    })
    fastify.addHook('preHandler', (request, _reply, done) => {
      const span = request.traceSpan
      if (span === undefined) {
        done()
        return
      }
      context.with(trace.setSpan(context.active(), span), done)
    })
    fastify.addHook('onResponse', async (request, reply) => {
      const span = request.traceSpan
      if (span === undefined) return
      span.setAttribute('http.response.status_code', reply.statusCode)
      if (reply.statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR })
      span.end()
    })
    fastify.addHook('onRequestAbort', async request => {
      request.traceSpan?.setStatus({ code: SpanStatusCode.ERROR, message: 'client aborted' })
      request.traceSpan?.end()
    })
    fastify.addHook('onClose', async () => {
      await tracing.shutdown()
    })
  },
  { name: 'tracing' }
)
