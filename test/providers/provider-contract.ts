// The one contract every VectorProvider honours, run unchanged against MariaDB
// and Qdrant (test/providers/*-provider.test.ts call it with their own setup).
//
// Each subtest calls `setup()` for a fresh, empty store and `cleanup()` in its
// teardown, so subtests never see each other's data (count() and users() are
// store-wide). Data is deterministic; vectors are unit length because Qdrant
// normalises vectors stored in a cosine collection and gives them back
// normalised: with unit inputs every provider returns the input within float32
// precision.
import type tap from 'tap'
import {
  compareKeys,
  type ChunkKey,
  type ChunkRecord,
  type ChunkView,
  type KeyInfo,
  type SearchHit,
  type Vector,
  type VectorProvider
} from '../../src/providers/vector-provider.ts'
import { nextVersion } from '../../src/routing/write-clock.ts'

/** The type of a tap test (the root `t` or a subtest). */
export type TapTest = Parameters<Parameters<typeof tap.test>[0]>[0]

export interface ContractSetup {
  provider: VectorProvider
  dimension: number
  cleanup(): Promise<void>
}

/** float32 keeps ~7 significant digits; unit vectors come back within this per component. */
const VECTOR_TOLERANCE = 1e-5
/** Scores are compared with a cosine computed by hand in float64. */
const SCORE_TOLERANCE = 1e-4

// ---------------------------------------------------------------- deterministic data

/** mulberry32: a tiny seeded PRNG, so every run uses the same data. */
export function prng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let x = a
    x = Math.imul(x ^ (x >>> 15), x | 1)
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61)
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296
  }
}

export function norm(v: Vector): number {
  let s = 0
  for (const x of v) s += x * x
  return Math.sqrt(s)
}

export function normalize(v: number[]): number[] {
  const n = norm(v)
  return v.map(x => x / n)
}

export function dot(a: Vector, b: Vector): number {
  let s = 0
  for (let i = 0; i < a.length; i++) s += a[i] * b[i]
  return s
}

export function cosine(a: Vector, b: Vector): number {
  return dot(a, b) / (norm(a) * norm(b))
}

/** A deterministic unit vector with positive and negative components. */
export function unitVector(dimension: number, seed: number): number[] {
  const r = prng(seed * 7919 + 17)
  return normalize(Array.from({ length: dimension }, () => r() * 2 - 1))
}

/** A unit vector orthogonal to the unit vector `q` (Gram-Schmidt on a seeded vector). */
function orthogonalTo(q: number[], seed: number): number[] {
  const u = unitVector(q.length, seed)
  const d = dot(u, q)
  return normalize(u.map((x, i) => x - d * q[i]))
}

/** A unit vector whose cosine with the unit vector `q` is exactly `c` (in float64). */
export function vectorWithCosine(q: number[], c: number, seed: number): number[] {
  const u = orthogonalTo(q, seed)
  const s = Math.sqrt(1 - c * c)
  return q.map((x, i) => c * x + s * u[i])
}

let seedCounter = 1

export function makeChunk(
  dimension: number,
  key: { user_id: number; file_id: number; chunk_index: number },
  fields: Partial<ChunkRecord> = {}
): ChunkRecord {
  return {
    ...key,
    group_key: 'DEFAULT',
    file_type: 0,
    start_line: key.chunk_index * 10,
    end_line: key.chunk_index * 10 + 9,
    text: `user ${key.user_id} file ${key.file_id} chunk ${key.chunk_index}`,
    vector: unitVector(dimension, seedCounter++),
    created: 1_760_000_000 + key.chunk_index,
    version: nextVersion(),
    ...fields
  }
}

/** `count` chunks of one file, chunk_index 0..count-1. */
export function fileChunks(
  dimension: number,
  userId: number,
  fileId: number,
  count: number,
  fields: Partial<ChunkRecord> = {}
): ChunkRecord[] {
  return Array.from({ length: count }, (_, i) =>
    makeChunk(dimension, { user_id: userId, file_id: fileId, chunk_index: i }, fields)
  )
}

