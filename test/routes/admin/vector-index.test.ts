import t from 'tap'
import { buildTestGateway } from '../../helpers/app.ts'
import { axisVector, chunk } from '../../helpers/chunks.ts'

t.test('create, inspect and drop the cosine vector index through the admin API', async t => {
  const { app, admin, data, db } = await buildTestGateway(t)
  await app.inject({
    method: 'POST',
    url: '/chunks',
    headers: data,
    payload: { chunks: [chunk(1, 1, 0), chunk(1, 1, 1)] }
  })
  const url = '/admin/vector-storage/mariadb/vector-index'
  t.match((await app.inject({ url, headers: admin })).json(), { exists: false, usable: false })

  const created = await app.inject({ method: 'POST', url, headers: admin, payload: { m: 8 } })
  t.equal(created.statusCode, 200)
  t.match(created.json(), { vector_index: { exists: true, usable: true, distance: 'cosine', m: 8 } })
  t.ok(created.json().duration_ms >= 0, 'reports how long the build took')
  const [row] = await db.pool.query('SHOW CREATE TABLE BRAG')
  t.match(row['Create Table'], /VECTOR KEY .*`M`='?8'?.*`DISTANCE`='?cosine'?/, 'the table really has it')
  t.match(
    (await app.inject({ url: '/admin/vector-storage/status', headers: admin })).json().providers.mariadb.vector_index,
    { exists: true, usable: true }
  )

  const search = await app.inject({
    method: 'POST',
    url: '/search',
    headers: data,
    payload: { user_id: 1, vector: axisVector(0), min_score: 0 }
  })
  t.equal(search.json().results.length, 2, 'search works with the index in place')

  t.equal(
    (await app.inject({ method: 'POST', url, headers: data, payload: {} })).statusCode,
    403,
    'the data key cannot build indexes'
  )
  t.equal((await app.inject({ method: 'POST', url, headers: admin, payload: { m: 1 } })).statusCode, 400)

  const dropped = await app.inject({ method: 'DELETE', url, headers: admin })
  t.match(dropped.json(), { vector_index: { exists: false } })
})
