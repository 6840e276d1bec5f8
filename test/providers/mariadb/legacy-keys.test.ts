// Rows the application wrote itself (no BCHUNK, no BVERSION, inserted with
// VEC_FromText) stay searchable, listable, countable, scannable and deletable,
// with chunk indexes derived from (BSTART, BID) and version BCREATED * 1e6.
import t from 'tap'
import { createTestDatabase } from '../../helpers/mariadb.ts'
import type { ChunkKey, ChunkRecord } from '../../../src/providers/vector-provider.ts'
import { legacyVersion, nextVersion } from '../../../src/routing/write-clock.ts'
import { makeChunk, unitVector, type TapTest } from '../provider-contract.ts'
import { appInsert, appSearch, createAppTable, newProvider, type AppRow } from './setup.ts'

const D = 16

function appRow(user: number, file: number, start: number, text: string, seed: number, group = 'DEFAULT'): AppRow {
  return {
    user,
    file,
    group,
    type: 2,
    start,
    end: start + 5,
    text,
    vector: unitVector(D, seed),
    created: 1_700_000_000 + seed
  }
}

/** `index:text` of each listed chunk, in list order: the derived index and the row it belongs to */
function indexedTexts(chunks: Array<{ chunk_index: number; text: string }>): string[] {
  return chunks.map(c => `${c.chunk_index}:${c.text}`)
}

/** `index:group_key` of each listed chunk, in list order */
function indexedGroups(chunks: Array<{ chunk_index: number; group_key: string }>): string[] {
  return chunks.map(c => `${c.chunk_index}:${c.group_key}`)
}

async function setup(t: TapTest) {
  const db = await createTestDatabase(t)
  await createAppTable(db.pool, D)
  // file 100 of user 1: BSTART out of insertion order, with a tie (10) broken by BID
  const f100 = [
    appRow(1, 100, 30, 'a30', 1),
    appRow(1, 100, 10, 'b10', 2),
    appRow(1, 100, 20, 'c20', 3),
    appRow(1, 100, 10, 'd10', 4, 'other'),
    appRow(1, 100, 0, 'e0', 5)
  ]
  const f101 = [appRow(1, 101, 7, 'x7', 6), appRow(1, 101, 3, 'y3', 7), appRow(1, 101, 9, 'z9', 8)]
  const other = [appRow(2, 100, 1, 'u2-1', 9), appRow(2, 100, 0, 'u2-0', 10)]
  await appInsert(db.pool, [...f100, ...f101, ...other])
  const provider = newProvider(db.pool, { dimension: D })
  await provider.init()
  return { db, provider, f100, f101, other }
}

const keyOf = (k: ChunkKey): string => `${k.file_id}:${k.chunk_index}`

t.test("search returns the rows and scores of the application's own SQL", async t => {
  const { db, provider } = await setup(t)
  // keyed rows written by the gateway live beside them
  await provider.upsert(
    Array.from({ length: 6 }, (_, i) =>
      makeChunk(
        D,
        { user_id: 1, file_id: 200, chunk_index: i },
        { start_line: i, end_line: i, text: `k${i}`, vector: unitVector(D, 100 + i), created: 1_760_000_000 }
      )
    )
  )
  for (let q = 0; q < 6; q++) {
    const vector = unitVector(D, 500 + q).map(x => x * (q + 1))
    const expected = await appSearch(db.pool, 1, vector, 10)
    const hits = await provider.search({ user_id: 1, vector, limit: 10, min_score: -1 })
    t.same(
      hits.map(h => [h.chunk.file_id, h.chunk.text]),
      expected.map(r => [r.BMID, r.BTEXT]),
      `query ${q}: same rows, same order`
    )
    const worst = Math.max(...hits.map((h, i) => Math.abs(h.score - expected[i].score)))
    t.ok(worst <= 1e-6, `query ${q}: scores within 1e-6 (max difference ${worst})`)
  }
})

