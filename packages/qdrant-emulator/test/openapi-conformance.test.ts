/**
 * Every answer of the Qdrant emulator, over a scripted session touching every endpoint it
 * serves, is validated against the response schema of Qdrant's own OpenAPI document (v1.19)
 * for that path / method / status. The document and its validators come from
 * src/openapi-schemas.ts (read from shared/reference beside the repository, never copied into
 * it); the test is skipped when it is not there.
 */
import t from 'tap'
import type { ValidateFunction } from 'ajv'
import { QdrantClient } from '@qdrant/js-client-rest'
import { startQdrantEmulator, type Exchange } from '../src/index.ts'
import { loadQdrantOpenApi, QDRANT_OPENAPI_PATH } from '../src/openapi-schemas.ts'

type Json = any

interface Operation {
  template: string
  regex: RegExp
  literals: number
  methods: Record<string, Json>
}

function buildOperations(spec: Json): Operation[] {
  return Object.entries(spec.paths as Record<string, Json>).map(([template, item]) => {
    const parts = template.split('/').filter(Boolean)
    const regex = new RegExp(
      '^/' + parts.map(p => (p.startsWith('{') ? '[^/]+' : p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))).join('/') + '$'
    )
    return {
      template,
      regex: template === '/' ? /^\/$/ : regex,
      literals: parts.filter(p => !p.startsWith('{')).length,
      methods: item
    }
  })
}

function findOperation(ops: Operation[], method: string, p: string): { template: string; op: Json } | null {
  let best: { template: string; op: Json; literals: number } | null = null
  for (const o of ops) {
    const op = o.methods[method.toLowerCase()]
    if (!op || !o.regex.test(p)) continue
    if (!best || o.literals > best.literals) best = { template: o.template, op, literals: o.literals }
  }
  return best
}

function pickResponse(op: Json, status: number): { key: string; response: Json } | null {
  const responses = op.responses ?? {}
  for (const key of [String(status), `${String(status)[0]}XX`, 'default']) {
    if (responses[key]) return { key, response: responses[key] }
  }
  return null
}

