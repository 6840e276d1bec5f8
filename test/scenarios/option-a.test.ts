// docs/architecture.md#switching ("Option A"): switch to Qdrant without migrating; old files stay
// searchable, deletes reach both, a rollback hides and resurrects nothing.
import t from 'tap'
import { buildTestGateway } from '../helpers/app.ts'
import { axisVector, chunk } from '../helpers/chunks.ts'
import { client } from '../helpers/gateway-client.ts'

const ids = (res: { json(): { results: Array<{ point_id: string }> } }): string[] =>
  res
    .json()
    .results.map(r => r.point_id)
    .sort()

t.test('store under mariadb, switch, store more, delete, roll back', async t => {
  const gw = await buildTestGateway(t, { qdrant: true })
  const c = client(gw)

  t.same((await c.store([chunk(1, 1, 0), chunk(1, 1, 1), chunk(1, 2, 0)])).json(), {
    stored: 3,
    providers: { mariadb: 3 }
  })
  t.equal((await c.switchTo('qdrant')).json().current_provider, 'qdrant')
  t.same((await c.store([chunk(1, 3, 0), chunk(1, 3, 1)])).json(), { stored: 2, providers: { qdrant: 2 } })

  const both = await c.search({ user_id: 1, vector: axisVector(0) })
  t.same(ids(both), ['doc_1_1_0', 'doc_1_1_1', 'doc_1_2_0', 'doc_1_3_0', 'doc_1_3_1'], 'old and new files are found')
  t.same(both.json().providers_queried.sort(), ['mariadb', 'qdrant'])
  const byPoint = Object.fromEntries(
    both.json().results.map((r: { point_id: string; provider: string }) => [r.point_id, r.provider])
  )
  t.equal(byPoint.doc_1_1_0, 'mariadb')
  t.equal(byPoint.doc_1_3_0, 'qdrant')

  const stats = (await c.stats(1)).json()
  t.match(stats, { total_chunks: 5, total_files: 3, providers: { mariadb: 3, qdrant: 2 } })

  t.same(
    (await c.remove('user_id=1&file_id=1')).json(),
    { deleted: 2, providers: { mariadb: 2, qdrant: 0 } },
    'an old file is deleted after the switch'
  )
  t.same(
    (await c.remove('user_id=1&file_id=3')).json(),
    { deleted: 2, providers: { mariadb: 0, qdrant: 2 } },
    'a new file too'
  )
  await c.store([chunk(1, 4, 0)])

  t.equal((await c.switchTo('mariadb')).json().previous_provider, 'qdrant', 'rollback')
  t.same(
    ids(await c.search({ user_id: 1, vector: axisVector(0) })),
    ['doc_1_2_0', 'doc_1_4_0'],
    'deleted files stay deleted, files stored under qdrant stay searchable'
  )
  t.same((await c.list(1, 1)).json().chunks, [])
  t.same(
    (await c.list(1, 4)).json().chunks.map((x: { provider: string }) => x.provider),
    ['qdrant']
  )
})

t.test('the newest write of a key wins, wherever it is', async t => {
  const gw = await buildTestGateway(t, { qdrant: true })
  const c = client(gw)
  await c.store([chunk(7, 1, 0, { text: 'v1 in mariadb' })])
  await c.switchTo('qdrant')
  await c.store([chunk(7, 1, 0, { text: 'v2 in qdrant' })])
  t.same(
    (await c.list(7, 1)).json().chunks.map((x: { text: string; provider: string }) => [x.text, x.provider]),
    [['v2 in qdrant', 'qdrant']]
  )
  t.equal(await gw.app.providers.mariadb.count({ user_id: 7 }), 0, 'the older copy was removed from mariadb')

  await t.test('even when the older copy could not be removed', async t => {
    await c.switchTo('mariadb')
    gw.qdrant?.faults.fail(500, { match: req => req.path.endsWith('/points/delete') })
    t.equal((await c.store([chunk(7, 1, 0, { text: 'v3 in mariadb' })])).statusCode, 200, 'the write itself succeeds')
    gw.qdrant?.faults.reset()
    const found = (await c.search({ user_id: 7, vector: axisVector(0) })).json().results
    t.same(
      found.map((x: { text: string; provider: string }) => [x.text, x.provider]),
      [['v3 in mariadb', 'mariadb']],
      'one result, the newest'
    )
    t.same(
      (await c.list(7, 1)).json().chunks.map((x: { text: string }) => x.text),
      ['v3 in mariadb']
    )
    t.equal((await c.stats(7)).json().total_chunks, 1, 'a key held twice counts once')
  })
})

t.test('read mode active queries the active provider only', async t => {
  const gw = await buildTestGateway(t, { qdrant: true })
  const c = client(gw)
  await c.store([chunk(1, 1, 0)])
  await c.switchTo('qdrant')
  await c.store([chunk(1, 2, 0)])
  t.equal((await c.readMode('active')).json().read_mode, 'active')
  const res = (await c.search({ user_id: 1, vector: axisVector(0) })).json()
  t.same(res.providers_queried, ['qdrant'])
  t.same(
    res.results.map((r: { point_id: string }) => r.point_id),
    ['doc_1_2_0']
  )
  await c.readMode('merged')
  t.equal((await c.search({ user_id: 1, vector: axisVector(0) })).json().results.length, 2)
})

t.test('per-user overrides route one user elsewhere', async t => {
  const gw = await buildTestGateway(t, { qdrant: true })
  const c = client(gw)
  t.same((await c.pin(2, 'qdrant')).json(), { user_id: 2, provider: 'qdrant', source: 'user' })
  t.same((await c.store([chunk(1, 1, 0), chunk(2, 1, 0)])).json(), { stored: 2, providers: { mariadb: 1, qdrant: 1 } })
  t.same((await c.pin(2, null)).json(), { user_id: 2, provider: 'mariadb', source: 'default' })
  const changes = (await gw.app.inject({ url: '/admin/vector-storage/changes', headers: gw.admin })).json().changes
  t.match(changes, [
    { scope: 'user', user_id: 2, previous_value: 'qdrant', new_value: null },
    { scope: 'user', user_id: 2, previous_value: null, new_value: 'qdrant' }
  ])
})
