// The search route takes limit and min_score defaults from its schema only (filled in
// by validation): a request without them gets at most 10 results, none below 0.3.
import t from 'tap'
import { buildTestGateway } from '../helpers/app.ts'
import { axisVector, chunk } from '../helpers/chunks.ts'

t.test('a search without limit and min_score uses the schema defaults (10, 0.3)', async t => {
  const { app, data } = await buildTestGateway(t)
  const near = Array.from({ length: 15 }, (_, i) => chunk(1, 1, i, { vector: axisVector(0, 0.05 * i) }))
  const far = Array.from({ length: 3 }, (_, i) => chunk(1, 2, i, { vector: axisVector(4) }))
  const stored = await app.inject({
    method: 'POST',
    url: '/chunks',
    headers: data,
    payload: { chunks: [...near, ...far] }
  })
  t.equal(stored.statusCode, 200, stored.body)

  const search = async (extra: Record<string, unknown>) =>
    await app.inject({
      method: 'POST',
      url: '/search',
      headers: data,
      payload: { user_id: 1, vector: axisVector(0), ...extra }
    })
  const all = (await search({ limit: 100, min_score: 0 })).json().results as Array<{ score: number }>
  t.equal(all.length, 18, 'with limit 100 and min_score 0 every chunk comes back')

  const res = await search({})
  t.equal(res.statusCode, 200, res.body)
  const results = res.json().results as Array<{ score: number; file_id: number }>
  t.equal(results.length, 10, 'at most the default limit of 10')
  t.ok(
    results.every(r => r.score >= 0.3 && r.file_id === 1),
    'nothing below the default min_score 0.3'
  )
  const fewer = (await search({ limit: 100 })).json().results as Array<{ score: number }>
  t.equal(fewer.length, 15, 'the default min_score alone leaves out the 3 orthogonal chunks')
})
