import t from 'tap'
import { buildTestGateway, TEST_DIMENSION } from '../helpers/app.ts'
import { createTestDatabase } from '../helpers/mariadb.ts'
import { startTcpProxy, viaProxy } from '../helpers/tcp-proxy.ts'

t.test('health, capabilities and metrics', async t => {
  const { app, data } = await buildTestGateway(t)
  const health = await app.inject({ url: '/health' })
  t.equal(health.statusCode, 200)
  t.same(health.json(), { status: 'ok', provider: 'mariadb', mariadb: 'connected', qdrant: 'not_configured' })
  t.same((await app.inject({ url: '/health/live' })).json(), { status: 'ok' })

  const caps = (await app.inject({ url: '/capabilities' })).json()
  t.match(caps, {
    service: 'vector-gateway',
    vector_dimension: TEST_DIMENSION,
    distance: 'cosine',
    active_provider: 'mariadb',
    providers: ['mariadb']
  })
  t.ok(caps.capabilities.includes('search'))
  t.equal(caps.limits.max_chunks_per_request, 1000)

  await app.inject({ url: '/stats?user_id=1', headers: data })
  const metrics = await app.inject({ url: '/metrics' })
  t.equal(metrics.statusCode, 200)
  t.match(metrics.body, /vg_http_requests_total\{method="GET",route="\/stats",status="200"\} 1/)
  t.match(
    metrics.body,
    /vg_provider_operation_duration_seconds_count\{provider="mariadb",operation="keys",outcome="ok"\} 1/
  )
  t.match(metrics.body, /vg_process_resident_memory_bytes/)
})

t.test('/health answers 503 when MariaDB is unreachable', async t => {
  const db = await createTestDatabase(t)
  const proxy = await startTcpProxy('127.0.0.1', Number(new URL(db.url).port))
  t.teardown(async () => {
    await proxy.close()
  })
  const { app } = await buildTestGateway(t, { db: { ...db, url: viaProxy(db.url, proxy) } })
  proxy.down()
  const res = await app.inject({ url: '/health' })
  t.equal(res.statusCode, 503)
  t.match(res.json(), { status: 'error', mariadb: 'disconnected' })
})
