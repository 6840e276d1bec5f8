/**
 * The Qdrant REST emulator, driven through the official @qdrant/js-client-rest client
 * (plus raw fetch where the client cannot express the request).
 */
import t from 'tap'
import { QdrantClient, QdrantClientTimeoutError } from '@qdrant/js-client-rest'
import { startQdrantEmulator, type QdrantEmulator } from '../src/index.ts'
import { f32 } from '../src/api.ts'

type ApiErr = { status?: number; data?: { status?: { error?: string } } }

function newClient(url: string, extra: Record<string, unknown> = {}): QdrantClient {
  return new QdrantClient({ url, timeout: 5000, checkCompatibility: true, ...extra })
}

/** Rejection of a client call, as its status and Qdrant error text. */
async function failure(
  p: Promise<unknown>
): Promise<{ status: number | undefined; error: string | undefined; err: unknown }> {
  try {
    await p
  } catch (err) {
    const e = err as ApiErr
    return { status: e.status, error: e.data?.status?.error, err }
  }
  throw new Error('expected the call to fail')
}

function cosine(a: number[], b: number[]): number {
  let dot = 0
  let na = 0
  let nb = 0
  for (let i = 0; i < a.length; i++) {
    dot += a[i] * b[i]
    na += a[i] * a[i]
    nb += b[i] * b[i]
  }
  return dot / Math.sqrt(na * nb)
}

const UUID_UPPER = '550E8400-E29B-41D4-A716-446655440000'
const UUID = '550e8400-e29b-41d4-a716-446655440000'

let emu: QdrantEmulator
let client: QdrantClient

t.before(async () => {
  emu = await startQdrantEmulator()
  client = newClient(emu.url)
})
t.teardown(async () => {
  await emu.close()
})

t.test('root, health endpoints and version', async t => {
  const root = await fetch(`${emu.url}/`)
  t.equal(root.status, 200)
  t.same(await root.json(), { title: 'qdrant - vector search engine', version: '1.19.0' })
  for (const [path, text] of [
    ['/healthz', 'healthz check passed'],
    ['/livez', 'livez check passed'],
    ['/readyz', 'all shards are ready']
  ]) {
    const res = await fetch(emu.url + path)
    t.equal(res.status, 200, path)
    t.equal(await res.text(), text, path)
  }
  const unknown = await fetch(`${emu.url}/no/such/endpoint`)
  t.equal(unknown.status, 404)
})

t.test('collections: create, info, exists, list, delete, payload indexes', async t => {
  t.equal(await client.createCollection('c1', { vectors: { size: 4, distance: 'Cosine' } }), true)
  const dup = await failure(client.createCollection('c1', { vectors: { size: 4, distance: 'Cosine' } }))
  t.equal(dup.status, 409)
  t.equal(dup.error, 'Wrong input: Collection `c1` already exists!')

  t.same(await client.collectionExists('c1'), { exists: true })
  t.same(await client.collectionExists('nope'), { exists: false })

  const r1 = await client.createPayloadIndex('c1', {
    field_name: 'tenant',
    field_schema: { type: 'keyword', is_tenant: true },
    wait: true
  })
  t.equal(r1.status, 'completed')
  await client.createPayloadIndex('c1', { field_name: 'year', field_schema: 'integer', wait: true })
  await client.upsert('c1', {
    wait: true,
    points: [
      { id: 1, vector: [1, 0, 0, 0], payload: { tenant: 'a', year: 2020 } },
      { id: 2, vector: [0, 1, 0, 0], payload: { tenant: 'b' } }
    ]
  })

  const info = await client.getCollection('c1')
  t.equal(info.status, 'green')
  t.equal(info.points_count, 2)
  t.same(info.config.params.vectors, { size: 4, distance: 'Cosine' })
  t.match(info.payload_schema, {
    tenant: { data_type: 'keyword', params: { type: 'keyword', is_tenant: true }, points: 2 },
    year: { data_type: 'integer', points: 1 }
  })

  const list = await client.getCollections()
  t.ok(list.collections.some(c => c.name === 'c1'))

  const missing = await failure(client.getCollection('nope'))
  t.equal(missing.status, 404)
  t.equal(missing.error, "Not found: Collection `nope` doesn't exist!")

  t.equal(await client.deleteCollection('c1'), true)
  t.equal(await client.deleteCollection('c1'), false)
  t.same(await client.collectionExists('c1'), { exists: false })
})