const keyString = (k: ChunkKey): string => `${k.file_id}:${k.chunk_index}`
const sortedKeys = (items: ChunkKey[]): string[] => [...items].sort(compareKeys).map(keyString)
const hitKeys = (hits: SearchHit[]): string[] => hits.map(h => keyString(h.chunk))

function vectorsClose(actual: Vector | undefined, expected: Vector): boolean {
  if (actual === undefined || actual.length !== expected.length) return false
  return Array.from(actual).every((x, i) => Math.abs(x - expected[i]) <= VECTOR_TOLERANCE)
}

/** The fields of a stored chunk (without the vector) as list/search give them back. */
function view(c: ChunkRecord): Omit<ChunkView, 'vector'> {
  const { vector: _v, ...rest } = c
  return rest
}

function withoutVector(c: ChunkView | ChunkRecord): Omit<ChunkView, 'vector'> {
  const { vector: _v, ...rest } = c
  return rest
}

function assertSortedByScore(t: TapTest, hits: SearchHit[]): void {
  for (let i = 1; i < hits.length; i++) {
    if (hits[i - 1].score < hits[i].score) {
      t.fail(`results out of order at ${i}: ${hits[i - 1].score} < ${hits[i].score}`)
      return
    }
  }
  t.pass('results sorted by score, best first')
}

// ---------------------------------------------------------------- the contract