t.test('derived chunk indexes follow (BSTART, BID) within (user, file)', async t => {
  const { provider, f100 } = await setup(t)
  const listed = await provider.list(1, 100, true)
  t.same(indexedTexts(listed), ['0:e0', '1:b10', '2:d10', '3:c20', '4:a30'])
  t.same(
    listed.map(c => c.version),
    ['e0', 'b10', 'd10', 'c20', 'a30'].map(x => legacyVersion(f100.find(r => r.text === x)!.created)),
    'version = BCREATED * 1e6'
  )
  t.ok(
    listed.every(
      c =>
        c.vector !== undefined &&
        c.vector.every((x, i) => Math.abs(x - f100.find(r => r.text === c.text)!.vector[i]) < 1e-6)
    ),
    'vectors inserted with VEC_FromText come back'
  )
  t.same(indexedTexts(await provider.list(2, 100, false)), ['0:u2-0', '1:u2-1'], 'per user')

  const hits = await provider.search({ user_id: 1, vector: unitVector(D, 4), limit: 3, min_score: -1 })
  t.same(
    [hits[0].chunk.text, hits[0].chunk.chunk_index, hits[0].chunk.group_key],
    ['d10', 2, 'other'],
    'search hits carry the derived index'
  )
  const byGroup = await provider.search({
    user_id: 1,
    vector: unitVector(D, 1),
    limit: 10,
    min_score: -1,
    group_key: 'other'
  })
  t.same(
    byGroup.map(h => keyOf(h.chunk)),
    ['100:2'],
    'group filter'
  )
  const byFile = await provider.search({
    user_id: 1,
    vector: unitVector(D, 1),
    limit: 10,
    min_score: -1,
    file_ids: [101]
  })
  t.same(byFile.map(h => keyOf(h.chunk)).sort(), ['101:0', '101:1', '101:2'], 'file filter')

  const keys = (await provider.keys({ user_id: 1 })).map(k => `${keyOf(k)} ${k.group_key}`).sort()
  t.same(keys, [
    '100:0 DEFAULT',
    '100:1 DEFAULT',
    '100:2 other',
    '100:3 DEFAULT',
    '100:4 DEFAULT',
    '101:0 DEFAULT',
    '101:1 DEFAULT',
    '101:2 DEFAULT'
  ])
  t.equal(await provider.count({ user_id: 1 }), 8)
  t.equal(await provider.count({ user_id: 1, group_key: 'other' }), 1)
  t.same(await provider.users(), [1, 2])
})

t.test('scan walks legacy and keyed files in key order', async t => {
  const { provider } = await setup(t)
  const keyed = (file: number, n: number): ChunkRecord[] =>
    Array.from({ length: n }, (_, i) =>
      makeChunk(
        D,
        { user_id: 1, file_id: file, chunk_index: i * 2 },
        { start_line: 0, end_line: 0, text: `k${file}-${i}`, vector: unitVector(D, file * 10 + i), created: 1 }
      )
    )
  await provider.upsert([...keyed(50, 3), ...keyed(150, 4), ...keyed(100_000, 1)])
  const expected = [
    '50:0',
    '50:2',
    '50:4',
    '100:0',
    '100:1',
    '100:2',
    '100:3',
    '100:4',
    '101:0',
    '101:1',
    '101:2',
    '150:0',
    '150:2',
    '150:4',
    '150:6',
    '100000:0'
  ]
  for (const size of [1, 2, 3, 5, 7, 100]) {
    const seen: string[] = []
    let after: ChunkKey | null = null
    for (let guard = 0; guard < 50; guard++) {
      const page: ChunkRecord[] = await provider.scan(1, after, size)
      if (page.length === 0) break
      t.ok(page.length <= size)
      seen.push(...page.map(keyOf))
      after = page[page.length - 1]
    }
    t.same(seen, expected, `pages of ${size}: every key once, in order`)
  }
  const page = await provider.scan(1, { file_id: 100, chunk_index: 2 }, 4)
  t.same(
    page.map(c => `${keyOf(c)} ${c.text}`),
    ['100:3 c20', '100:4 a30', '101:0 y3', '101:1 x7'],
    'from inside a legacy file'
  )
  t.ok(
    page.every(c => c.vector.length === D),
    'with vectors'
  )
})

t.test("keyed deletes and writes fix a legacy file's indexes first", async t => {
  const { db, provider } = await setup(t)
  t.equal(
    await provider.deleteKeys(1, [
      { file_id: 100, chunk_index: 1 },
      { file_id: 100, chunk_index: 9 }
    ]),
    1
  )
  t.same(
    indexedTexts(await provider.list(1, 100, false)),
    ['0:e0', '2:d10', '3:c20', '4:a30'],
    'the others keep their indexes'
  )
  const stored = await db.pool.query('SELECT BCHUNK, BVERSION FROM BRAG WHERE BUID = 1 AND BMID = 100 ORDER BY BCHUNK')
  t.same(
    stored.map((r: { BCHUNK: number }) => r.BCHUNK),
    [0, 2, 3, 4],
    'their derived indexes are stored'
  )
  t.ok(
    stored.every((r: { BVERSION: number | null }) => r.BVERSION === null),
    "their version stays the application's"
  )
  t.equal(await provider.count({ user_id: 2 }), 2, "another user's file with the same id is untouched")
  t.same((await db.pool.query('SELECT COUNT(*) AS n FROM BRAG WHERE BUID = 2 AND BCHUNK IS NULL'))[0].n, 2)

  // an insert-only backfill (a migration back from Qdrant) of the same keys adds nothing
  const copy = (file: number, i: number, text: string): ChunkRecord =>
    makeChunk(
      D,
      { user_id: 1, file_id: file, chunk_index: i },
      {
        file_type: 2,
        start_line: 0,
        end_line: 0,
        text,
        vector: unitVector(D, 900 + i),
        created: 1_700_000_000,
        version: legacyVersion(1_700_000_000)
      }
    )
  await provider.upsert([copy(101, 0, 'copy0'), copy(101, 1, 'copy1'), copy(101, 2, 'copy2'), copy(101, 3, 'copy3')], {
    insertOnly: true
  })
  t.same(
    indexedTexts(await provider.list(1, 101, false)),
    ['0:y3', '1:x7', '2:z9', '3:copy3'],
    'existing keys skipped, the missing one added'
  )
  // a normal write of a key replaces the application's row
  const v = nextVersion()
  await provider.upsert([{ ...copy(101, 1, 'replaced'), version: v }])
  const after = await provider.list(1, 101, false)
  t.same(indexedTexts(after), ['0:y3', '1:replaced', '2:z9', '3:copy3'])
  t.equal(after[1].version, v, 'with the new version')
  t.equal(await provider.count({ user_id: 1 }), 8)
})