t.test('points: upsert (wait, batch), retrieve, get by id, uuid normalisation', async t => {
  await client.createCollection('p', { vectors: { size: 3, distance: 'Cosine' } })
  const res = await client.upsert('p', {
    wait: true,
    points: [
      { id: 1, vector: [3, 0, 4], payload: { text: 'one', tags: ['x', 'y'] } },
      { id: UUID_UPPER, vector: [0, 1, 0], payload: { text: 'uuid' } }
    ]
  })
  t.same(res, { operation_id: 0, status: 'completed' })

  const noWait = await client.upsert('p', {
    wait: false,
    batch: {
      ids: [2, 3],
      vectors: [
        [1, 1, 0],
        [0, 0, 2]
      ],
      payloads: [{ text: 'two' }, null]
    }
  })
  t.equal(noWait.status, 'acknowledged')
  t.equal(noWait.operation_id, 1)

  const got = await client.retrieve('p', { ids: [UUID, 1, 999, 2], with_payload: true, with_vector: true })
  t.same(
    got.map(r => r.id),
    [UUID, 1, 2],
    'missing ids skipped, uuid normalised'
  )
  t.same(got[1].payload, { text: 'one', tags: ['x', 'y'] })
  t.same(got[1].vector, [0.6, 0, 0.8], 'cosine vectors are stored normalised')

  const bare = await client.retrieve('p', { ids: [3], with_payload: false })
  t.same(bare, [{ id: 3 }], 'no payload / vector keys when not requested')
  const withEmpty = await client.retrieve('p', { ids: [3] })
  t.same(withEmpty, [{ id: 3, payload: {} }])

  const one = await fetch(`${emu.url}/collections/p/points/${UUID}`).then(r => r.json())
  t.match(one, { status: 'ok', result: { id: UUID, payload: { text: 'uuid' }, vector: [0, 1, 0] } })
  const gone = await fetch(`${emu.url}/collections/p/points/12345`)
  t.equal(gone.status, 404)
  t.same((await gone.json()).status, { error: 'Not found: No point with id 12345 found' })

  const badId = await failure(client.upsert('p', { wait: true, points: [{ id: 'not-a-uuid', vector: [1, 2, 3] }] }))
  t.equal(badId.status, 400)
  t.equal(
    badId.error,
    'Format error in JSON body: value not-a-uuid is not a valid point ID, valid values are either an unsigned integer or a UUID'
  )
  const negative = await failure(client.retrieve('p', { ids: [-1] }))
  t.equal(negative.status, 400)
  t.match(negative.error, /is not a valid point ID/)

  const dim = await failure(client.upsert('p', { wait: true, points: [{ id: 9, vector: [1, 2] }] }))
  t.equal(dim.status, 400)
  t.equal(dim.error, 'Wrong input: Vector dimension error: expected dim: 3, got 2')
  t.equal((await client.count('p')).count, 4, 'failed upsert changed nothing')

  const unknown = await failure(client.upsert('nope', { wait: true, points: [{ id: 1, vector: [1, 2, 3] }] }))
  t.equal(unknown.status, 404)
  t.equal(unknown.error, "Not found: Collection `nope` doesn't exist!")
})

t.test('u64 ids beyond 2^53 survive the round trip', async t => {
  await client.createCollection('big', { vectors: { size: 2, distance: 'Dot' } })
  const big = '18446744073709551615'
  const put = await fetch(`${emu.url}/collections/big/points?wait=true`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: `{"points":[{"id":${big},"vector":[1,2]},{"id":9007199254740993,"vector":[2,1]}]}`
  })
  t.equal(put.status, 200)
  const text = await fetch(`${emu.url}/collections/big/points/scroll`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: '{"limit":10}'
  }).then(r => r.text())
  t.match(text, `"id":9007199254740993`)
  t.match(text, `"id":${big}`)
  const over = await fetch(`${emu.url}/collections/big/points?wait=true`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: '{"points":[{"id":18446744073709551616,"vector":[1,2]}]}'
  })
  t.equal(over.status, 400)
})