const openapi = loadQdrantOpenApi()
if (openapi === null) {
  t.test(
    'Qdrant OpenAPI validation of emulator answers',
    { skip: `Qdrant OpenAPI document not found at ${QDRANT_OPENAPI_PATH}` },
    () => {}
  )
} else {
  t.test('Qdrant OpenAPI validation of emulator answers', async t => {
    const { spec } = openapi
    t.match(spec.info?.version, /^v1\.19/, 'document is for Qdrant 1.19')

    const validators = new Map<string, ValidateFunction>()
    const validatorFor = (key: string, schema: Json): ValidateFunction => {
      let v = validators.get(key)
      if (!v) {
        v = openapi.compile(schema)
        validators.set(key, v)
      }
      return v
    }
    const ops = buildOperations(spec)

    /* ---------------- scripted session, every exchange recorded ---------------- */
    const exchanges: Exchange[] = []
    const record = (ex: Exchange) => exchanges.push(ex)
    const emu = await startQdrantEmulator({ onExchange: record })
    const secured = await startQdrantEmulator({ apiKey: 'k', onExchange: record })
    t.teardown(async () => {
      await emu.close()
      await secured.close()
    })
    const client = new QdrantClient({ url: emu.url, timeout: 5000, checkCompatibility: true })
    const raw = (method: string, p: string, body?: string) =>
      fetch(emu.url + p, { method, headers: body ? { 'content-type': 'application/json' } : {}, body }).then(r =>
        r.text()
      )
    const swallow = (p: Promise<unknown>) =>
      p.then(
        () => undefined,
        () => undefined
      )
    const UUID = '550e8400-e29b-41d4-a716-446655440000'

    await raw('GET', '/')
    await raw('GET', '/healthz')
    await raw('GET', '/livez')
    await raw('GET', '/readyz')
    await client.getCollections()
    await client.createCollection('docs', { vectors: { size: 4, distance: 'Cosine' } })
    await client.createCollection('dot', {
      vectors: { size: 2, distance: 'Dot' },
      hnsw_config: { m: 0, payload_m: 16 }
    })
    await swallow(client.createCollection('docs', { vectors: { size: 4, distance: 'Cosine' } })) // 409
    await client.createPayloadIndex('docs', {
      field_name: 'tenant',
      field_schema: { type: 'keyword', is_tenant: true },
      wait: true
    })
    await client.createPayloadIndex('docs', { field_name: 'year', field_schema: 'integer', wait: true })
    await client.createPayloadIndex('docs', { field_name: 'tmp', field_schema: 'keyword' })
    await client.deletePayloadIndex('docs', 'tmp', { wait: true })
    await client.upsert('docs', {
      wait: true,
      points: [
        { id: 1, vector: [1, 0, 0, 0], payload: { tenant: 'a', year: 2020, tags: ['x'] } },
        { id: 2, vector: [0, 1, 0, 0], payload: { tenant: 'a', year: 2021 } },
        { id: UUID, vector: [0, 0, 1, 1], payload: { tenant: 'b', year: 2022 } }
      ]
    })
    await client.upsert('docs', {
      wait: false,
      batch: {
        ids: [3, 4],
        vectors: [
          [1, 1, 0, 0],
          [0, 1, 1, 0]
        ],
        payloads: [{ tenant: 'b' }, null]
      }
    })
    await client.upsert('docs', {
      wait: true,
      update_mode: 'insert_only',
      points: [
        { id: 1, vector: [0, 0, 0, 1] },
        { id: 5, vector: [1, 2, 3, 4] }
      ]
    })
    await swallow(client.upsert('docs', { wait: true, points: [{ id: 9, vector: [1, 2] }] })) // 400 dimension
    await swallow(client.upsert('docs', { wait: true, points: [{ id: 'nope', vector: [1, 2, 3, 4] }] })) // 400 id
    await swallow(client.upsert('missing', { wait: true, points: [{ id: 1, vector: [1, 2, 3, 4] }] })) // 404
    await client.getCollection('docs')
    await client.getCollection('dot')
    // the gateway's cluster / large-data collection settings, read back in the collection info
    await client.createCollection('big', {
      vectors: { size: 4, distance: 'Cosine', on_disk: true },
      shard_number: 3,
      replication_factor: 2,
      write_consistency_factor: 1,
      hnsw_config: { m: 32, ef_construct: 200, on_disk: true },
      quantization_config: { scalar: { type: 'int8', quantile: 0.99, always_ram: true } }
    })
    await client.getCollection('big')
    await client.query('big', { query: [1, 0, 0, 0], params: { hnsw_ef: 64 }, consistency: 'majority' })
    await swallow(client.getCollection('missing'))
    await client.collectionExists('docs')
    await client.collectionExists('missing')
    await client.retrieve('docs', { ids: [1, UUID, 77], with_payload: true, with_vector: true })
    await client.retrieve('docs', { ids: [2], with_payload: false })
    await raw('GET', '/collections/docs/points/1')
    await raw('GET', '/collections/docs/points/999')
    await client.scroll('docs', { limit: 2 })
    await client.scroll('docs', {
      limit: 2,
      offset: 3,
      with_vector: true,
      filter: { must: [{ key: 'tenant', match: { any: ['a', 'b'] } }] }
    })
    await client.scroll('docs', { limit: 2, order_by: { key: 'year', direction: 'desc' } })
    await swallow(client.scroll('docs', { limit: 0 })) // 422
    await client.count('docs', { filter: { must_not: [{ key: 'tenant', match: { value: 'a' } }] }, exact: true })
    await client.query('docs', { query: [1, 0.5, 0, 0], limit: 3 })
    await client.query('docs', {
      query: { nearest: [1, 0.5, 0, 0] },
      filter: { should: [{ key: 'year', range: { gte: 2021 } }, { has_id: [1] }] },
      limit: 2,
      offset: 1,
      score_threshold: -1,
      with_payload: ['tenant'],
      with_vector: true
    })
    await client.query('docs', { query: [0, 0, 1, 0], with_payload: { exclude: ['year'] } })
    await client.query('docs', { limit: 2 }) // no query: id order
    await client.queryBatch('docs', {
      searches: [
        { query: [1, 0, 0, 0], limit: 1 },
        { query: [0, 1, 0, 0], limit: 1, with_payload: true }
      ]
    })
    await swallow(client.query('docs', { query: [1, 2] })) // 400 dimension
    await swallow(client.query('missing', { query: [1, 2, 3, 4] }))
    await raw(
      'POST',
      '/collections/docs/points/search',
      JSON.stringify({ vector: [1, 0, 0, 0], limit: 2, with_payload: true })
    )
    await raw('POST', '/collections/docs/points/query', '{"query": [1,')
    await client.setPayload('docs', {
      payload: { flag: true },
      filter: { must: [{ key: 'tenant', match: { value: 'a' } }] },
      wait: true
    })
    await client.setPayload('docs', { payload: { flag: false }, points: [3], wait: true })
    await swallow(client.setPayload('docs', { payload: { flag: false }, points: [12345], wait: true })) // 404 point
    await client.overwritePayload('docs', { payload: { tenant: 'c' }, points: [4], wait: true })
    await client.deletePayload('docs', {
      keys: ['flag'],
      filter: { must: [{ key: 'tenant', match: { value: 'a' } }] },
      wait: true
    })
    await client.clearPayload('docs', { points: [5], wait: true })
    await client.delete('docs', { points: [4], wait: true })
    await client.delete('docs', { filter: { must: [{ key: 'tenant', match: { value: 'b' } }] }, wait: true })
    await client.updateCollection('docs', { optimizers_config: { indexing_threshold: 20000 } })
    emu.faults.fail(500, { times: 1 })
    await swallow(client.count('docs'))
    emu.faults.fail(503, { times: 1 })
    await swallow(client.getCollection('docs'))
    emu.faults.fail(429, { times: 1 })
    await swallow(client.query('docs', { query: [1, 0, 0, 0] }))
    await client.deleteCollection('dot')
    await client.deleteCollection('dot')
    await fetch(`${secured.url}/collections`)
    await fetch(`${secured.url}/collections/docs/points/query`, { method: 'POST', headers: { 'api-key': 'wrong' } })
    await fetch(`${secured.url}/collections`, { headers: { 'api-key': 'k' } })
    await fetch(`${secured.url}/healthz`)

    /* ---------------- validation ---------------- */
    const undocumented: string[] = []
    const textAnswers: string[] = []
    const statuses = new Set<number>()
    const covered = new Set<string>()
    for (const ex of exchanges) {
      const label = `${ex.method} ${ex.path}${ex.query ? '?' + ex.query : ''} -> ${ex.status}`
      statuses.add(ex.status)
      const found = findOperation(ops, ex.method, ex.path)
      if (!found) {
        undocumented.push(`${ex.method} ${ex.path}`)
        continue
      }
      covered.add(`${ex.method} ${found.template}`)
      const picked = pickResponse(found.op, ex.status)
      if (!picked) {
        t.fail(`${label}: status not documented for ${found.template}`)
        continue
      }
      const contentType = (ex.responseHeaders['content-type'] ?? '').split(';')[0].trim()
      const content = picked.response.content ?? {}
      const media = content[contentType]
      if (!media) {
        if (contentType === 'text/plain' && ex.status === 401) {
          // The api-key middleware answers in plain text before any handler runs (as real Qdrant does).
          textAnswers.push(label)
          continue
        }
        if (Object.keys(content).length === 0) {
          t.pass(`${label}: no body schema documented (${picked.key})`)
          continue
        }
        t.fail(`${label}: content-type ${contentType || '(none)'} not documented (${Object.keys(content).join(', ')})`)
        continue
      }
      const value = contentType === 'application/json' ? JSON.parse(ex.responseBody) : ex.responseBody
      const validate = validatorFor(`${found.template} ${ex.method} ${picked.key} ${contentType}`, media.schema)
      const ok = validate(value)
      t.ok(
        ok,
        `${label} matches ${found.template} ${picked.key}`,
        ok ? {} : { errors: validate.errors, body: ex.responseBody.slice(0, 2000) }
      )
      if (contentType === 'application/json' && ex.path !== '/') {
        if (ex.status === 200) {
          t.ok(value.status === 'ok' && typeof value.time === 'number' && 'result' in value, `${label}: ok envelope`)
        } else {
          t.match(value, { status: { error: String }, time: Number }, `${label}: error envelope`)
          t.notOk('result' in value, `${label}: no result on errors`)
        }
      }
    }

    t.same(
      undocumented,
      ['POST /collections/docs/points/search'],
      'only the legacy search endpoint is absent from the 1.19 document'
    )
    t.same(textAnswers.length, 2, 'two plain-text 401 answers from the api-key check')
    for (const s of [200, 400, 401, 404, 409, 422, 429, 500, 503]) t.ok(statuses.has(s), `status ${s} exercised`)
    for (const op of [
      'GET /',
      'GET /healthz',
      'GET /livez',
      'GET /readyz',
      'GET /collections',
      'GET /collections/{collection_name}',
      'PUT /collections/{collection_name}',
      'PATCH /collections/{collection_name}',
      'DELETE /collections/{collection_name}',
      'GET /collections/{collection_name}/exists',
      'PUT /collections/{collection_name}/index',
      'DELETE /collections/{collection_name}/index/{field_name}',
      'PUT /collections/{collection_name}/points',
      'POST /collections/{collection_name}/points',
      'GET /collections/{collection_name}/points/{id}',
      'POST /collections/{collection_name}/points/delete',
      'POST /collections/{collection_name}/points/payload',
      'PUT /collections/{collection_name}/points/payload',
      'POST /collections/{collection_name}/points/payload/delete',
      'POST /collections/{collection_name}/points/payload/clear',
      'POST /collections/{collection_name}/points/scroll',
      'POST /collections/{collection_name}/points/count',
      'POST /collections/{collection_name}/points/query',
      'POST /collections/{collection_name}/points/query/batch'
    ]) {
      t.ok(covered.has(op), `exercised ${op}`)
    }
  })
}
