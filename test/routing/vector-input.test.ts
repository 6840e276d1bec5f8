// How a vector enters the gateway (issues 9 §4, 12 §4, 13 §3): as a JSON array of
// numbers or as base64 of little-endian float32, checked in float32 (the form both
// stores keep), with a 400 VG_INVALID_VECTOR that says what to fix and nothing stored.
import t from 'tap'
import { buildTestGateway, TEST_DIMENSION, type TestGateway } from '../helpers/app.ts'
import { axisVector, chunk } from '../helpers/chunks.ts'
import { client } from '../helpers/gateway-client.ts'

const D = TEST_DIMENSION

/** Little-endian float32 bytes of `values`, as base64 (what embedding APIs send). */
function base64Of(values: number[]): string {
  const buf = Buffer.alloc(values.length * 4)
  values.forEach((v, i) => buf.writeFloatLE(v, i * 4))
  return buf.toString('base64')
}

/** `text` with its 11th character replaced by `c` */
function at10(text: string, c: string): string {
  return `${text.slice(0, 10)}${c}${text.slice(11)}`
}

function floatsOf(b64: string): number[] {
  const buf = Buffer.from(b64, 'base64')
  return Array.from({ length: buf.length / 4 }, (_, i) => buf.readFloatLE(i * 4))
}

/** Chunks and searches carry the vector in two places: one helper per route, same checks. */
function routes(gw: TestGateway) {
  const c = client(gw)
  return {
    chunks: async (vector: unknown) =>
      await gw.app.inject({
        method: 'POST',
        url: '/chunks',
        headers: gw.data,
        payload: { chunks: [{ ...chunk(1, 1, 0), vector }] }
      }),
    search: async (vector: unknown) => await c.search({ user_id: 1, vector })
  }
}

async function bragCount(gw: TestGateway): Promise<number> {
  const [{ n }] = await gw.db.pool.query('SELECT COUNT(*) AS n FROM BRAG')
  return Number(n)
}

t.test('vectors that become all zeros in float32 are refused (issue 13)', async t => {
  const gw = await buildTestGateway(t)
  const r = routes(gw)
  const underflows = [new Array(D).fill(1e-300), new Array(D).fill(-1e-46), [0, 0, 0, 1e-200, 0, 0, 0, -1e-60]]
  for (const vector of underflows) {
    for (const [name, send] of Object.entries(r)) {
      const res = await send(vector)
      t.equal(res.statusCode, 400, `${name} ${String(vector[3])}: 400`)
      t.match(
        res.json(),
        { code: 'VG_INVALID_VECTOR', message: /vector must not be all zeros in float32/ },
        `${name}: says why`
      )
    }
  }
  t.equal(await bragCount(gw), 0, 'nothing stored')

  const tiny = [...new Array(D - 1).fill(1e-300), 1e-30]
  t.equal((await r.chunks(tiny)).statusCode, 200, 'one component that survives float32 is enough')
  t.equal((await r.search(tiny)).statusCode, 200)
})

t.test('a vector of the wrong type says what the field must be (issue 12)', async t => {
  const gw = await buildTestGateway(t)
  const r = routes(gw)
  const wrong: Array<[string, unknown]> = [
    ['a string that is not base64', 'hello world'],
    ['a number', 5],
    ['an object', { values: axisVector(1) }],
    ['null', null],
    ['a boolean', true]
  ]
  for (const [what, vector] of wrong) {
    for (const [name, send] of Object.entries(r)) {
      const res = await send(vector)
      t.equal(res.statusCode, 400, `${name} with ${what}: 400`)
      const body = res.json()
      t.equal(body.code, 'VG_INVALID_VECTOR', `${name} with ${what}: VG_INVALID_VECTOR`)
      t.match(
        body.message,
        new RegExp(
          `vector must be an array of ${D} numbers \\(VECTOR_DIMENSION\\), or a base64 string of ${D} little-endian float32 values`
        ),
        `${name} with ${what}: ${body.message as string}`
      )
      t.notMatch(body.message, /all zeros/, 'no talk of zeros')
    }
  }
  t.equal(await bragCount(gw), 0, 'nothing stored')
})