t.test('update_mode insert_only does not overwrite; update_only does not insert', async t => {
  await client.createCollection('ins', { vectors: { size: 2, distance: 'Cosine' } })
  await client.upsert('ins', { wait: true, points: [{ id: 1, vector: [1, 0], payload: { v: 'original' } }] })
  await client.upsert('ins', {
    wait: true,
    update_mode: 'insert_only',
    points: [
      { id: 1, vector: [0, 1], payload: { v: 'overwritten' } },
      { id: 2, vector: [0, 1], payload: { v: 'new' } }
    ]
  })
  const pts = await client.retrieve('ins', { ids: [1, 2], with_vector: true })
  t.same(pts, [
    { id: 1, payload: { v: 'original' }, vector: [1, 0] },
    { id: 2, payload: { v: 'new' }, vector: [0, 1] }
  ])
  await client.upsert('ins', {
    wait: true,
    update_mode: 'update_only',
    points: [
      { id: 2, vector: [1, 0], payload: { v: 'updated' } },
      { id: 3, vector: [1, 0], payload: { v: 'never' } }
    ]
  })
  t.same(
    (await client.retrieve('ins', { ids: [2, 3] })).map(p => p.payload),
    [{ v: 'updated' }]
  )
  await client.upsert('ins', { wait: true, points: [{ id: 1, vector: [0, 1], payload: { v: 'upserted' } }] })
  t.same((await client.retrieve('ins', { ids: [1] }))[0].payload, { v: 'upserted' }, 'default mode overwrites')
})

t.test('scroll: id order, pagination, filter, with_payload selectors', async t => {
  await client.createCollection('s', { vectors: { size: 2, distance: 'Cosine' } })
  const uuids = ['ffffffff-0000-0000-0000-000000000000', '00000000-0000-0000-0000-00000000000a']
  const points = [
    ...Array.from({ length: 23 }, (_, i) => ({
      id: 100 - i * 3,
      vector: [1, i],
      payload: { n: i, even: i % 2 === 0, group: 'g' }
    })),
    ...uuids.map((id, i) => ({ id, vector: [0, 1], payload: { n: 100 + i, even: true, group: 'u' } }))
  ]
  await client.upsert('s', { wait: true, points })
  const expected = [
    ...points
      .slice(0, 23)
      .map(p => p.id as number)
      .sort((a, b) => a - b),
    uuids[1],
    uuids[0]
  ]

  const seen: (string | number)[] = []
  let offset: string | number | undefined | null = undefined
  let pages = 0
  do {
    const page: Awaited<ReturnType<QdrantClient['scroll']>> = await client.scroll('s', {
      limit: 10,
      offset: offset ?? undefined,
      with_payload: false
    })
    pages++
    for (const p of page.points) {
      t.same(Object.keys(p), ['id'])
      seen.push(p.id as string | number)
    }
    offset = page.next_page_offset as string | number | null | undefined
  } while (offset !== null && offset !== undefined)
  t.equal(pages, 3)
  t.same(seen, expected, 'numeric ids ascending, then uuids ascending')

  const filtered = await client.scroll('s', {
    limit: 100,
    filter: {
      must: [
        { key: 'even', match: { value: true } },
        { key: 'group', match: { value: 'g' } }
      ]
    },
    with_payload: ['n']
  })
  t.equal(filtered.points.length, 12)
  t.same(filtered.points[0].payload, { n: 22 })
  t.equal(filtered.next_page_offset, null)

  const excl = await client.scroll('s', { limit: 1, with_payload: { exclude: ['group', 'even'] } })
  t.same(excl.points[0].payload, { n: 22 })
  t.equal(excl.next_page_offset, 37)

  const zero = await failure(client.scroll('s', { limit: 0 }))
  t.equal(zero.status, 422)
  t.match(zero.error, /^Validation error in JSON body: \[limit: value 0 invalid, must be 1 or larger\]/)

  await client.createPayloadIndex('s', { field_name: 'n', field_schema: 'integer', wait: true })
  const ordered = await client.scroll('s', { limit: 3, order_by: { key: 'n', direction: 'desc' }, with_payload: false })
  t.same(
    ordered.points.map(p => p.id),
    [uuids[1], uuids[0], 100 - 22 * 3]
  )
})

