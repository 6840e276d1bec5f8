import t from 'tap'
import { buildTestGateway } from '../helpers/app.ts'
import { axisVector, chunk, cosine } from '../helpers/chunks.ts'

t.test('chunks and search on MariaDB', async t => {
  const gw = await buildTestGateway(t)
  const { app, data } = gw
  const post = async (body: object) =>
    await app.inject({ method: 'POST', url: '/chunks', headers: data, payload: body })
  const list = async (userId: number, fileId: number, extra = '') =>
    (await app.inject({ url: `/chunks?user_id=${userId}&file_id=${fileId}${extra}`, headers: data })).json().chunks

  const stored = await post({
    chunks: [chunk(1, 10, 2), chunk(1, 10, 0), chunk(1, 10, 1), chunk(1, 11, 0, { group_key: 'g2' })]
  })
  t.equal(stored.statusCode, 200)
  t.same(stored.json(), { stored: 4, providers: { mariadb: 4 } })

  await t.test('list orders by chunk_index and names point and provider', async t => {
    const chunks = await list(1, 10)
    t.same(
      chunks.map((c: { chunk_index: number }) => c.chunk_index),
      [0, 1, 2]
    )
    t.match(chunks[0], {
      point_id: 'doc_1_10_0',
      provider: 'mariadb',
      user_id: 1,
      file_id: 10,
      group_key: 'DEFAULT',
      file_type: 0,
      start_line: 0,
      end_line: 9,
      text: 'user 1 file 10 chunk 0'
    })
    t.notOk('vector' in chunks[0], 'no vector unless asked')
    const withVectors = await list(1, 10, '&include_vectors=true')
    t.ok(cosine(withVectors[1].vector, axisVector(1, 0.1)) > 0.99999)
    t.equal(typeof chunks[0].created, 'number')
  })

  await t.test('a write replaces the chunk with the same key', async t => {
    await post({ chunks: [chunk(1, 10, 1, { text: 'rewritten' })] })
    const chunks = await list(1, 10)
    t.equal(chunks.length, 3)
    t.equal(chunks[1].text, 'rewritten')
  })

  await t.test('search ranks by cosine, honours limit, min_score, group and files', async t => {
    const query = axisVector(1, 0.1)
    const res = await app.inject({
      method: 'POST',
      url: '/search',
      headers: data,
      payload: { user_id: 1, vector: query, min_score: 0 }
    })
    t.equal(res.statusCode, 200)
    const body = res.json()
    t.same(body.providers_queried, ['mariadb'])
    t.equal(body.results[0].point_id, 'doc_1_10_1')
    t.ok(Math.abs(body.results[0].score - 1) < 1e-5, 'identical direction scores 1')
    const scores = body.results.map((r: { score: number }) => r.score)
    t.same(
      scores,
      [...scores].sort((a, b) => b - a),
      'best first'
    )
    t.equal(body.results.length, 4)
    t.ok(typeof body.took_ms === 'number')
    const expected = cosine(query, axisVector(2, 0.1))
    const r2 = body.results.find((r: { point_id: string }) => r.point_id === 'doc_1_10_2')
    t.ok(Math.abs(r2.score - expected) < 1e-4, 'score is cosine similarity')

    const limited = (
      await app.inject({
        method: 'POST',
        url: '/search',
        headers: data,
        payload: { user_id: 1, vector: query, limit: 2, min_score: 0 }
      })
    ).json()
    t.equal(limited.results.length, 2)
    const strict = (
      await app.inject({
        method: 'POST',
        url: '/search',
        headers: data,
        payload: { user_id: 1, vector: query, min_score: r2.score }
      })
    ).json()
    t.ok(
      strict.results.some((r: { point_id: string }) => r.point_id === 'doc_1_10_2'),
      'min_score is inclusive'
    )
    t.ok(strict.results.every((r: { score: number }) => r.score >= r2.score))
    const grouped = (
      await app.inject({
        method: 'POST',
        url: '/search',
        headers: data,
        payload: { user_id: 1, vector: query, group_key: 'g2', min_score: 0 }
      })
    ).json()
    t.same(
      grouped.results.map((r: { point_id: string }) => r.point_id),
      ['doc_1_11_0']
    )
    const files = (
      await app.inject({
        method: 'POST',
        url: '/search',
        headers: data,
        payload: { user_id: 1, vector: query, file_ids: [11], min_score: 0 }
      })
    ).json()
    t.same(
      files.results.map((r: { file_id: number }) => r.file_id),
      [11]
    )
  })

  await t.test('stats count chunks, files and groups', async t => {
    const stats = (await app.inject({ url: '/stats?user_id=1', headers: data })).json()
    t.same(stats, {
      total_chunks: 4,
      total_files: 2,
      total_groups: 2,
      chunks_by_group: { DEFAULT: 3, g2: 1 },
      providers: { mariadb: 4 }
    })
  })

  await t.test("PATCH changes a file's group key", async t => {
    const res = await app.inject({
      method: 'PATCH',
      url: '/chunks',
      headers: data,
      payload: { user_id: 1, file_id: 10, group_key: 'moved' }
    })
    t.equal(res.statusCode, 200)
    t.same(res.json(), { updated: 3, providers: { mariadb: 3 } })
    t.ok((await list(1, 10)).every((c: { group_key: string }) => c.group_key === 'moved'))
  })

  await t.test('replace removes every chunk of the file first', async t => {
    const res = await post({ replace: true, chunks: [chunk(1, 10, 0, { text: 'only one now' })] })
    t.equal(res.statusCode, 200)
    const chunks = await list(1, 10)
    t.same(
      chunks.map((c: { text: string }) => c.text),
      ['only one now']
    )
  })

  await t.test('deletes by file, by group, by user', async t => {
    await post({ chunks: [chunk(2, 20, 0), chunk(2, 20, 1), chunk(2, 21, 0, { group_key: 'x' }), chunk(2, 22, 0)] })
    const del = async (qs: string) =>
      (await app.inject({ method: 'DELETE', url: `/chunks?${qs}`, headers: data })).json()
    t.same(await del('user_id=2&file_id=20'), { deleted: 2, providers: { mariadb: 2 } })
    t.same(await del('user_id=2&group_key=x'), { deleted: 1, providers: { mariadb: 1 } })
    t.same(await del('user_id=2'), { deleted: 1, providers: { mariadb: 1 } })
    t.equal((await app.inject({ url: '/stats?user_id=2', headers: data })).json().total_chunks, 0)
    t.equal(
      (await app.inject({ url: '/stats?user_id=1', headers: data })).json().total_chunks,
      2,
      'other users untouched'
    )
  })
})
