// A real outage answers a 503 that names the provider and says what to do, with no
// driver internals (hosts, ports, pool figures, collection names, socket errors) in
// the HTTP answer; those go to the log line carrying the request id. A timed-out
// write says it may still land, and retryable 503s carry Retry-After.
import t from 'tap'
import { buildTestGateway } from '../helpers/app.ts'
import { axisVector, chunk } from '../helpers/chunks.ts'
import { captureLog } from '../helpers/log-capture.ts'
import { createTestDatabase } from '../helpers/mariadb.ts'
import { startTcpProxy, viaProxy } from '../helpers/tcp-proxy.ts'

const needsEmulator = {
  skip: process.env.QDRANT_URL !== undefined ? 'fault injection needs the Qdrant emulator' : false
}
const INTERNALS =
  /127\.0\.0\.1|localhost|:\d{2,5}\b|ECONN|EPIPE|socket|fetch failed|pool|conn(ection)?[ :_-]?id|\(conn|vgt_|collection|HTTP 5\d\d|within \d+ ms|limit/i

function logOf(lines: Array<Record<string, unknown>>, requestId: string): string {
  return JSON.stringify(lines.filter(l => l.reqId === requestId))
}

t.test('qdrant down: 503 answers name qdrant and the request id, the log has the details', needsEmulator, async t => {
  const log = captureLog()
  const gw = await buildTestGateway(t, { qdrant: true, logger: log.logger })
  if (gw.qdrant === undefined) throw new Error('no emulator')
  const { app, data, admin } = gw
  await app.inject({ method: 'POST', url: '/chunks', headers: data, payload: { chunks: [chunk(1, 1, 0)] } })
  t.equal(
    (
      await app.inject({
        method: 'PUT',
        url: '/admin/vector-storage/provider',
        headers: admin,
        payload: { provider: 'qdrant' }
      })
    ).statusCode,
    200
  )
  await gw.qdrant.faults.down()

  const requests = [
    { name: 'write', method: 'POST', url: '/chunks', payload: { chunks: [chunk(1, 2, 0)] }, code: 'VG_PROVIDER_DOWN' },
    {
      name: 'search',
      method: 'POST',
      url: '/search',
      payload: { user_id: 1, vector: axisVector(0) },
      code: 'VG_PROVIDER_DOWN'
    },
    { name: 'stats', method: 'GET', url: '/stats?user_id=1', code: 'VG_PROVIDER_DOWN' },
    { name: 'delete', method: 'DELETE', url: '/chunks?user_id=1&file_id=1', code: 'VG_PROVIDER_DOWN' }
  ] as const
  for (const r of requests) {
    const id = `outage-${r.name}`
    const res = await app.inject({
      method: r.method,
      url: r.url,
      headers: { ...data, 'x-request-id': id },
      ...('payload' in r ? { payload: r.payload } : {})
    })
    const body = res.json()
    t.equal(res.statusCode, 503, `${r.name}: 503`)
    t.match(body, { code: r.code, request_id: id, message: /qdrant/ }, `${r.name}: names qdrant`)
    t.match(
      body.message,
      new RegExp(`retry.*request ${id}`, 'i'),
      `${r.name}: says what to do and which request to look up`
    )
    t.notMatch(body.message, INTERNALS, `${r.name}: no driver internals in "${String(body.message)}"`)
    t.ok(Number(res.headers['retry-after']) > 0, `${r.name}: Retry-After`)
    t.match(
      logOf(log.lines, id),
      /ECONNREFUSED|fetch failed/,
      `${r.name}: the log line with the request id has the cause`
    )
  }

  const health = await app.inject({ url: '/health', headers: { 'x-request-id': 'outage-health' } })
  t.equal(health.statusCode, 503)
  t.match(health.json().errors, { qdrant: /qdrant/ })
  t.notMatch(JSON.stringify(health.json()), INTERNALS, '/health (public) shows no internals')
  t.match(logOf(log.lines, 'outage-health'), /ECONNREFUSED|fetch failed/, 'the health check logs them')
})

t.test('a delete failing half-way: the answer says what was done, the log says why', needsEmulator, async t => {
  const log = captureLog()
  const gw = await buildTestGateway(t, { qdrant: true, logger: log.logger })
  if (gw.qdrant === undefined) throw new Error('no emulator')
  const { app, data, admin } = gw
  await app.inject({ method: 'POST', url: '/chunks', headers: data, payload: { chunks: [chunk(1, 1, 0)] } })
  await app.inject({
    method: 'PUT',
    url: '/admin/vector-storage/provider',
    headers: admin,
    payload: { provider: 'qdrant' }
  })
  await app.inject({ method: 'POST', url: '/chunks', headers: data, payload: { chunks: [chunk(1, 1, 1)] } })
  gw.qdrant.faults.fail(500, {
    match: req => req.path.endsWith('/points/delete'),
    times: 1,
    message: 'Service internal error: shard 3 of collection secret_name'
  })
  const res = await app.inject({
    method: 'DELETE',
    url: '/chunks?user_id=1&file_id=1',
    headers: { ...data, 'x-request-id': 'partial-1' }
  })
  t.equal(res.statusCode, 503)
  t.match(res.json(), { code: 'VG_PARTIAL_DELETE', message: /deleted 1 in mariadb.*qdrant failed.*request partial-1/ })
  t.notMatch(res.json().message, /secret_name|shard|HTTP 500/, 'no Qdrant error text in the answer')
  t.match(logOf(log.lines, 'partial-1'), /secret_name/, "Qdrant's error text is in the log line")
})

t.test('mariadb down: 503 names mariadb, no pool or connection text', async t => {
  const log = captureLog()
  const db = await createTestDatabase(t)
  const proxy = await startTcpProxy('127.0.0.1', Number(new URL(db.url).port))
  t.teardown(async () => {
    await proxy.close()
  })
  const { app, data } = await buildTestGateway(t, { db: { ...db, url: viaProxy(db.url, proxy) }, logger: log.logger })
  proxy.down()
  const res = await app.inject({ url: '/stats?user_id=1', headers: { ...data, 'x-request-id': 'maria-1' } })
  t.equal(res.statusCode, 503)
  t.match(res.json(), { code: 'VG_PROVIDER_DOWN', message: /mariadb.*retry.*request maria-1/i })
  t.notMatch(res.json().message, INTERNALS, `no internals in "${String(res.json().message)}"`)
  t.ok(Number(res.headers['retry-after']) > 0, 'Retry-After')
  t.match(logOf(log.lines, 'maria-1'), /pool|connection|ECONN|socket/i, 'the driver error is in the log line')
  const health = await app.inject({ url: '/health' })
  t.notMatch(JSON.stringify(health.json()), INTERNALS, '/health shows no internals')
})

t.test(
  'a qdrant write that times out answers VG_PROVIDER_TIMEOUT: it may land later, retrying is safe',
  needsEmulator,
  async t => {
    const gw = await buildTestGateway(t, { qdrant: true, env: { QDRANT_TIMEOUT_MS: '200' } })
    if (gw.qdrant === undefined) throw new Error('no emulator')
    const { app, data, admin } = gw
    await app.inject({
      method: 'PUT',
      url: '/admin/vector-storage/provider',
      headers: admin,
      payload: { provider: 'qdrant' }
    })
    gw.qdrant.faults.slow(1500, { match: req => req.method === 'PUT' && req.path.endsWith('/points') })
    const res = await app.inject({
      method: 'POST',
      url: '/chunks',
      headers: { ...data, 'x-request-id': 'slow-1' },
      payload: { chunks: [chunk(1, 1, 0)] }
    })
    t.equal(res.statusCode, 503)
    t.match(res.json(), {
      code: 'VG_PROVIDER_TIMEOUT',
      message: /qdrant.*may or may not have been applied.*retrying is safe because writes are keyed/
    })
    t.notMatch(res.json().message, INTERNALS)
    t.ok(Number(res.headers['retry-after']) > 0, 'Retry-After')
    gw.qdrant.faults.slow(0)
    const retry = await app.inject({
      method: 'POST',
      url: '/chunks',
      headers: data,
      payload: { chunks: [chunk(1, 1, 0)] }
    })
    t.equal(retry.statusCode, 200, 'the retry succeeds')
    t.equal(
      (await app.inject({ url: '/stats?user_id=1', headers: data })).json().total_chunks,
      1,
      'the key is stored once'
    )
  }
)