t.test(
  'count with filters: must / should / must_not, any, except, range, has_id, is_empty, is_null, nested',
  async t => {
    await client.createCollection('f', { vectors: { size: 2, distance: 'Cosine' } })
    await client.upsert('f', {
      wait: true,
      points: [
        { id: 1, vector: [1, 0], payload: { tenant: 'a', year: 2019, tags: ['red', 'blue'], owner: { name: 'x' } } },
        { id: 2, vector: [1, 0], payload: { tenant: 'a', year: 2021, tags: ['green'], note: null } },
        { id: 3, vector: [1, 0], payload: { tenant: 'b', year: 2022, tags: [] } },
        {
          id: 4,
          vector: [1, 0],
          payload: {
            tenant: 'c',
            year: 2023.5,
            items: [
              { k: 'p', q: 1 },
              { k: 'q', q: 5 }
            ]
          }
        },
        { id: UUID, vector: [1, 0], payload: {} }
      ]
    })
    const count = async (filter: Record<string, unknown>) => (await client.count('f', { filter, exact: true })).count

    t.equal((await client.count('f')).count, 5)
    t.equal(await count({ must: [{ key: 'tenant', match: { value: 'a' } }] }), 2)
    t.equal(await count({ must: { key: 'tenant', match: { value: 'a' } } }), 2, 'single condition instead of a list')
    t.equal(
      await count({
        should: [
          { key: 'tenant', match: { value: 'a' } },
          { key: 'tenant', match: { value: 'b' } }
        ]
      }),
      3
    )
    t.equal(
      await count({ must_not: [{ key: 'tenant', match: { value: 'a' } }] }),
      3,
      'must_not keeps points without the field'
    )
    t.equal(await count({ must: [{ key: 'tenant', match: { any: ['b', 'c', 'z'] } }] }), 2)
    t.equal(
      await count({ must: [{ key: 'tenant', match: { except: ['a'] } }] }),
      2,
      'except skips points without the field'
    )
    t.equal(await count({ must: [{ key: 'tags', match: { value: 'blue' } }] }), 1, 'arrays match element-wise')
    t.equal(await count({ must: [{ key: 'year', range: { gte: 2021, lt: 2023 } }] }), 2)
    t.equal(await count({ must: [{ key: 'year', range: { gt: 2023 } }] }), 1)
    t.equal(await count({ must: [{ has_id: [1, 3, UUID_UPPER, 77] }] }), 3)
    t.equal(await count({ must: [{ is_empty: { key: 'tags' } }] }), 3, 'missing, null and [] are empty')
    t.equal(await count({ must: [{ is_null: { key: 'note' } }] }), 1)
    t.equal(await count({ must: [{ key: 'owner.name', match: { value: 'x' } }] }), 1, 'nested key path')
    t.equal(await count({ must: [{ key: 'items[].k', match: { value: 'q' } }] }), 1, 'array path')
    t.equal(
      await count({
        must: [
          {
            nested: {
              key: 'items',
              filter: {
                must: [
                  { key: 'k', match: { value: 'p' } },
                  { key: 'q', range: { gte: 5 } }
                ]
              }
            }
          }
        ]
      }),
      0,
      'nested condition applies to one element at a time'
    )
    t.equal(
      await count({
        must: [
          {
            should: [
              { key: 'tenant', match: { value: 'b' } },
              { key: 'year', range: { lt: 2020 } }
            ]
          }
        ],
        must_not: [{ has_id: [3] }]
      }),
      1,
      'nested filters'
    )
    const bad = await failure(client.count('f', { filter: { must: [{ foo: 1 }] } as never }))
    t.equal(bad.status, 400)
    t.match(bad.error, /^Format error in JSON body: /)
  }
)