t.test('a file holding both kinds: legacy rows come after the largest stored index', async t => {
  const { db, provider } = await setup(t)
  await provider.deleteKeys(1, [{ file_id: 100, chunk_index: 1 }]) // file 100 now has stored indexes 0, 2, 3, 4
  await appInsert(db.pool, [appRow(1, 100, 15, 'late15', 20), appRow(1, 100, 5, 'late5', 21)])
  const listed = await provider.list(1, 100, false)
  t.same(indexedTexts(listed), ['0:e0', '2:d10', '3:c20', '4:a30', '5:late5', '6:late15'])
  const keys = (await provider.keys({ user_id: 1, file_ids: [100] })).map(keyOf).sort()
  t.same(keys, ['100:0', '100:2', '100:3', '100:4', '100:5', '100:6'], 'keys agree')
  const scanned = (await provider.scan(1, null, 100)).filter(c => c.file_id === 100).map(keyOf)
  t.same(scanned, ['100:0', '100:2', '100:3', '100:4', '100:5', '100:6'], 'scan agrees')
  const hit = await provider.search({ user_id: 1, vector: unitVector(D, 21), limit: 1, min_score: 0.99 })
  t.same(
    hit.map(h => `${keyOf(h.chunk)} ${h.chunk.text}`),
    ['100:5 late5'],
    'search agrees'
  )
  t.equal(await provider.deleteKeys(1, [{ file_id: 100, chunk_index: 6 }]), 1, 'and deleteKeys')
  t.same(
    (await provider.list(1, 100, false)).map(c => c.text),
    ['e0', 'd10', 'c20', 'a30', 'late5']
  )

  // the gateway writes a file first, the application adds to it afterwards
  await provider.upsert(
    [0, 1].map(i =>
      makeChunk(
        D,
        { user_id: 1, file_id: 300, chunk_index: i },
        { start_line: i, end_line: i, text: `g${i}`, vector: unitVector(D, 40 + i), created: 1 }
      )
    )
  )
  await appInsert(db.pool, [appRow(1, 300, 0, 'app-a', 42)])
  t.same(indexedTexts(await provider.list(1, 300, false)), ['0:g0', '1:g1', '2:app-a'])
})

t.test('deletes by file, group and user reach legacy rows', async t => {
  const { provider } = await setup(t)
  t.equal(await provider.delete({ user_id: 1, group_key: 'other' }), 1)
  t.equal(await provider.delete({ user_id: 1, file_ids: [101] }), 3)
  t.equal(await provider.updateGroupKey(1, 100, 'renamed'), 4)
  t.same(
    indexedGroups(await provider.list(1, 100, false)),
    ['0:renamed', '1:renamed', '2:renamed', '3:renamed'],
    'indexes derived from the remaining rows'
  )
  t.equal(await provider.delete({ user_id: 1 }), 4)
  t.equal(await provider.count(), 2, 'user 2 remains')
  t.same(await provider.users(), [2])
})

t.test('deleteOlderKeys compares application rows by BCREATED * 1e6 and keys them by their derived index', async t => {
  const { provider, f100 } = await setup(t)
  const created = (text: string): number => f100.find(r => r.text === text)!.created
  // derived indexes of file 100: 0 e0, 1 b10, 2 d10, 3 c20, 4 a30
  t.equal(
    await provider.deleteOlderKeys(1, [
      { file_id: 100, chunk_index: 1, version: legacyVersion(created('b10')) + 1 },
      { file_id: 100, chunk_index: 3, version: legacyVersion(created('c20')) }
    ]),
    1,
    'a row older than the version goes, one exactly as old stays'
  )
  t.same(
    indexedTexts(await provider.list(1, 100, false)),
    ['0:e0', '2:d10', '3:c20', '4:a30'],
    'the other rows keep their indexes'
  )
  t.equal(await provider.count({ user_id: 2 }), 2, 'another user is never touched')
})