t.test('base64 vectors: malformed ones are 400 VG_INVALID_VECTOR saying what to fix (issue 9)', async t => {
  const gw = await buildTestGateway(t)
  const r = routes(gw)
  const good = [0.1, -0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8]
  const nanAt = [...good]
  nanAt[2] = NaN
  const infAt = [...good]
  infAt[5] = Infinity
  const cases: Array<[string, string, RegExp]> = [
    ['bad characters', base64Of(good).slice(0, -4) + '!@#$', /got a string that is not base64/],
    ['URL-safe alphabet', '-_' + base64Of(good).slice(2), /got a string that is not base64/],
    [
      'whitespace inside',
      `${base64Of(good).slice(0, 8)} ${base64Of(good).slice(8)}`,
      /got a string that is not base64/
    ],
    [
      'missing padding',
      base64Of(good.slice(0, 7)).replace(/=+$/, ''),
      /is not base64: 38 characters, not a multiple of 4; pad it with =/
    ],
    ['padding inside', `${base64Of(good.slice(0, 7))}${base64Of(good.slice(0, 1))}`, /got a string that is not base64/],
    // one character replaced, so the length is right and only the alphabet is wrong
    ['a URL-safe character inside', at10(base64Of(good), '_'), /got a string that is not base64/],
    ['a non-ASCII character inside', at10(base64Of(good), '\u00e9'), /got a string that is not base64/],
    ['a = inside', at10(base64Of(good), '='), /got a string that is not base64/],
    ['empty string', '', /decodes to 0 bytes/],
    [
      'one value short',
      base64Of(good.slice(0, 7)),
      new RegExp(`decodes to 28 bytes = 7 float32 values; VECTOR_DIMENSION is ${D}`)
    ],
    [
      'one value too many',
      base64Of([...good, 1]),
      new RegExp(`decodes to 36 bytes = 9 float32 values; VECTOR_DIMENSION is ${D}`)
    ],
    [
      'not whole float32 values',
      Buffer.alloc(D * 4 - 2, 1).toString('base64'),
      /decodes to 30 bytes, not a whole number of float32 values/
    ],
    ['a NaN', base64Of(nanAt), /value 2 is NaN/],
    ['an Infinity', base64Of(infAt), /value 5 is Infinity/],
    ['out of bounds', base64Of([...good.slice(0, 7), 3e9]), /value 7 is 3000000000/],
    ['all zeros', base64Of(new Array(D).fill(0)), /must not be all zeros in float32/],
    ['negative zeros', base64Of(new Array(D).fill(-0)), /must not be all zeros in float32/]
  ]
  for (const [what, vector, message] of cases) {
    for (const [name, send] of Object.entries(r)) {
      const res = await send(vector)
      t.equal(res.statusCode, 400, `${name} with ${what}: 400`)
      t.match(
        res.json(),
        { code: 'VG_INVALID_VECTOR', message },
        `${name} with ${what}: ${res.json().message as string}`
      )
    }
  }
  const second = await gw.app.inject({
    method: 'POST',
    url: '/chunks',
    headers: gw.data,
    payload: { chunks: [chunk(1, 1, 0), { ...chunk(1, 1, 1), vector: base64Of(good.slice(0, 7)) }] }
  })
  t.match(
    second.json(),
    { statusCode: 400, code: 'VG_INVALID_VECTOR', message: /^body\.chunks\[1\]\.vector: / },
    'names the chunk'
  )
  t.equal(await bragCount(gw), 0, 'nothing stored, not even the good chunk of the batch')
})

t.test('base64 vectors round-trip through both providers and search like arrays (issue 9)', async t => {
  const gw = await buildTestGateway(t, { qdrant: true })
  const c = client(gw)
  // Qdrant keeps cosine vectors normalised: these are unit length exactly in float32,
  // so both stores give back the very bytes that were sent.
  const unit = (i: number): number[] => {
    const v = new Array<number>(D).fill(0)
    for (let k = 0; k < 4; k++) v[(i + k * 2) % D] = (i + k) % 3 === 0 ? -0.5 : 0.5
    return v
  }
  // MariaDB keeps any float32 as sent
  const arbitrary = [0.123456789, -7.25e-5, 3.3, -0.0001, 12345.678, 1e-30, -2, 0.5]

  for (const [userId, provider] of [
    [1, 'mariadb'],
    [2, 'qdrant']
  ] as const) {
    await t.test(provider, async t => {
      t.equal((await c.pin(userId, provider)).statusCode, 200)
      const vectors = provider === 'mariadb' ? [unit(0), unit(1), arbitrary] : [unit(0), unit(1), unit(3)]
      const encoded = vectors.map(base64Of)
      const stored = await c.store(encoded.map((vector, i) => ({ ...chunk(userId, 7, i), vector }) as never))
      t.equal(stored.statusCode, 200, stored.body)
      t.same(stored.json().providers, { [provider]: 3 })

      const listed = await gw.app.inject({
        url: `/chunks?user_id=${userId}&file_id=7&include_vectors=true&vector_encoding=base64`,
        headers: gw.data
      })
      t.equal(listed.statusCode, 200, listed.body)
      const chunks = listed.json().chunks as Array<{ vector: string; provider: string }>
      t.same(
        chunks.map(x => x.vector),
        encoded,
        'the same bytes come back'
      )
      t.ok(chunks.every(x => x.provider === provider))

      const asJson = (
        await gw.app.inject({ url: `/chunks?user_id=${userId}&file_id=7&include_vectors=true`, headers: gw.data })
      ).json().chunks
      t.same(
        asJson.map((x: { vector: number[] }) => x.vector),
        encoded.map(floatsOf),
        'default encoding stays JSON numbers, the same float32 values'
      )
      const explicit = (
        await gw.app.inject({
          url: `/chunks?user_id=${userId}&file_id=7&include_vectors=true&vector_encoding=float`,
          headers: gw.data
        })
      ).json().chunks
      t.same(explicit, asJson, 'vector_encoding=float is the default')

      for (const query of [unit(1), [0.9, 0.1, -0.3, 0.2, 0.5, -0.7, 0.05, 0.4]]) {
        const byArray = await c.search({ user_id: userId, vector: query })
        const byBase64 = await c.search({ user_id: userId, vector: base64Of(query) })
        t.equal(byBase64.statusCode, 200, byBase64.body)
        t.ok(byArray.json().results.length > 0, 'chunks found')
        t.same(byBase64.json().results, byArray.json().results, 'base64 search answers as the array search')
      }
    })
  }
  const mixed = await c.store([
    { ...chunk(3, 1, 0), vector: unit(2) },
    { ...chunk(3, 1, 1), vector: base64Of(unit(2)) as never }
  ])
  t.equal(mixed.statusCode, 200, 'a batch may mix both forms')
  const [a, b] = (
    await gw.app.inject({ url: '/chunks?user_id=3&file_id=1&include_vectors=true', headers: gw.data })
  ).json().chunks
  t.same(a.vector, b.vector, 'and stores the same vector for both')
})