t.test('query: cosine scores, filter, limit, offset, score_threshold, with_payload, with_vector', async t => {
  await client.createCollection('q', { vectors: { size: 3, distance: 'Cosine' } })
  const data: { id: number; vector: number[]; payload: Record<string, unknown> }[] = [
    { id: 1, vector: [1, 2, 3], payload: { tenant: 'a', title: 'one', body: 'x' } },
    { id: 2, vector: [3, 2, 1], payload: { tenant: 'a', title: 'two', body: 'y' } },
    { id: 3, vector: [0, 0, 5], payload: { tenant: 'b', title: 'three', body: 'z' } },
    { id: 4, vector: [-1, -2, -3], payload: { tenant: 'a', title: 'four', body: 'w' } },
    { id: 5, vector: [2, 4, 6], payload: { tenant: 'a', title: 'five', body: 'v' } }
  ]
  await client.upsert('q', { wait: true, points: data })
  const query = [1, 1, 2]

  const all = await client.query('q', { query, limit: 10 })
  const expected = data
    .map(d => ({ id: d.id, score: cosine(d.vector, query) }))
    .sort((a, b) => b.score - a.score || a.id - b.id)
  t.same(
    all.points.map(p => p.id),
    expected.map(e => e.id),
    'sorted by score, ties by id (1 and 5 are parallel)'
  )
  for (let i = 0; i < expected.length; i++) {
    t.ok(
      Math.abs(all.points[i].score - expected[i].score) < 1e-6,
      `score of ${expected[i].id} is the cosine similarity`
    )
    t.same(Object.keys(all.points[i]).sort(), ['id', 'score', 'version'], 'no payload / vector by default')
  }

  const filtered = await client.query('q', {
    query,
    filter: { must: [{ key: 'tenant', match: { value: 'a' } }] },
    limit: 2,
    offset: 1,
    with_payload: ['title'],
    with_vector: true
  })
  t.same(
    filtered.points.map(p => p.id),
    [5, 2]
  )
  t.same(filtered.points[0].payload, { title: 'five' })
  const v = filtered.points[0].vector as number[]
  const norm = Math.hypot(2, 4, 6)
  t.ok(
    v.every((x, i) => Math.abs(x - [2, 4, 6][i] / norm) < 1e-6),
    'vector returned normalised'
  )

  const threshold = all.points[2].score
  const above = await client.query('q', { query, score_threshold: threshold, with_payload: { include: ['tenant'] } })
  t.same(
    above.points.map(p => p.id),
    [1, 5, all.points[2].id],
    'threshold is inclusive'
  )
  t.same(above.points[0].payload, { tenant: 'a' })
  const stricter = await client.query('q', { query, score_threshold: threshold + 1e-4 })
  t.same(
    stricter.points.map(p => p.id),
    [1, 5]
  )

  const withAll = await client.query('q', { query: { nearest: query }, limit: 1, with_payload: { exclude: ['body'] } })
  t.same(withAll.points[0].payload, { tenant: 'a', title: 'one' })

  const dim = await failure(client.query('q', { query: [1, 2] }))
  t.equal(dim.status, 400)
  t.equal(dim.error, 'Wrong input: Vector dimension error: expected dim: 3, got 2')
  const missing = await failure(client.query('nope', { query }))
  t.equal(missing.status, 404)

  const legacy = await fetch(`${emu.url}/collections/q/points/search`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ vector: query, limit: 2, with_payload: true })
  }).then(r => r.json())
  t.same(
    legacy.result.map((p: { id: number }) => p.id),
    [1, 5],
    'legacy POST /points/search'
  )
})

t.test('payload updates and deletes: set / overwrite by filter and ids, delete by filter and ids', async t => {
  await client.createCollection('u', { vectors: { size: 2, distance: 'Cosine' } })
  await client.upsert('u', {
    wait: true,
    points: [1, 2, 3, 4, 5].map(id => ({ id, vector: [1, id], payload: { doc: id <= 3 ? 'd1' : 'd2', keep: true } }))
  })

  const set = await client.setPayload('u', {
    payload: { state: 'archived' },
    filter: { must: [{ key: 'doc', match: { value: 'd1' } }] },
    wait: true
  })
  t.equal(set.status, 'completed')
  t.equal((await client.count('u', { filter: { must: [{ key: 'state', match: { value: 'archived' } }] } })).count, 3)
  t.same(
    (await client.retrieve('u', { ids: [1] }))[0].payload,
    { doc: 'd1', keep: true, state: 'archived' },
    'set merges'
  )

  await client.setPayload('u', { payload: { extra: 1 }, points: [4], wait: true })
  await client.overwritePayload('u', { payload: { only: 'this' }, points: [5], wait: true })
  t.same(
    (await client.retrieve('u', { ids: [4, 5] })).map(p => p.payload),
    [{ doc: 'd2', keep: true, extra: 1 }, { only: 'this' }]
  )
  const missingPoint = await failure(client.setPayload('u', { payload: { a: 1 }, points: [42], wait: true }))
  t.equal(missingPoint.status, 404)
  t.equal(missingPoint.error, 'Not found: No point with id 42 found')

  await client.deletePayload('u', { keys: ['keep'], points: [4], wait: true })
  t.same((await client.retrieve('u', { ids: [4] }))[0].payload, { doc: 'd2', extra: 1 })

  const byFilter = await client.delete('u', { filter: { must: [{ key: 'doc', match: { value: 'd1' } }] }, wait: true })
  t.equal(byFilter.status, 'completed')
  t.same(
    (await client.scroll('u', { with_payload: false })).points.map(p => p.id),
    [4, 5]
  )
  await client.delete('u', { points: [5, 999], wait: true })
  t.same(
    (await client.scroll('u', { with_payload: false })).points.map(p => p.id),
    [4]
  )
})

