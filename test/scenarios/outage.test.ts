// docs/architecture.md#deletes and #no-silent-fallback: no silent fallback, deletes reach every provider or change nothing.
import t from 'tap'
import { buildTestGateway } from '../helpers/app.ts'
import { axisVector, chunk } from '../helpers/chunks.ts'
import { client } from '../helpers/gateway-client.ts'
import { createTestDatabase } from '../helpers/mariadb.ts'
import { startTcpProxy, viaProxy } from '../helpers/tcp-proxy.ts'

const needsEmulator = {
  skip: process.env.QDRANT_URL !== undefined ? 'fault injection needs the Qdrant emulator' : false
}

t.test(
  'qdrant down while active: 503 naming it, nothing lands in mariadb, recovery without restart',
  needsEmulator,
  async t => {
    const gw = await buildTestGateway(t, { qdrant: true })
    if (gw.qdrant === undefined) throw new Error('no emulator')
    const c = client(gw)
    await c.store([chunk(1, 1, 0)])
    await c.switchTo('qdrant')
    await c.store([chunk(1, 2, 0)])
    gw.qdrant.faults.down()

    const write = await c.store([chunk(1, 3, 0)])
    t.equal(write.statusCode, 503)
    t.match(write.json(), { code: 'VG_PROVIDER_DOWN', message: /qdrant/ })
    const search = await c.search({ user_id: 1, vector: axisVector(0) })
    t.equal(search.statusCode, 503)
    t.match(search.json().message, /qdrant/)
    const health = await gw.app.inject({ url: '/health' })
    t.equal(health.statusCode, 503)
    t.match(health.json(), { status: 'error', provider: 'qdrant', mariadb: 'connected', qdrant: 'disconnected' })
    t.equal(await gw.app.providers.mariadb.count({ user_id: 1 }), 1, 'nothing was written to mariadb instead')

    const del = await c.remove('user_id=1&file_id=1')
    t.equal(del.statusCode, 503, 'a delete that cannot reach qdrant is refused')
    t.equal(await gw.app.providers.mariadb.count({ user_id: 1 }), 1, '... and deleted nothing in mariadb')
    t.equal((await c.switchTo('mariadb')).statusCode, 200, 'rolling back to a healthy provider works during the outage')
    t.equal((await c.switchTo('qdrant')).statusCode, 409, 'switching to an unreachable provider is refused')
    await c.switchTo('mariadb')
    const degraded = (await c.search({ user_id: 1, vector: axisVector(0) })).json()
    t.same(degraded.providers_unavailable, ['qdrant'], 'a merged search says which provider it could not read')
    t.same(
      degraded.results.map((r: { point_id: string }) => r.point_id),
      ['doc_1_1_0']
    )
    await c.switchTo('mariadb')

    gw.qdrant.faults.up()
    t.equal((await c.switchTo('qdrant')).statusCode, 200)
    t.equal((await c.store([chunk(1, 3, 0)])).statusCode, 200, 'writes work again without a restart')
    const back = (await c.search({ user_id: 1, vector: axisVector(0) })).json()
    t.same(back.results.map((r: { point_id: string }) => r.point_id).sort(), ['doc_1_1_0', 'doc_1_2_0', 'doc_1_3_0'])
    t.equal((await gw.app.inject({ url: '/health' })).statusCode, 200)
  }
)

t.test('a delete failing half-way answers 503 and says what it did', needsEmulator, async t => {
  const gw = await buildTestGateway(t, { qdrant: true })
  if (gw.qdrant === undefined) throw new Error('no emulator')
  const c = client(gw)
  await c.store([chunk(1, 1, 0)])
  await c.switchTo('qdrant')
  await c.store([chunk(1, 1, 1)])
  gw.qdrant.faults.fail(500, { match: req => req.path.endsWith('/points/delete'), times: 1 })
  const res = await c.remove('user_id=1&file_id=1')
  t.equal(res.statusCode, 503)
  t.match(res.json(), { code: 'VG_PARTIAL_DELETE', message: /deleted 1 in mariadb.*qdrant failed/ })
  t.same(
    (await c.list(1, 1)).json().chunks.map((x: { provider: string }) => x.provider),
    ['qdrant'],
    'what was not deleted is still reported'
  )
  t.same(
    (await c.remove('user_id=1&file_id=1')).json(),
    { deleted: 1, providers: { mariadb: 0, qdrant: 1 } },
    'the retry finishes it'
  )
})

t.test('mariadb down while active: 503 naming it, nothing lands in qdrant', async t => {
  const db = await createTestDatabase(t)
  const proxy = await startTcpProxy('127.0.0.1', Number(new URL(db.url).port))
  t.teardown(async () => {
    await proxy.close()
  })
  const gw = await buildTestGateway(t, { qdrant: true, db: { ...db, url: viaProxy(db.url, proxy) } })
  const c = client(gw)
  await c.store([chunk(1, 1, 0)])
  proxy.down()
  const res = await c.store([chunk(1, 2, 0)])
  t.equal(res.statusCode, 503)
  t.match(res.json(), { code: 'VG_PROVIDER_DOWN', message: /mariadb/ })
  t.equal((await c.search({ user_id: 1, vector: axisVector(0) })).statusCode, 503)
  t.match((await gw.app.inject({ url: '/health' })).json(), { status: 'error', mariadb: 'disconnected' })
  t.equal(await gw.app.providers.qdrant?.count({ user_id: 1 }), 0, 'nothing was written to qdrant instead')
  proxy.up()
  t.equal((await c.store([chunk(1, 2, 0)])).statusCode, 200, 'back without a restart')
})