export function providerContract(t: TapTest, setup: () => Promise<ContractSetup>): void {
  async function fresh(t: TapTest): Promise<ContractSetup> {
    const s = await setup()
    t.teardown(() => s.cleanup())
    return s
  }

  t.test('store and list', async t => {
    const { provider, dimension } = await fresh(t)
    const file10 = fileChunks(dimension, 1, 10, 3, { group_key: 'docs:A-1', file_type: 3 })
    file10[1].text = 'Grüße, 世界 🌍 — "quotes" \'and\' \\backslash\n\ttabs'
    file10[2].start_line = 0
    file10[2].end_line = 0
    const file11 = fileChunks(dimension, 1, 11, 2)
    const big = makeChunk(
      dimension,
      { user_id: 1, file_id: 2 ** 53 - 1, chunk_index: 2_147_483_647 },
      { created: 253402300799, start_line: 0, end_line: 2_147_483_647 }
    )
    const bigUser = makeChunk(dimension, { user_id: 2 ** 53 - 1, file_id: 1, chunk_index: 0 })
    // written out of key order on purpose
    const stored = await provider.upsert([file10[2], file11[0], file10[0], big, file10[1], file11[1], bigUser])
    t.equal(stored, 7, 'upsert returns the number of chunks written')

    const listed = await provider.list(1, 10, false)
    t.same(listed.map(withoutVector), file10.map(view), 'one file, ordered by chunk_index, every field kept')
    t.ok(
      listed.every(c => c.vector === undefined),
      'no vectors unless asked'
    )
    t.equal(listed[1].text, file10[1].text, 'unicode and special characters round-trip')

    const withVectors = await provider.list(1, 10, true)
    t.equal(withVectors.length, 3)
    t.ok(
      withVectors.every((c, i) => vectorsClose(c.vector, file10[i].vector)),
      'vectors within float32 precision'
    )

    t.same(
      (await provider.list(1, 2 ** 53 - 1, true)).map(withoutVector),
      [view(big)],
      'largest ids and created round-trip'
    )
    t.same(
      (await provider.list(2 ** 53 - 1, 1, false)).map(withoutVector),
      [view(bigUser)],
      'largest user id round-trips'
    )
    t.same(await provider.list(1, 999, false), [], 'unknown file: empty list')
    t.same(await provider.list(3, 10, false), [], 'unknown user: empty list')
  })

  t.test('search ranks by cosine similarity and scores as 1 - cosine distance', async t => {
    const { provider, dimension } = await fresh(t)
    const q = unitVector(dimension, 9001)
    // cosines 0.95, 0.85, ... -0.45, spread over three files, well apart
    const chunks: ChunkRecord[] = []
    for (let i = 0; i < 15; i++) {
      chunks.push(
        makeChunk(
          dimension,
          { user_id: 7, file_id: 100 + (i % 3), chunk_index: Math.floor(i / 3) },
          { vector: vectorWithCosine(q, 0.95 - i * 0.1, 500 + i) }
        )
      )
    }
    await provider.upsert(chunks)
    // a query vector that is not unit length: cosine must not depend on its norm
    const query = q.map(x => x * 3.5)

    const hits = await provider.search({ user_id: 7, vector: query, limit: 100, min_score: 0 })
    const expected = chunks
      .map(c => ({ c, score: cosine(c.vector, query) }))
      .filter(e => e.score >= 0)
      .sort((a, b) => b.score - a.score)
    t.same(
      hitKeys(hits),
      expected.map(e => keyString(e.c)),
      'every chunk with score >= 0, best first'
    )
    assertSortedByScore(t, hits)
    for (let i = 0; i < Math.min(hits.length, expected.length); i++) {
      t.ok(
        Math.abs(hits[i].score - expected[i].score) <= SCORE_TOLERANCE,
        `score ${hits[i].score} matches the hand-computed cosine ${expected[i].score}`
      )
    }
    const top = hits[0]
    t.same(withoutVector(top.chunk), view(expected[0].c), 'a hit carries every field of its chunk')
    t.equal(top.chunk.vector, undefined, 'search hits carry no vector')

    const exact = await provider.search({ user_id: 7, vector: chunks[3].vector, limit: 1, min_score: 0.5 })
    t.equal(exact.length, 1)
    t.same(hitKeys(exact), [keyString(chunks[3])], 'a stored vector finds itself first')
    t.ok(Math.abs(exact[0].score - 1) <= SCORE_TOLERANCE, 'with score 1')

    const opposite = await provider.search({ user_id: 7, vector: q.map(x => -x), limit: 3, min_score: -1 })
    t.ok(
      Math.abs(opposite[0].score - 0.45) <= SCORE_TOLERANCE,
      'negative cosines are ranked too (score = 1 - distance)'
    )
  })

  t.test('min_score is inclusive and limit caps the results', async t => {
    const { provider, dimension } = await fresh(t)
    const q = unitVector(dimension, 4242)
    const chunks = Array.from({ length: 20 }, (_, i) =>
      makeChunk(
        dimension,
        { user_id: 3, file_id: 1 + (i % 4), chunk_index: i },
        { vector: vectorWithCosine(q, 0.98 - i * 0.04, 700 + i) }
      )
    )
    await provider.upsert(chunks)
    const ranked = [...chunks].sort((a, b) => cosine(b.vector, q) - cosine(a.vector, q))

    const five = await provider.search({ user_id: 3, vector: q, limit: 5, min_score: 0 })
    t.same(hitKeys(five), ranked.slice(0, 5).map(keyString), 'limit 5: the five best')
    const one = await provider.search({ user_id: 3, vector: q, limit: 1, min_score: 0 })
    t.same(hitKeys(one), [keyString(ranked[0])], 'limit 1: the best')

    const all = await provider.search({ user_id: 3, vector: q, limit: 100, min_score: 0 })
    t.equal(all.length, 20, 'all twenty have a positive score')
    const threshold = all[6].score
    const atThreshold = await provider.search({ user_id: 3, vector: q, limit: 100, min_score: threshold })
    t.same(hitKeys(atThreshold), hitKeys(all.slice(0, 7)), 'a hit whose score equals min_score is returned')
    t.ok(
      atThreshold.every(h => h.score >= threshold),
      'every score >= min_score'
    )
    const above = await provider.search({
      user_id: 3,
      vector: q,
      limit: 100,
      min_score: (all[6].score + all[5].score) / 2
    })
    t.same(hitKeys(above), hitKeys(all.slice(0, 6)), 'a hit just below min_score is not')
    // cosines are 0.98, 0.94, ... so 0.52 lies well between two of them
    const high = await provider.search({ user_id: 3, vector: q, limit: 100, min_score: 0.52 })
    t.same(hitKeys(high), ranked.filter(c => cosine(c.vector, q) >= 0.52).map(keyString), 'min_score 0.52')
    t.same(
      await provider.search({ user_id: 3, vector: q, limit: 10, min_score: 0.999 }),
      [],
      'nothing that close: empty'
    )
  })

  t.test('group and file filters', async t => {
    const { provider, dimension } = await fresh(t)
    const q = unitVector(dimension, 77)
    let n = 0
    const mk = (file: number, idx: number, group: string): ChunkRecord =>
      makeChunk(
        dimension,
        { user_id: 5, file_id: file, chunk_index: idx },
        { group_key: group, vector: vectorWithCosine(q, 0.9 - n++ * 0.03, 900 + n) }
      )
    const chunks = [
      mk(1, 0, 'alpha'),
      mk(1, 1, 'alpha'),
      mk(2, 0, 'beta'),
      mk(2, 1, 'beta'),
      mk(3, 0, 'alpha'),
      mk(4, 0, 'Alpha'),
      mk(5, 0, 'DEFAULT'),
      mk(6, 0, 'alpha:x-1')
    ]
    await provider.upsert(chunks)
    const search = async (f: { group_key?: string; file_ids?: number[] }): Promise<string[]> =>
      sortedKeys((await provider.search({ user_id: 5, vector: q, limit: 100, min_score: 0, ...f })).map(h => h.chunk))

    t.same(await search({ group_key: 'alpha' }), ['1:0', '1:1', '3:0'], 'group filter (exact and case-sensitive)')
    t.same(await search({ group_key: 'Alpha' }), ['4:0'], 'group keys differing in case are different groups')
    t.same(await search({ group_key: 'alpha:x-1' }), ['6:0'], 'group keys with : and -')
    t.same(await search({ group_key: 'nope' }), [], 'unknown group: nothing')
    t.same(await search({ file_ids: [2, 5] }), ['2:0', '2:1', '5:0'], 'file filter')
    t.same(
      await search({ file_ids: [1, 2], group_key: 'beta' }),
      ['2:0', '2:1'],
      'file and group filters combine (AND)'
    )
    t.same(await search({ file_ids: [3], group_key: 'beta' }), [], 'disjoint file and group: nothing')
    t.same(await search({ file_ids: [] }), [], 'an empty file list selects nothing')
    const hits = await provider.search({ user_id: 5, vector: q, limit: 2, min_score: 0, group_key: 'alpha' })
    t.same(hitKeys(hits), ['1:0', '1:1'], 'limit applies after the filter')

    t.same(sortedKeys(await provider.keys({ user_id: 5, group_key: 'alpha' })), ['1:0', '1:1', '3:0'], 'keys by group')
    t.same(sortedKeys(await provider.keys({ user_id: 5, file_ids: [2, 6] })), ['2:0', '2:1', '6:0'], 'keys by files')
    t.equal(await provider.count({ user_id: 5, group_key: 'alpha' }), 3, 'count by group')
    t.equal(await provider.count({ user_id: 5, file_ids: [1, 2] }), 4, 'count by files')
    t.equal(await provider.count({ user_id: 5, file_ids: [1, 2], group_key: 'beta' }), 2, 'count by files and group')
    t.equal(await provider.count({ user_id: 5, file_ids: [] }), 0, 'count of an empty file list')
  })

  t.test("tenant isolation: one user never reaches another user's chunks", async t => {
    const { provider, dimension } = await fresh(t)
    // the same keys, groups and vectors for both users: only user_id tells them apart
    const a = fileChunks(dimension, 1001, 1, 4, { group_key: 'shared' })
    const b = a.map(c => ({ ...c, user_id: 1002, text: c.text.replace('user 1001', 'user 1002') }))
    await provider.upsert(a)
    await provider.upsert(b)

    const hitsA = await provider.search({ user_id: 1001, vector: a[0].vector, limit: 100, min_score: -1 })
    t.equal(hitsA.length, 4)
    t.ok(
      hitsA.every(h => h.chunk.user_id === 1001 && h.chunk.text.startsWith('user 1001')),
      'search: only A'
    )
    const byGroup = await provider.search({
      user_id: 1002,
      vector: a[0].vector,
      limit: 100,
      min_score: -1,
      group_key: 'shared',
      file_ids: [1]
    })
    t.ok(byGroup.length === 4 && byGroup.every(h => h.chunk.user_id === 1002), 'filtered search: only B')
    t.same(
      await provider.search({ user_id: 1003, vector: a[0].vector, limit: 100, min_score: -1 }),
      [],
      'a user with no chunks finds nothing'
    )

    t.ok(
      (await provider.list(1001, 1, true)).every(c => c.user_id === 1001 && c.text.startsWith('user 1001')),
      'list: only A'
    )
    t.equal((await provider.keys({ user_id: 1001 })).length, 4, 'keys: only A')
    t.equal(await provider.count({ user_id: 1001 }), 4, 'count: only A')
    t.equal(await provider.count(), 8, 'the store holds both')
    t.same(
      (await provider.scan(1001, null, 100)).map(c => c.user_id),
      [1001, 1001, 1001, 1001],
      'scan: only A'
    )

    t.equal(await provider.updateGroupKey(1001, 1, 'mine'), 4, "update A's group")
    t.same(
      (await provider.list(1002, 1, false)).map(c => c.group_key),
      ['shared', 'shared', 'shared', 'shared'],
      "B's group unchanged"
    )

    t.equal(await provider.deleteKeys(1001, [{ file_id: 1, chunk_index: 0 }]), 1, "delete one of A's keys")
    t.equal(await provider.count({ user_id: 1002 }), 4, 'B keeps the same key')
    t.equal(await provider.delete({ user_id: 1001, file_ids: [1] }), 3, "delete A's file")
    t.equal(await provider.count({ user_id: 1002 }), 4, 'B keeps the same file')
    await provider.upsert(a)
    t.equal(await provider.delete({ user_id: 1001, group_key: 'shared' }), 4, "delete A's group")
    t.equal(await provider.count({ user_id: 1002 }), 4, 'B keeps the same group')
    await provider.upsert(a)
    t.equal(await provider.delete({ user_id: 1001 }), 4, 'delete user A')
    t.equal(await provider.count({ user_id: 1002 }), 4, 'B keeps everything')
    t.same(await provider.users(), [1002])
  })

  t.test('upsert is idempotent per key: the second write wins', async t => {
    const { provider, dimension } = await fresh(t)
    const first = makeChunk(dimension, { user_id: 9, file_id: 4, chunk_index: 2 }, { text: 'first', group_key: 'g1' })
    await provider.upsert([first])
    await provider.upsert([first])
    t.equal(await provider.count({ user_id: 9 }), 1, 'the same chunk twice: one chunk')

    const second = makeChunk(
      dimension,
      { user_id: 9, file_id: 4, chunk_index: 2 },
      {
        text: 'second',
        group_key: 'g2',
        file_type: 7,
        start_line: 3,
        end_line: 4,
        created: 1_770_000_000
      }
    )
    t.ok(second.version > first.version)
    t.equal(await provider.upsert([second]), 1)
    t.equal(await provider.count({ user_id: 9 }), 1, 'same key, new content: still one chunk')
    const [stored] = await provider.list(9, 4, true)
    t.same(withoutVector(stored), view(second), 'every field comes from the second write')
    t.ok(vectorsClose(stored.vector, second.vector), 'and the vector too')
    const hits = await provider.search({ user_id: 9, vector: second.vector, limit: 10, min_score: 0.99 })
    t.same(
      hits.map(h => h.chunk.text),
      ['second'],
      'search sees the new vector and text'
    )
    t.same(
      await provider.keys({ user_id: 9 }),
      [{ file_id: 4, chunk_index: 2, group_key: 'g2', version: second.version }],
      'keys carry the new version'
    )

    // the same key twice inside one batch: the later one wins
    const x1 = makeChunk(dimension, { user_id: 9, file_id: 5, chunk_index: 0 }, { text: 'x1' })
    const x2 = makeChunk(dimension, { user_id: 9, file_id: 5, chunk_index: 0 }, { text: 'x2' })
    await provider.upsert([x1, x2])
    t.same(
      (await provider.list(9, 5, false)).map(c => c.text),
      ['x2'],
      'a duplicate key within one batch: the later one wins'
    )
    t.equal(await provider.upsert([]), 0, 'an empty batch writes nothing')
  })

  t.test('insertOnly skips existing keys and writes new ones', async t => {
    const { provider, dimension } = await fresh(t)
    const live = makeChunk(dimension, { user_id: 4, file_id: 1, chunk_index: 0 }, { text: 'live write' })
    await provider.upsert([live])
    const stale = makeChunk(
      dimension,
      { user_id: 4, file_id: 1, chunk_index: 0 },
      { text: 'stale copy', version: live.version - 1000 }
    )
    const missing = makeChunk(dimension, { user_id: 4, file_id: 1, chunk_index: 1 }, { text: 'copied' })
    const written = await provider.upsert([stale, missing], { insertOnly: true })
    t.ok(
      written === 1 || written === 2,
      `returns a count (${written}); providers that can tell report only the inserted ones`
    )
    t.same(
      (await provider.list(4, 1, false)).map(c => c.text),
      ['live write', 'copied'],
      'the existing chunk is untouched, the new one written'
    )
    const [k0] = (await provider.keys({ user_id: 4, file_ids: [1] })).sort(compareKeys)
    t.equal(k0.version, live.version, 'the existing version is kept')
    await provider.upsert([stale, missing], { insertOnly: true })
    t.equal(await provider.count({ user_id: 4 }), 2, 'running the copy again makes no duplicates')
  })

  t.test('updateGroupKey changes one file', async t => {
    const { provider, dimension } = await fresh(t)
    await provider.upsert([
      ...fileChunks(dimension, 6, 1, 3, { group_key: 'old' }),
      ...fileChunks(dimension, 6, 2, 2, { group_key: 'old' })
    ])
    t.equal(await provider.updateGroupKey(6, 1, 'new-group'), 3, 'returns the chunks of the file')
    t.same(
      (await provider.list(6, 1, false)).map(c => c.group_key),
      ['new-group', 'new-group', 'new-group']
    )
    t.same(
      (await provider.list(6, 2, false)).map(c => c.group_key),
      ['old', 'old'],
      'other files keep their group'
    )
    t.equal(await provider.count({ user_id: 6, group_key: 'new-group' }), 3, 'the group filter follows')
    const hits = await provider.search({
      user_id: 6,
      vector: unitVector(dimension, 5),
      limit: 10,
      min_score: -1,
      group_key: 'new-group'
    })
    t.same(sortedKeys(hits.map(h => h.chunk)), ['1:0', '1:1', '1:2'], 'search by the new group finds the file')
    t.equal(await provider.updateGroupKey(6, 99, 'x'), 0, 'unknown file: 0')
    t.equal(await provider.updateGroupKey(7, 1, 'x'), 0, "another user's file id: 0")
    const versions = (await provider.keys({ user_id: 6, file_ids: [1] })).map(k => k.version)
    t.ok(
      versions.every(v => v > 0),
      'versions stay set'
    )
  })

  t.test('delete by file, by group, by user and by keys', async t => {
    const { provider, dimension } = await fresh(t)
    await provider.upsert([
      ...fileChunks(dimension, 8, 1, 3, { group_key: 'g1' }),
      ...fileChunks(dimension, 8, 2, 2, { group_key: 'g1' }),
      ...fileChunks(dimension, 8, 3, 4, { group_key: 'g2' }),
      ...fileChunks(dimension, 8, 4, 1, { group_key: 'G2' }),
      ...fileChunks(dimension, 18, 1, 2, { group_key: 'g1' })
    ])
    t.equal(await provider.delete({ user_id: 8, file_ids: [] }), 0, 'an empty file list deletes nothing')
    t.equal(await provider.count({ user_id: 8 }), 10)

    t.equal(await provider.delete({ user_id: 8, file_ids: [1] }), 3, 'delete a file')
    t.same(await provider.list(8, 1, false), [])
    t.equal(await provider.delete({ user_id: 8, file_ids: [1] }), 0, 'deleting it again: 0')

    t.equal(
      await provider.delete({ user_id: 8, file_ids: [2, 3], group_key: 'g2' }),
      4,
      'files and group together: only chunks matching both'
    )
    t.equal(await provider.count({ user_id: 8 }), 3)

    t.equal(await provider.delete({ user_id: 8, group_key: 'g1' }), 2, 'delete a group')
    t.same(sortedKeys(await provider.keys({ user_id: 8 })), ['4:0'], 'a group differing in case survives')

    await provider.upsert(fileChunks(dimension, 8, 5, 5))
    t.equal(
      await provider.deleteKeys(8, [
        { file_id: 5, chunk_index: 1 },
        { file_id: 5, chunk_index: 3 },
        { file_id: 5, chunk_index: 99 },
        { file_id: 77, chunk_index: 0 }
      ]),
      2,
      'deleteKeys returns how many of the keys existed'
    )
    t.same(sortedKeys(await provider.keys({ user_id: 8, file_ids: [5] })), ['5:0', '5:2', '5:4'])
    t.equal(await provider.deleteKeys(8, []), 0, 'no keys: nothing')

    const many = fileChunks(dimension, 8, 6, 600)
    await provider.upsert(many)
    t.equal(
      await provider.deleteKeys(
        8,
        many.filter(c => c.chunk_index % 2 === 0)
      ),
      300,
      'a large key list'
    )
    t.equal(await provider.count({ user_id: 8, file_ids: [6] }), 300)

    t.equal(await provider.delete({ user_id: 8 }), 1 + 3 + 300, 'delete a user')
    t.equal(await provider.count({ user_id: 8 }), 0)
    t.equal(await provider.count({ user_id: 18 }), 2, 'another user keeps their chunks')
    t.equal(await provider.delete({ user_id: 8 }), 0, 'deleting an empty user: 0')
  })

  t.test('deleteOlderKeys removes a key only where the stored copy is older than the given version', async t => {
    const { provider, dimension } = await fresh(t)
    const chunks = fileChunks(dimension, 40, 1, 4)
    await provider.upsert(chunks)
    await provider.upsert(fileChunks(dimension, 41, 1, 1))
    const v = (i: number): number => chunks[i].version
    t.equal(
      await provider.deleteOlderKeys(40, [
        { file_id: 1, chunk_index: 0, version: v(0) + 1 },
        { file_id: 1, chunk_index: 1, version: v(1) },
        { file_id: 1, chunk_index: 2, version: v(2) - 1 },
        { file_id: 1, chunk_index: 9, version: Number.MAX_SAFE_INTEGER }
      ]),
      1,
      'only the older copy goes; an equal or newer one stays, a missing key counts nothing'
    )
    t.same(sortedKeys(await provider.keys({ user_id: 40 })), ['1:1', '1:2', '1:3'])
    t.equal(await provider.deleteOlderKeys(40, [{ file_id: 1, chunk_index: 0, version: Number.MAX_SAFE_INTEGER }]), 0)
    t.equal(await provider.count({ user_id: 41 }), 1, "another user's same key is never touched")
    t.equal(await provider.deleteOlderKeys(40, []), 0, 'no keys: nothing')

    const many = fileChunks(dimension, 40, 2, 600)
    await provider.upsert(many)
    t.equal(
      await provider.deleteOlderKeys(
        40,
        many.map(c => ({ file_id: c.file_id, chunk_index: c.chunk_index, version: c.version + 1 }))
      ),
      600,
      'a large key list'
    )
    t.equal(await provider.count({ user_id: 40, file_ids: [2] }), 0)
  })

  t.test('keys, count and users', async t => {
    const { provider, dimension } = await fresh(t)
    t.equal(await provider.count(), 0, 'an empty store')
    t.same(await provider.users(), [])
    const chunks = [
      ...fileChunks(dimension, 30, 2, 2, { group_key: 'a' }),
      ...fileChunks(dimension, 30, 1, 3, { group_key: 'b' }),
      ...fileChunks(dimension, 12, 1, 1),
      ...fileChunks(dimension, 2 ** 40, 1, 1)
    ]
    await provider.upsert(chunks)
    const keys = (await provider.keys({ user_id: 30 })).sort(compareKeys)
    const expected: KeyInfo[] = chunks
      .filter(c => c.user_id === 30)
      .sort(compareKeys)
      .map(c => ({ file_id: c.file_id, chunk_index: c.chunk_index, group_key: c.group_key, version: c.version }))
    t.same(keys, expected, 'keys with group and version')
    t.equal(await provider.count({ user_id: 30 }), 5)
    t.equal(await provider.count(), 7, 'count without a filter: the whole store')
    t.same(await provider.users(), [12, 30, 2 ** 40], 'users ascending')
    t.same(await provider.keys({ user_id: 31 }), [])
  })

  t.test('scan pages through one user in key order, with vectors', async t => {
    const { provider, dimension } = await fresh(t)
    const chunks = [
      ...fileChunks(dimension, 40, 3, 12),
      ...fileChunks(dimension, 40, 1, 9),
      ...fileChunks(dimension, 40, 20, 4),
      ...fileChunks(dimension, 41, 2, 5)
    ]
    await provider.upsert(chunks)
    const expected = chunks.filter(c => c.user_id === 40).sort(compareKeys)

    const seen: ChunkRecord[] = []
    let after: ChunkKey | null = null
    let pages = 0
    for (;;) {
      const page: ChunkRecord[] = await provider.scan(40, after, 7)
      t.ok(page.length <= 7, 'a page holds at most `limit` chunks')
      if (page.length === 0) break
      seen.push(...page)
      after = { file_id: page[page.length - 1].file_id, chunk_index: page[page.length - 1].chunk_index }
      if (++pages > 10) break
    }
    t.equal(pages, 4, '25 chunks in pages of 7')
    t.same(seen.map(keyString), expected.map(keyString), 'every chunk once, in (file_id, chunk_index) order')
    t.same(seen.map(withoutVector), expected.map(view), 'every field')
    t.ok(
      seen.every((c, i) => vectorsClose(c.vector, expected[i].vector)),
      'vectors within float32 precision'
    )

    const mid = await provider.scan(40, { file_id: 3, chunk_index: 5 }, 3)
    t.same(mid.map(keyString), ['3:6', '3:7', '3:8'], 'after a key in the middle of a file')
    const gap = await provider.scan(40, { file_id: 2, chunk_index: 0 }, 2)
    t.same(gap.map(keyString), ['3:0', '3:1'], 'after a key that does not exist')
    t.same(await provider.scan(40, { file_id: 20, chunk_index: 3 }, 5), [], 'after the last key: empty')
    t.same(await provider.scan(42, null, 5), [], 'unknown user: empty')
  })

  t.test('a batch of 1000 chunks', async t => {
    const { provider, dimension } = await fresh(t)
    const chunks: ChunkRecord[] = []
    for (let f = 1; f <= 10; f++) chunks.push(...fileChunks(dimension, 50, f, 100, { group_key: `g${f % 3}` }))
    t.equal(await provider.upsert(chunks), 1000, 'all written')
    t.equal(await provider.count({ user_id: 50 }), 1000)
    t.equal(await provider.count({ user_id: 50, group_key: 'g1' }), 400)
    const probe = chunks[537]
    const hits = await provider.search({ user_id: 50, vector: probe.vector, limit: 10, min_score: 0 })
    t.equal(hits[0]?.chunk.text, probe.text, 'a chunk from the batch finds itself')
    t.equal(hits.length, 10)
    assertSortedByScore(t, hits)
    const all: ChunkRecord[] = []
    let after: ChunkKey | null = null
    for (;;) {
      const page: ChunkRecord[] = await provider.scan(50, after, 300)
      if (page.length === 0) break
      all.push(...page)
      after = page[page.length - 1]
    }
    t.equal(all.length, 1000, 'scan returns them all')
    t.equal(new Set(all.map(keyString)).size, 1000, 'once each')
    // write the same batch again (replace): still 1000
    t.equal(await provider.upsert(chunks.map(c => ({ ...c, text: c.text + ' v2', version: nextVersion() }))), 1000)
    t.equal(await provider.count({ user_id: 50 }), 1000, 'rewriting the batch makes no duplicates')
    t.equal((await provider.list(50, 7, false))[99].text, 'user 50 file 7 chunk 99 v2')
  })

  t.test('health reports a connected store', async t => {
    const { provider } = await fresh(t)
    const h = await provider.health()
    t.equal(h.status, 'connected')
    t.type(h.version, 'string', 'with the server version')
  })
}