t.test('bad requests: malformed JSON, missing body parts', async t => {
  const bad = await fetch(`${emu.url}/collections/q/points/query`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: '{"query": [1,2,'
  })
  t.equal(bad.status, 400)
  const body = await bad.json()
  t.match(body, { status: { error: /^Format error in JSON body: / }, time: Number })
  t.notOk('result' in body)

  const noPoints = await fetch(`${emu.url}/collections/q/points?wait=true`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: '{"foo": 1}'
  })
  t.equal(noPoints.status, 400)
  t.match((await noPoints.json()).status.error, /untagged enum PointInsertOperations/)

  const badDistance = await failure(client.createCollection('x', { vectors: { size: 3, distance: 'cosine' as never } }))
  t.equal(badDistance.status, 400)
})

t.test('api-key enforcement', async t => {
  const secured = await startQdrantEmulator({ apiKey: 'sekret' })
  t.teardown(() => secured.close())

  const anonymous = newClient(secured.url, { checkCompatibility: false })
  const noKey = await failure(anonymous.getCollections())
  t.equal(noKey.status, 401)
  const raw = await fetch(`${secured.url}/collections`)
  t.equal(raw.status, 401)
  t.equal(await raw.text(), 'Must provide an API key or an Authorization bearer token')
  const wrong = await fetch(`${secured.url}/collections`, { headers: { 'api-key': 'nope' } })
  t.equal(wrong.status, 401)
  t.equal(await wrong.text(), 'Invalid API key or JWT')
  const bearer = await fetch(`${secured.url}/collections`, { headers: { authorization: 'Bearer sekret' } })
  t.equal(bearer.status, 200)

  for (const path of ['/', '/healthz', '/livez', '/readyz']) {
    t.equal((await fetch(secured.url + path)).status, 200, `${path} needs no key`)
  }

  const warn = console.warn
  console.warn = () => {} // "Api key is used with unsecure connection."
  const keyed = new QdrantClient({ url: secured.url, apiKey: 'sekret', timeout: 5000, checkCompatibility: false })
  console.warn = warn
  t.same(await keyed.getCollections(), { collections: [] })
})

t.test('faults', async t => {
  const f = await startQdrantEmulator()
  t.teardown(() => f.close())
  const c = newClient(f.url)
  await c.createCollection('x', { vectors: { size: 2, distance: 'Cosine' } })

  t.test('down refuses connections, up serves again with the same client', async t => {
    await f.faults.down()
    t.equal(f.faults.isDown, true)
    const err = (await failure(c.collectionExists('x'))).err as Error & { cause?: { code?: string } }
    // a fresh connection is refused; a keep-alive socket the client still held is cut instead
    t.match(err.cause?.code, /^(ECONNREFUSED|UND_ERR_SOCKET|ECONNRESET)$/, 'a connection error, no HTTP answer')
    await f.faults.up()
    t.same(await c.collectionExists('x'), { exists: true }, 'data survives an outage')
  })

  t.test('down in reset mode destroys connections', async t => {
    await f.faults.down({ mode: 'reset' })
    const err = (await failure(c.collectionExists('x'))).err as Error
    t.ok(err instanceof Error)
    t.notOk((err as ApiErr).status, 'no HTTP answer')
    await f.faults.up()
    t.same(await c.collectionExists('x'), { exists: true })
  })

  t.test('slow delays answers; the client times out', async t => {
    f.faults.slow(150)
    const started = Date.now()
    await c.collectionExists('x')
    t.ok(Date.now() - started >= 140, 'answer delayed')
    const impatient = newClient(f.url, { timeout: 50, checkCompatibility: false })
    const err = (await failure(impatient.collectionExists('x'))).err
    t.ok(err instanceof QdrantClientTimeoutError, 'client timeout')
    f.faults.slow(0)
    const quick = Date.now()
    await c.collectionExists('x')
    t.ok(Date.now() - quick < 140)
  })

  t.test('fail answers with a Qdrant-shaped error, `times` times', async t => {
    f.faults.fail(503, { times: 2, match: req => req.path.endsWith('/points/query') })
    await c.upsert('x', { wait: true, points: [{ id: 1, vector: [1, 0] }] })
    for (let i = 0; i < 2; i++) {
      const e = await failure(c.query('x', { query: [1, 0] }))
      t.equal(e.status, 503)
      t.match(e.error, /emulated failure/)
    }
    t.equal((await c.query('x', { query: [1, 0] })).points.length, 1, 'third call succeeds')

    f.faults.fail()
    const e = await failure(c.count('x'))
    t.equal(e.status, 500)
    t.equal(e.error, 'Service internal error: emulated failure (fault injection)')
    await f.faults.reset()
    t.equal((await c.count('x')).count, 1)

    f.faults.fail(400, {
      match: req => req.method === 'PUT' && (req.body as { points?: unknown[] })?.points?.length === 2
    })
    await c.upsert('x', { wait: true, points: [{ id: 2, vector: [1, 0] }] })
    t.equal(
      (
        await failure(
          c.upsert('x', {
            wait: true,
            points: [
              { id: 3, vector: [1, 0] },
              { id: 4, vector: [0, 1] }
            ]
          })
        )
      ).status,
      400
    )
    await f.faults.reset()
  })

  t.test('request log', async t => {
    f.requests.length = 0
    await c.count('x')
    await c.query('x', { query: [1, 0] })
    t.same(f.requests, [
      { method: 'POST', path: '/collections/x/points/count' },
      { method: 'POST', path: '/collections/x/points/query' }
    ])
  })
})

