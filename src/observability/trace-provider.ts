// The tracing wrapper of a provider (see tracing.ts for the spans). Apart from the
// SDK so that code wrapping providers (src/gateway.ts, hence the CLI) does not load it.
import { SpanKind, SpanStatusCode, context, trace, type Span, type Tracer } from '@opentelemetry/api'
import type { VectorProvider } from '../providers/vector-provider.ts'

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
