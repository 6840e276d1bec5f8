// OpenTelemetry traces (issue 10 §5), through the real export path: an OTLP/HTTP
// receiver on 127.0.0.1 (this file) decodes what a gateway built from
// OTEL_EXPORTER_OTLP_ENDPOINT sends. A search gives a request span and provider
// spans below it, with the provider and the MariaDB plan as attributes; no
// exported byte is a chunk text or a vector component; unset, no SDK starts and
// nothing is sent.
import t from 'tap'
import { createServer, type IncomingMessage } from 'node:http'
import type { AddressInfo } from 'node:net'
import { trace } from '@opentelemetry/api'
import { TEST_DIMENSION, buildTestGateway } from '../helpers/app.ts'
import { chunk } from '../helpers/chunks.ts'

interface OtlpSpan {
  traceId: string
  spanId: string
  parentSpanId?: string
  name: string
  kind: number
  attributes?: Array<{ key: string; value: Record<string, unknown> }>
}

async function startReceiver(t: {
  teardown(fn: () => unknown): void
}): Promise<{ url: string; bodies: string[]; paths: string[] }> {
  const bodies: string[] = []
  const paths: string[] = []
  const server = createServer((req: IncomingMessage, res) => {
    const parts: Buffer[] = []
    req.on('data', (b: Buffer) => parts.push(b))
    req.on('end', () => {
      paths.push(`${req.method ?? ''} ${req.url ?? ''} ${req.headers['content-type'] ?? ''}`)
      bodies.push(Buffer.concat(parts).toString('utf8'))
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}')
    })
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  t.teardown(async () => {
    server.closeAllConnections()
    await new Promise(resolve => server.close(resolve))
  })
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, bodies, paths }
}

function spansOf(bodies: string[]): OtlpSpan[] {
  return bodies.flatMap(b =>
    (JSON.parse(b) as { resourceSpans: Array<{ scopeSpans: Array<{ spans: OtlpSpan[] }> }> }).resourceSpans.flatMap(r =>
      r.scopeSpans.flatMap(s => s.spans)
    )
  )
}

function attrs(span: OtlpSpan): Record<string, unknown> {
  return Object.fromEntries((span.attributes ?? []).map(a => [a.key, Object.values(a.value)[0]]))
}

// distinctive values: if any reached an attribute, the raw export would contain them
const SECRET_TEXT = 'zebra-quartz-unlikely-text'
const VECTOR = [0.1234567, 0.2345671, 0.3456712, 0.4567123, 0.5671234, 0.6712345, 0.7123456, 0.0612345].slice(
  0,
  TEST_DIMENSION
)

async function gateway(t: { teardown(fn: () => unknown): void }, env: Record<string, string>) {
  const { app, data: headers } = await buildTestGateway(t, { qdrant: true, env })
  // closing flushes the span batch; the teardown's second close does nothing
  const close = async (): Promise<void> => {
    await app.close()
  }
  const store = await app.inject({
    method: 'POST',
    url: '/chunks',
    headers,
    payload: {
      chunks: [chunk(7, 1, 0, { text: SECRET_TEXT, vector: VECTOR }), chunk(7, 1, 1, { text: `${SECRET_TEXT} two` })]
    }
  })
  const search = await app.inject({
    method: 'POST',
    url: '/search',
    headers,
    payload: { user_id: 7, vector: VECTOR, limit: 5, min_score: 0 }
  })
  return { app, close, store, search }
}

// first, before any SDK exists in this process
t.test('OTEL_EXPORTER_OTLP_ENDPOINT unset: no SDK, nothing exported', async t => {
  const receiver = await startReceiver(t)
  const { app, close, store, search } = await gateway(t, {})
  t.equal(store.statusCode, 200)
  t.equal(search.statusCode, 200)
  t.equal(app.tracer, null, 'no tracer')
  t.equal(
    trace.getTracerProvider().getTracer('probe').startSpan('probe').isRecording(),
    false,
    'no SDK registered in the process'
  )
  await close()
  t.same(receiver.paths, [], 'nothing sent')
})

t.test('OTEL_EXPORTER_OTLP_ENDPOINT set: request and provider spans over OTLP/HTTP', async t => {
  const receiver = await startReceiver(t)
  const { app, close, store, search } = await gateway(t, {
    OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
    OTEL_SERVICE_NAME: 'vg-test'
  })
  t.equal(store.statusCode, 200)
  t.equal(search.statusCode, 200)
  t.ok(app.tracer !== null, 'tracing on')
  const queried = search.json().providers_queried as string[]
  await close() // flushes the batch
  t.ok(
    receiver.paths.length > 0 && receiver.paths.every(p => p.startsWith('POST /v1/traces application/json')),
    'OTLP/HTTP JSON to /v1/traces'
  )
  t.match(receiver.bodies[0], /"service\.name".*"vg-test"/, 'the service name')
  const spans = spansOf(receiver.bodies)

  const requestSpan = spans.find(s => s.name === 'POST /search')
  t.ok(requestSpan, 'a span for the search request')
  if (requestSpan === undefined) return
  t.equal(requestSpan.kind, 2, 'SERVER')
  t.match(attrs(requestSpan), {
    'http.request.method': 'POST',
    'http.route': '/search',
    'http.response.status_code': 200
  })
  const children = spans.filter(s => s.parentSpanId === requestSpan.spanId)
  t.ok(
    children.every(s => s.traceId === requestSpan.traceId),
    "provider spans are in the request's trace"
  )
  const mariadbSearch = children.find(s => s.name === 'mariadb search')
  t.ok(mariadbSearch, 'a mariadb search span under the request span')
  t.match(
    attrs(mariadbSearch!),
    {
      'vg.provider': 'mariadb',
      'vg.operation': 'search',
      'vg.user_id': 7,
      'vg.limit': 5,
      'vg.search.plan': 'exact',
      'vg.search.plan_reason': String
    },
    'provider, operation and plan'
  )
  t.equal(mariadbSearch!.kind, 3, 'CLIENT')
  if (queried.includes('qdrant')) {
    const q = children.find(s => s.name === 'qdrant search')
    t.match(
      q !== undefined ? attrs(q) : {},
      { 'vg.provider': 'qdrant', 'vg.operation': 'search' },
      'a qdrant search span too (it was queried)'
    )
  }
  const writeRequest = spans.find(s => s.name === 'POST /chunks')
  t.ok(writeRequest, 'the write request has its span')
  t.ok(
    spans.some(
      s => s.parentSpanId === writeRequest?.spanId && s.name === 'mariadb upsert' && attrs(s)['vg.chunks'] === 2
    ),
    'with an upsert span (2 chunks)'
  )

  const raw = receiver.bodies.join('\n')
  t.notOk(raw.includes('zebra-quartz'), 'no chunk text anywhere in the export')
  for (const component of VECTOR) t.notOk(raw.includes(String(component).slice(2)), `no vector component ${component}`)
  for (const s of spans) {
    for (const a of s.attributes ?? []) t.notOk('arrayValue' in a.value, `${s.name} ${a.key}: no array attribute`)
  }
})