t.test('reset drops all collections', async t => {
  const r = await startQdrantEmulator()
  t.teardown(() => r.close())
  const c = newClient(r.url)
  await c.createCollection('a', { vectors: { size: 2, distance: 'Cosine' } })
  t.same(r.collectionNames(), ['a'])
  r.reset()
  t.same(await c.getCollections(), { collections: [] })
})

t.test('scale: 20k points x 1024 dims, filtered and unfiltered queries', async t => {
  const dim = 1024
  await client.createCollection('scale', { vectors: { size: dim, distance: 'Cosine' } })
  await client.createPayloadIndex('scale', { field_name: 'tenant', field_schema: 'keyword', wait: true })
  let seed = 42
  const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) * 2 - 1
  const total = 20_000
  const batch = 1000
  const t0 = Date.now()
  for (let b = 0; b < total / batch; b++) {
    const ids: number[] = []
    const vectors: number[][] = []
    const payloads: Record<string, unknown>[] = []
    for (let i = 0; i < batch; i++) {
      const id = b * batch + i
      ids.push(id)
      vectors.push(Array.from({ length: dim }, rnd))
      payloads.push({ tenant: `t${id % 20}` })
    }
    await client.upsert('scale', { wait: true, batch: { ids, vectors, payloads } })
  }
  const loadMs = Date.now() - t0
  const q = Array.from({ length: dim }, rnd)
  const t1 = Date.now()
  const res = await client.query('scale', { query: q, limit: 10 })
  const queryMs = Date.now() - t1
  const t2 = Date.now()
  const filtered = await client.query('scale', {
    query: q,
    limit: 10,
    filter: { must: [{ key: 'tenant', match: { value: 't3' } }] }
  })
  const filteredMs = Date.now() - t2
  t.equal(res.points.length, 10)
  t.ok(filtered.points.every(p => Number(p.id) % 20 === 3))
  t.equal((await client.count('scale')).count, total)
  t.comment(`load ${loadMs} ms, query ${queryMs} ms, filtered query ${filteredMs} ms`)
  t.ok(queryMs < 5000, 'brute-force query stays fast enough')
  await client.deleteCollection('scale')
})

