// Every endpoint rejects malformed input with a 4xx and a VG_ code, and changes
// nothing. The cases are derived from the route schemas (see schema-mutations.ts)
// plus hand-written ones the schemas cannot express.
import t from 'tap'
import { buildTestGateway, TEST_DIMENSION } from '../helpers/app.ts'
import { chunk } from '../helpers/chunks.ts'
import { mutations } from '../helpers/schema-mutations.ts'
import { storeChunksBody, PatchChunksBody, ListChunksQuery, DeleteChunksQuery } from '../../src/schemas/chunk.ts'
import { searchBody, StatsQuery } from '../../src/schemas/search.ts'
import { SetProviderBody, SetReadModeBody, ChangesQuery } from '../../src/schemas/admin.ts'

t.test('malformed requests are 4xx with a VG_ code and change nothing', async t => {
  const gw = await buildTestGateway(t)
  const { app, data, admin, db } = gw
  await app.inject({
    method: 'POST',
    url: '/chunks',
    headers: data,
    payload: { chunks: [chunk(1, 1, 0), chunk(1, 1, 1)] }
  })

  const fingerprint = async (): Promise<string> => {
    const [brag] = await db.pool.query(
      "SELECT COUNT(*) AS n, COALESCE(SUM(CRC32(CONCAT_WS('|', BUID, BMID, BCHUNK, BGROUPKEY, BTEXT, HEX(BEMBED)))), 0) AS h FROM BRAG"
    )
    const settings = await db.pool.query('SELECT provider, read_mode FROM vg_settings')
    const [overrides] = await db.pool.query('SELECT COUNT(*) AS n FROM vg_user_providers')
    const [changes] = await db.pool.query('SELECT COUNT(*) AS n FROM vg_provider_changes')
    return JSON.stringify({ brag, settings, overrides, changes })
  }
  const before = await fingerprint()

  const validChunk = chunk(1, 1, 5)
  const validSearch = {
    user_id: 1,
    vector: validChunk.vector,
    limit: 5,
    min_score: 0.1,
    group_key: 'DEFAULT',
    file_ids: [1]
  }
  const qs = (o: Record<string, unknown>): string =>
    new URLSearchParams(
      Object.fromEntries(Object.entries(o).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)]))
    ).toString()

  type Case = {
    name: string
    method: 'POST' | 'GET' | 'PATCH' | 'DELETE' | 'PUT'
    url: string
    payload?: unknown
    headers?: Record<string, string>
  }
  const cases: Case[] = []
  /** the schema's mutations of `valid`, sent as the body or (where they stay invalid as text) the query string */
  const schemaCases = (
    via: 'body' | 'query',
    method: Case['method'],
    url: string,
    schema: object,
    valid: Record<string, unknown>,
    headers = data
  ): void => {
    for (const m of mutations(schema as never, valid)) {
      const name = `${method} ${url}: ${m.name}`
      if (via === 'body') cases.push({ name, method, url, payload: m.body, headers })
      // query strings are text: only values that stay invalid as text are meaningful
      else if (
        !Object.values(m.body).some(
          v => v === null || typeof v === 'boolean' || Array.isArray(v) || typeof v === 'object'
        )
      )
        cases.push({ name, method, url: `${url}?${qs(m.body)}`, headers })
    }
  }

  schemaCases('body', 'POST', '/chunks', storeChunksBody(TEST_DIMENSION), { chunks: [validChunk], replace: false })
  schemaCases('body', 'POST', '/search', searchBody(TEST_DIMENSION), validSearch)
  schemaCases('body', 'PATCH', '/chunks', PatchChunksBody, { user_id: 1, file_id: 1, group_key: 'moved' })
  schemaCases('query', 'GET', '/chunks', ListChunksQuery, { user_id: 1, file_id: 1 })
  schemaCases('query', 'DELETE', '/chunks', DeleteChunksQuery, { user_id: 1, file_id: 1 })
  schemaCases('query', 'GET', '/stats', StatsQuery, { user_id: 1 })
  schemaCases('body', 'PUT', '/admin/vector-storage/provider', SetProviderBody, { provider: 'mariadb' }, admin)
  schemaCases('body', 'PUT', '/admin/vector-storage/read-mode', SetReadModeBody, { read_mode: 'merged' }, admin)
  schemaCases('body', 'PUT', '/admin/vector-storage/users/5/provider', SetProviderBody, { provider: 'mariadb' }, admin)
  schemaCases('query', 'GET', '/admin/vector-storage/changes', ChangesQuery, { limit: 5 }, admin)

  const big = 'x'.repeat(1024 * 1024 + 1)
  const tooMany = Array.from({ length: 1001 }, (_, i) => chunk(1, 2, i))
  const asJson = { ...data, 'content-type': 'application/json' }
  /** a hand-written case; the data key unless `headers` says otherwise */
  const handCase = (name: string, method: Case['method'], url: string, payload?: unknown, headers = data): Case => {
    return { name, method, url, payload, headers }
  }
  cases.push(
    handCase('bad JSON', 'POST', '/chunks', '{"chunks": [', asJson),
    handCase('empty JSON body', 'POST', '/search', '', asJson),
    handCase('text/plain body', 'POST', '/chunks', 'hello', { ...data, 'content-type': 'text/plain' }),
    handCase('JSON array body', 'POST', '/chunks', []),
    handCase(
      'huge number parses to Infinity',
      'POST',
      '/search',
      `{"user_id":1,"vector":[1e400${',0.5'.repeat(TEST_DIMENSION - 1)}]}`,
      asJson
    ),
    handCase('vector component too large for float32 norms', 'POST', '/chunks', {
      chunks: [{ ...chunk(1, 1, 9), vector: [1e20, ...new Array(TEST_DIMENSION - 1).fill(0.5)] }]
    }),
    handCase(
      '__proto__ key (prototype poisoning)',
      'POST',
      '/search',
      `{"user_id":1,"vector":[${new Array(TEST_DIMENSION).fill(0.5).join(',')}],"__proto__":{"admin":true}}`,
      asJson
    ),
    handCase(
      'constructor.prototype key',
      'POST',
      '/chunks',
      `{"chunks":[${JSON.stringify(chunk(1, 1, 9)).slice(0, -1)},"constructor":{"prototype":{"x":1}}}]}`,
      asJson
    ),
    handCase('text over 1 MiB', 'POST', '/chunks', { chunks: [chunk(1, 1, 9, { text: big })] }),
    handCase('multi-byte text over 1 MiB', 'POST', '/chunks', {
      chunks: [chunk(1, 1, 9, { text: 'é'.repeat(600 * 1024) })]
    }),
    handCase('start_line after end_line', 'POST', '/chunks', {
      chunks: [chunk(1, 1, 9, { start_line: 5, end_line: 4 })]
    }),
    handCase('second chunk bad in a batch', 'POST', '/chunks', {
      chunks: [chunk(1, 1, 7), { ...chunk(1, 1, 8), vector: [1] }]
    }),
    handCase('more than 1000 chunks', 'POST', '/chunks', { chunks: tooMany }),
    handCase('oversize body', 'POST', '/chunks', `{"chunks":[{"text":"${'y'.repeat(65 * 1024 * 1024)}"}]}`, asJson),
    handCase('delete with file_id and group_key', 'DELETE', '/chunks?user_id=1&file_id=1&group_key=DEFAULT'),
    handCase('delete without user_id', 'DELETE', '/chunks?file_id=1'),
    handCase(
      'unknown user path param',
      'PUT',
      '/admin/vector-storage/users/abc/provider',
      { provider: 'mariadb' },
      admin
    ),
    handCase('user id zero in path', 'DELETE', '/admin/vector-storage/users/0/provider', undefined, admin),
    handCase('switch to unconfigured qdrant', 'PUT', '/admin/vector-storage/provider', { provider: 'qdrant' }, admin),
    handCase(
      'pin user to unconfigured qdrant',
      'PUT',
      '/admin/vector-storage/users/5/provider',
      { provider: 'qdrant' },
      admin
    ),
    handCase('unknown route', 'GET', '/nope')
  )
  t.ok(cases.length > 150, `${cases.length} malformed requests`)

  for (const c of cases) {
    const res = await app.inject({ method: c.method, url: c.url, payload: c.payload as string, headers: c.headers })
    const body = res.json()
    if (
      res.statusCode < 400 ||
      res.statusCode >= 500 ||
      !String(body.code).startsWith('VG_') ||
      typeof body.message !== 'string'
    ) {
      t.fail(`${c.name}: answered ${res.statusCode} ${res.body.slice(0, 200)}`)
    } else {
      t.pass(`${c.name}: ${res.statusCode} ${body.code}`)
    }
  }
  t.equal(await fingerprint(), before, 'nothing changed')

  await t.test('messages say what to fix', async t => {
    const wrongLength = await app.inject({
      method: 'POST',
      url: '/chunks',
      headers: data,
      payload: { chunks: [{ ...chunk(1, 1, 0), vector: [1, 2] }] }
    })
    t.match(wrongLength.json(), {
      statusCode: 400,
      code: 'VG_INVALID_VECTOR',
      error: 'Bad Request',
      message: /exactly 8 numbers/
    })
    const zero = await app.inject({
      method: 'POST',
      url: '/search',
      headers: data,
      payload: { user_id: 1, vector: new Array(TEST_DIMENSION).fill(0) }
    })
    t.match(zero.json(), { code: 'VG_INVALID_VECTOR', message: /all zeros/ })
    const unknown = await app.inject({
      method: 'POST',
      url: '/search',
      headers: data,
      payload: { ...validSearch, userid: 3 }
    })
    t.match(unknown.json(), { code: 'VG_BAD_REQUEST', message: /unknown field 'userid'/ })
    const group = await app.inject({
      method: 'PATCH',
      url: '/chunks',
      headers: data,
      payload: { user_id: 1, file_id: 1, group_key: 'has space' }
    })
    t.match(group.json(), { code: 'VG_BAD_REQUEST', message: /group_key must match/ })
    const json = await app.inject({
      method: 'POST',
      url: '/chunks',
      headers: { ...data, 'content-type': 'application/json' },
      payload: '{'
    })
    t.match(json.json(), { statusCode: 400, code: 'VG_INVALID_JSON' })
    const text = await app.inject({
      method: 'POST',
      url: '/chunks',
      headers: data,
      payload: { chunks: [chunk(1, 1, 9, { text: big })] }
    })
    t.match(text.json(), { code: 'VG_BAD_REQUEST', message: /at most 1048576/ })
    const qdrant = await app.inject({
      method: 'PUT',
      url: '/admin/vector-storage/provider',
      headers: admin,
      payload: { provider: 'qdrant' }
    })
    t.match(qdrant.json(), { statusCode: 409, code: 'VG_PROVIDER_UNAVAILABLE', message: /not configured/ })
  })
})
