// Upsert mechanics: every write method stores the same thing, batches are all or
// nothing, insertOnly hides no error but a duplicate key, float32 and version
// precision, statement splitting by rows and bytes, big deletes in slices.
import t from 'tap'
import { createTestDatabase } from '../../helpers/mariadb.ts'
import type { WriteMethod } from '../../../src/providers/mariadb/mariadb-provider.ts'
import type { ChunkRecord } from '../../../src/providers/vector-provider.ts'
import { nextVersion } from '../../../src/routing/write-clock.ts'
import { fileChunks, makeChunk } from '../provider-contract.ts'
import { newProvider } from './setup.ts'

const D = 8

for (const method of ['execute', 'batch', 'query'] as WriteMethod[]) {
  t.test(`write method ${method}: upsert, replace, insertOnly`, async t => {
    const db = await createTestDatabase(t)
    const provider = newProvider(db.pool, { writeMethod: method, batchRows: 7 })
    await provider.init()
    const chunks = fileChunks(D, 1, 1, 45)
    t.equal(await provider.upsert(chunks), 45)
    t.same(
      (await provider.list(1, 1, false)).map(c => c.text),
      chunks.map(c => c.text)
    )
    const replaced = chunks.map(c => ({ ...c, text: c.text + '!', version: nextVersion() }))
    await provider.upsert(replaced)
    t.same(
      (await provider.list(1, 1, false)).map(c => c.text),
      replaced.map(c => c.text),
      'second write wins'
    )
    await provider.upsert([...chunks, ...fileChunks(D, 1, 2, 3)], { insertOnly: true })
    t.same(
      (await provider.list(1, 1, false)).map(c => c.text),
      replaced.map(c => c.text),
      'insertOnly kept them'
    )
    t.equal(await provider.count({ user_id: 1 }), 48)
  })
}

t.test('a failing row rolls back the whole batch, across statements', async t => {
  const db = await createTestDatabase(t)
  const provider = newProvider(db.pool, { batchRows: 10 })
  await provider.init()
  await provider.upsert(fileChunks(D, 1, 9, 2, { text: 'before' }))
  const chunks = [...fileChunks(D, 1, 9, 2, { text: 'after' }), ...fileChunks(D, 1, 1, 30)]
  chunks[27].group_key = 'x'.repeat(65) // longer than VARCHAR(64): strict mode refuses it
  await t.rejects(provider.upsert(chunks), { message: /Data too long for column 'BGROUPKEY'/ })
  t.equal(await provider.count({ user_id: 1 }), 2, 'none of the batch was written')
  t.same(
    (await provider.list(1, 9, false)).map(c => c.text),
    ['before', 'before'],
    'nothing was replaced'
  )

  await t.rejects(
    provider.upsert(chunks, { insertOnly: true }),
    { message: /Data too long for column 'BGROUPKEY'/ },
    'insertOnly refuses bad rows too (INSERT IGNORE would have truncated them)'
  )
  t.equal(await provider.count({ user_id: 1 }), 2)

  await t.rejects(
    provider.upsert([makeChunk(4, { user_id: 1, file_id: 1, chunk_index: 0 })]),
    { code: 'VG_INVALID_VECTOR' },
    'a vector of the wrong dimension is refused before any SQL'
  )
})

t.test('vectors keep float32 precision, versions and ids are exact', async t => {
  const db = await createTestDatabase(t)
  const provider = newProvider(db.pool)
  await provider.init()
  const vector = [1e-30, -1.8e19, 0.1, -0.3333333333, 123456.789, 1, -1, 2 ** -20]
  const version = 1_770_000_000_123_456
  await provider.upsert([
    makeChunk(D, { user_id: 2 ** 53 - 1, file_id: 2 ** 53 - 2, chunk_index: 0 }, { vector, version })
  ])
  const [c] = await provider.list(2 ** 53 - 1, 2 ** 53 - 2, true)
  t.same(c.vector, vector.map(Math.fround), 'exactly the float32 of each number')
  t.equal(c.version, version)
  const [k] = await provider.scan(2 ** 53 - 1, null, 1)
  t.same(k.vector, vector.map(Math.fround), 'scan too')
})

t.test('large texts split statements by bytes', async t => {
  const db = await createTestDatabase(t)
  const provider = newProvider(db.pool, { maxStatementBytes: 3 * 1024 * 1024 })
  await provider.init()
  const mib = 'é'.repeat(512 * 1024) // 1 MiB of UTF-8
  const chunks = fileChunks(D, 3, 1, 24, { text: mib })
  chunks[5].text = mib.slice(1) + '🙂'
  t.equal(await provider.upsert(chunks), 24)
  const listed = await provider.list(3, 1, false)
  t.equal(listed.length, 24)
  t.ok(
    listed.every((c, i) => c.text === chunks[i].text),
    '24 MiB of text round-trips'
  )
})

t.test('deleting a big user works in slices and counts every row', async t => {
  const db = await createTestDatabase(t)
  const provider = newProvider(db.pool)
  await provider.init()
  const chunks: ChunkRecord[] = []
  for (let f = 0; f < 11; f++) chunks.push(...fileChunks(D, 5, f + 1, 1000))
  await provider.upsert(chunks)
  await provider.upsert(fileChunks(D, 6, 1, 3))
  t.equal(await provider.count({ user_id: 5 }), 11_000)
  t.equal(await provider.delete({ user_id: 5 }), 11_000)
  t.equal(await provider.count(), 3)
})

t.test('vectors MariaDB cannot store are refused as invalid input, not as a SQL error', async t => {
  const db = await createTestDatabase(t)
  const provider = newProvider(db.pool)
  await provider.init()
  const huge = [1.5e19, 1.5e19, 0, 0, 0, 0, 0, 0] // each number fits float32, the squared length does not
  await t.rejects(provider.upsert([makeChunk(D, { user_id: 1, file_id: 1, chunk_index: 0 }, { vector: huge })]), {
    code: 'VG_INVALID_VECTOR'
  })
  await t.rejects(
    provider.upsert([makeChunk(D, { user_id: 1, file_id: 1, chunk_index: 0 }, { vector: Float32Array.from(huge) })]),
    { code: 'VG_INVALID_VECTOR' },
    'as float32 values decoded from base64 too'
  )
  await t.rejects(provider.search({ user_id: 1, vector: huge, limit: 1, min_score: 0 }), { code: 'VG_INVALID_VECTOR' })
  await t.rejects(
    provider.upsert([makeChunk(D, { user_id: 1, file_id: 1, chunk_index: 0 }, { vector: [NaN, 1, 1, 1, 1, 1, 1, 1] })]),
    { code: 'VG_INVALID_VECTOR' }
  )
  t.equal(
    await provider.upsert([
      makeChunk(D, { user_id: 1, file_id: 1, chunk_index: 0 }, { vector: [1.3e19, 1.3e19, 0, 0, 0, 0, 0, 1] })
    ]),
    1,
    'large numbers are fine while the squared length fits'
  )
})