t.test('payload indexes answer filtered reads exactly as a scan does, through every kind of write', async t => {
  // the same writes go to a collection without indexes and one with them; every
  // filtered count, scroll and query must agree, whichever way the index is kept
  const names = ['scan', 'indexed']
  for (const name of names) await client.createCollection(name, { vectors: { size: 3, distance: 'Cosine' } })
  await client.createPayloadIndex('indexed', { field_name: 'user', field_schema: 'integer', wait: true })
  // ordered scrolls need an integer index on the order key: both have one on `n`
  for (const name of names)
    await client.createPayloadIndex(name, { field_name: 'n', field_schema: 'integer', wait: true })
  const both = async (write: (name: string) => Promise<unknown>): Promise<void> => {
    for (const name of names) await write(name)
  }
  const point = (id: number, user: unknown, tag: unknown) => ({
    id,
    vector: [1, (id % 7) + 1, (id % 3) - 1],
    payload: { user, tag, n: id % 5 }
  })
  await both(
    async name =>
      await client.upsert(name, {
        wait: true,
        points: Array.from({ length: 60 }, (_, i) => point(i + 1, i % 10 === 9 ? [i % 4, 7] : i % 4, `t${i % 3}`))
      })
  )
  // created after the points exist: built from them
  await client.createPayloadIndex('indexed', { field_name: 'tag', field_schema: 'keyword', wait: true })

  const filters: unknown[] = [
    { must: [{ key: 'user', match: { value: 2 } }] },
    { must: { key: 'user', match: { value: 7 } } },
    {
      must: [
        { key: 'user', match: { any: [0, 3] } },
        { key: 'tag', match: { value: 't1' } }
      ]
    },
    { must: [{ key: 'tag', match: { value: 't2' } }], must_not: [{ key: 'user', match: { value: 1 } }] },
    { must: [{ key: 'user', match: { value: 1 } }], should: [{ key: 'tag', match: { value: 't0' } }] },
    { must: [{ must: [{ key: 'user', match: { value: 3 } }] }] },
    { must: [{ key: 'user', match: { value: '2' } }] },
    { must: [{ key: 'user', match: { value: 42 } }] }
  ]
  const answers = async (name: string, filter: unknown): Promise<unknown> => {
    const ids: unknown[] = []
    let offset: unknown = undefined
    do {
      const page = await client.scroll(name, {
        filter: filter as never,
        limit: 7,
        offset: offset as never,
        with_payload: false
      })
      ids.push(...page.points.map(p => p.id))
      offset = page.next_page_offset ?? undefined
    } while (offset !== undefined)
    const count = (await client.count(name, { filter: filter as never, exact: true })).count
    const top = (await client.query(name, { query: [1, 2, 0], filter: filter as never, limit: 5 })).points.map(p => [
      p.id,
      p.score
    ])
    const ordered = (await client.scroll(name, { filter: filter as never, order_by: 'n', limit: 100 })).points.map(
      p => p.id
    )
    return { ids, count, top, ordered }
  }
  const agree = async (step: string): Promise<void> => {
    for (const filter of filters) {
      const scan = await answers('scan', filter)
      t.same(await answers('indexed', filter), scan, `${step}: ${JSON.stringify(filter)}`)
    }
  }
  await agree('after the first upsert')

  await both(async name => await client.upsert(name, { wait: true, points: [point(3, 2, 't0'), point(61, 2, 't1')] }))
  await both(
    async name =>
      await client.setPayload(name, {
        payload: { user: 3 },
        filter: { must: [{ key: 'tag', match: { value: 't1' } }] },
        wait: true
      })
  )
  await agree('after re-upserts and set_payload moving points between users')

  await both(async name => await client.overwritePayload(name, { payload: { tag: 't2' }, points: [4, 5], wait: true }))
  await both(async name => await client.deletePayload(name, { keys: ['user'], points: [6], wait: true }))
  await both(async name => await client.clearPayload(name, { points: [7], wait: true }))
  await both(
    async name => await client.delete(name, { filter: { must: [{ key: 'user', match: { value: 0 } }] }, wait: true })
  )
  await both(async name => await client.delete(name, { points: [10, 11], wait: true }))
  await agree('after overwrite, delete_payload, clear_payload and deletes')

  await client.deletePayloadIndex('indexed', 'user', { wait: true })
  await agree('after dropping an index')
  t.equal(
    (await client.count('indexed', { filter: filters[0] as never })).count > 0,
    true,
    'the filters still match points'
  )
})

t.test('f32 prints the shortest decimal that maps back to the same float32', async t => {
  t.equal(f32(0.1), 0.1)
  t.equal(f32(1 / 3), 0.33333334)
  t.equal(f32(16777217), 16777216, 'integers above 2^24 round like float32')
  t.equal(f32(1e-45), 1e-45, 'the smallest subnormal')
  t.equal(f32(-2.5), -2.5)
  // the definition, digit count by digit count: f32 bisects it
  const shortest = (x: number): number => {
    const f = Math.fround(x)
    if (Number.isInteger(f)) return f
    for (let p = 1; ; p++) if (Math.fround(Number(f.toPrecision(p))) === f) return Number(f.toPrecision(p))
  }
  const values: number[] = []
  // every power of two and its neighbours: the one place where the values that round to a
  // float32 lie unevenly around it
  for (let e = -149; e < 128; e++) {
    const x = Math.fround(2 ** e)
    values.push(x, Math.fround(x * (1 + 2 ** -23)), Math.fround(x * (1 - 2 ** -24)))
  }
  let seed = 7
  const random = (): number => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31
    return seed / 2 ** 31
  }
  for (let i = 0; i < 20000; i++) values.push((random() * 2 - 1) * 10 ** Math.floor(random() * 60 - 40))
  t.same(
    values.filter(x => !Object.is(f32(x), shortest(x))),
    [],
    `the same as the digit-by-digit search for ${values.length} values of every magnitude`
  )
})
