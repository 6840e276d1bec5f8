// Plan choice between the exact plan and the cosine VECTOR index, proven with
// EXPLAIN; exactness for small users; recall for large ones on clustered data;
// wrong-metric indexes ignored; the exact plan answers when the index comes back short.
import t from 'tap'
import { createTestDatabase } from '../../helpers/mariadb.ts'
import { MariaDbProvider } from '../../../src/providers/mariadb/mariadb-provider.ts'
import { GROUP_INDEX, KEY_INDEX, VECTOR_INDEX } from '../../../src/providers/mariadb/mariadb-schema.ts'
import type { SearchHit, SearchQuery } from '../../../src/providers/vector-provider.ts'
import { normalize } from '../provider-contract.ts'
import { chunksFor, clusteredVectors, gaussian, newProvider } from './setup.ts'
import { prng } from '../provider-contract.ts'
import { explainSearch } from '../../helpers/mariadb-explain.ts'

const D = 64
const LARGE = 1 // 2,000 rows
const SMALL = 2 // 120 rows
const THRESHOLD = 500

const db = await createTestDatabase(t)
// This table is tiny (2,120 rows of 64 dimensions): the planner's cost rule would
// answer every search exactly. These tests are about the mechanics of the index
// plan, so walks are priced at 1 row per unit of ef and the share rule asks for 4
// (not 16) rows of the filter per row fetched here, and trusts the share rule without
// waiting for recall measurements; the share rule, the measurements and the default
// settings are proven on a large unclustered table in search-share.test.ts.
const CHEAP_WALKS = { indexRowsPerEf: 1, indexSafety: 4, indexTrust: 'share-rule' as const }
const provider = newProvider(db.pool, {
  dimension: D,
  exactSearchMaxRows: THRESHOLD,
  efSearch: 100,
  countCacheMs: 60_000,
  ...CHEAP_WALKS
})
// the same table, always searched exactly: the ground truth
const exact = newProvider(db.pool, { dimension: D, exactSearchMaxRows: Number.MAX_SAFE_INTEGER })
await provider.init()
await exact.init()

const large = clusteredVectors(2000, D, 20, 0.35, 11)
const small = clusteredVectors(120, D, 4, 0.35, 12)
await provider.upsert(
  chunksFor(LARGE, large.vectors, 100, i => ({ group_key: i % 200 === 0 ? 'rare' : i % 2 === 0 ? 'even' : 'odd' }))
)
await provider.upsert(chunksFor(SMALL, small.vectors, 30))

const r = prng(99)
/** Queries near the data: a cluster centre plus noise. */
const queries = (centres: number[][], n: number): number[][] =>
  Array.from({ length: n }, (_, i) => normalize(centres[i % centres.length].map(x => x + gaussian(r) * 0.3)))

const key = (h: SearchHit): string => `${h.chunk.file_id}:${h.chunk.chunk_index}`
const same = (a: SearchHit[], b: SearchHit[]): boolean =>
  a.length === b.length && a.every((h, i) => key(h) === key(b[i]) && Math.abs(h.score - b[i].score) < 1e-9)

const smallQueries = queries(small.centres, 8)
const beforeIndex: SearchHit[][] = []

t.test('without a vector index every search is exact', async t => {
  for (const user of [SMALL, LARGE]) {
    const { plan, explain } = await explainSearch(provider, {
      user_id: user,
      vector: smallQueries[0],
      limit: 10,
      min_score: 0
    })
    t.equal(plan.kind, 'exact', `user ${user}: ${plan.reason}`)
    t.match(plan.reason, /no VECTOR index/)
    t.ok([KEY_INDEX, GROUP_INDEX].includes(String(explain[0].key)), `EXPLAIN uses ${String(explain[0].key)}`)
    t.match(String(explain[0].Extra), /filesort/, 'and sorts the distances')
  }
  for (const q of smallQueries)
    beforeIndex.push(await provider.search({ user_id: SMALL, vector: q, limit: 10, min_score: 0 }))
  t.ok(beforeIndex.every(h => h.length === 10))
})

t.test('createVectorIndex builds a cosine index', async t => {
  const { duration_ms: ms } = await provider.createVectorIndex({ m: 16 })
  t.ok(ms > 0, `built in ${ms} ms`)
  t.same(await provider.vectorIndexInfo(), {
    exists: true,
    name: VECTOR_INDEX,
    distance: 'cosine',
    m: 16,
    usable: true
  })
  t.same(await provider.createVectorIndex({ m: 16 }), { duration_ms: 0 }, 'the same index again: nothing to do')
  t.same(await provider.capacityWarnings(), [], 'the test server is sized for this table')
})

t.test('small user: exact plan, same results as before the index', async t => {
  const { plan, explain } = await explainSearch(provider, {
    user_id: SMALL,
    vector: smallQueries[0],
    limit: 10,
    min_score: 0
  })
  t.equal(plan.kind, 'exact')
  t.equal(plan.rows, 120)
  t.not(String(explain[0].key), VECTOR_INDEX, 'EXPLAIN: not the vector index')
  for (let i = 0; i < smallQueries.length; i++) {
    const hits = await provider.search({ user_id: SMALL, vector: smallQueries[i], limit: 10, min_score: 0 })
    t.ok(same(hits, beforeIndex[i]), `query ${i}: identical keys and scores`)
  }
  const filtered = { user_id: LARGE, vector: smallQueries[0], limit: 10, min_score: 0, group_key: 'rare' }
  t.equal(
    (await explainSearch(provider, filtered)).plan.kind,
    'exact',
    'a large user with a narrow filter: exact (10 rows)'
  )
  const files = { user_id: LARGE, vector: smallQueries[0], limit: 10, min_score: 0, file_ids: [1, 2, 3] }
  t.equal((await explainSearch(provider, files)).plan.rows, 300, 'rows counted for the file filter')
  t.equal((await explainSearch(provider, files)).plan.kind, 'exact')
})

t.test('large user: the vector index plan, recall@10 >= 0.95 on clustered data', async t => {
  const probe: SearchQuery = { user_id: LARGE, vector: large.centres[0], limit: 10, min_score: 0 }
  const { plan, explain } = await explainSearch(provider, probe)
  t.equal(plan.kind, 'index', plan.reason)
  t.equal(plan.rows, 2000)
  t.equal(explain[0].key, VECTOR_INDEX, 'EXPLAIN: the vector index')
  t.notMatch(String(explain[0].Extra ?? ''), /filesort/, 'no sort of the whole user')
  const grouped = (await explainSearch(provider, { ...probe, group_key: 'even' })).plan
  t.equal(grouped.kind, 'index', 'a wide group filter too (1,000 rows)')
  t.equal(plan.efSearch, provider.efSearch, 'unfiltered index walks use efSearch')
  t.equal(grouped.efSearch, provider.efSearchFiltered, 'filtered ones the wider efSearchFiltered')
  t.ok(provider.efSearchFiltered > provider.efSearch)

  const before = { ...provider.stats }
  let found = 0
  const qs = queries(large.centres, 30)
  for (const q of qs) {
    const got = await provider.search({ user_id: LARGE, vector: q, limit: 10, min_score: 0 })
    const truth = await exact.search({ user_id: LARGE, vector: q, limit: 10, min_score: 0 })
    const truthKeys = new Set(truth.map(key))
    found += got.filter(h => truthKeys.has(key(h))).length
    for (let i = 1; i < got.length; i++) if (got[i - 1].score < got[i].score) t.fail('index results sorted by score')
  }
  const recall = found / (qs.length * 10)
  t.ok(recall >= 0.95, `recall@10 = ${recall.toFixed(3)}`)
  t.equal(provider.stats.index - before.index, qs.length, 'every search used the index plan')
  t.comment(`index fallbacks to exact: ${provider.stats.indexFallbacks - before.indexFallbacks} of ${qs.length}`)
})

t.test('fewer hits than limit from the index: the exact plan answers', async t => {
  // every row is "large" and the share rule is all but off (a tiny safety factor, no
  // cost rule): the index plan is chosen even for a 10-row group
  const eager = newProvider(db.pool, {
    dimension: D,
    exactSearchMaxRows: 0,
    efSearch: 20,
    indexSafety: 0.01,
    indexRowsPerEf: 0,
    indexTrust: 'share-rule'
  })
  await eager.init()
  const q: SearchQuery = { user_id: LARGE, vector: large.centres[3], limit: 15, min_score: 0.1, group_key: 'rare' }
  t.equal((await explainSearch(eager, q)).plan.kind, 'index')
  const got = await eager.search(q)
  const truth = await exact.search(q)
  t.ok(same(got, truth), `the same ${truth.length} hits as the exact plan`)
  t.equal(eager.stats.indexFallbacks, 1, 'answered by the exact plan')
  // a min_score that leaves fewer than limit: never fewer than exact either
  const strict: SearchQuery = { user_id: LARGE, vector: large.centres[5], limit: 50, min_score: 0.75 }
  const a = await eager.search(strict)
  const b = await exact.search(strict)
  t.ok(same(a, b), `min_score ${strict.min_score}: ${a.length} hits, as the exact plan`)
})

t.test('an index with another metric is reported unusable and never relied on', async t => {
  await provider.dropVectorIndex()
  t.same(await provider.vectorIndexInfo(), { exists: false, usable: false })
  await db.pool.query('ALTER TABLE BRAG ADD VECTOR INDEX app_euclid (BEMBED) M=8 DISTANCE=euclidean')
  const info = await provider.vectorIndexInfo()
  t.same(info, { exists: true, name: 'app_euclid', distance: 'euclidean', m: 8, usable: false })
  t.match((await provider.capacityWarnings()).join('\n'), /DISTANCE=euclidean, not cosine/)
  const q: SearchQuery = { user_id: LARGE, vector: large.centres[7], limit: 10, min_score: 0 }
  const { plan, explain } = await explainSearch(provider, q)
  t.equal(plan.kind, 'exact', plan.reason)
  t.not(explain[0].key, 'app_euclid')
  t.ok(same(await provider.search(q), await exact.search(q)), 'exact results for the large user')
  await provider.createVectorIndex({ m: 8 })
  t.same(
    await provider.vectorIndexInfo(),
    { exists: true, name: VECTOR_INDEX, distance: 'cosine', m: 8, usable: true },
    'createVectorIndex replaced the euclidean index'
  )
})

t.test("plan follows this provider's writes at once, other writers within the cache TTL", async t => {
  const q: SearchQuery = { user_id: SMALL, vector: small.centres[0], limit: 10, min_score: 0 }
  t.equal((await explainSearch(provider, q)).plan.kind, 'exact')
  await provider.upsert(
    chunksFor(SMALL, clusteredVectors(400, D, 4, 0.35, 13).vectors, 100, i => ({ file_id: 50 + Math.floor(i / 100) }))
  )
  const { plan } = await explainSearch(provider, q)
  t.equal(plan.kind, 'index', `after our own write: ${plan.reason}`)
  await provider.delete({ user_id: SMALL, file_ids: [50, 51, 52, 53] })
  t.equal((await explainSearch(provider, q)).plan.kind, 'exact', 'after our own delete')

  const other = newProvider(db.pool, { dimension: D, exactSearchMaxRows: THRESHOLD, countCacheMs: 200, ...CHEAP_WALKS })
  await other.init()
  t.equal((await explainSearch(other, q)).plan.kind, 'exact')
  await provider.upsert(
    chunksFor(SMALL, clusteredVectors(400, D, 4, 0.35, 14).vectors, 100, i => ({ file_id: 60 + Math.floor(i / 100) }))
  )
  await new Promise(resolve => setTimeout(resolve, 250))
  t.equal((await explainSearch(other, q)).plan.kind, 'index', 'another instance sees it after its TTL')
})

t.test('an index dropped by someone else: the search retries without it', async t => {
  const other = newProvider(db.pool, { dimension: D, exactSearchMaxRows: THRESHOLD, ...CHEAP_WALKS })
  await other.init()
  const q: SearchQuery = { user_id: LARGE, vector: large.centres[1], limit: 10, min_score: 0 }
  t.equal((await explainSearch(other, q)).plan.kind, 'index', 'it knows the index')
  await provider.dropVectorIndex()
  t.ok(same(await other.search(q), await exact.search(q)), 'exact results, no error')
  t.equal((await explainSearch(other, q)).plan.kind, 'exact', 'and it now knows the index is gone')
})

t.test('MariaDbProvider exposes its plan counters', async t => {
  t.type(provider, MariaDbProvider)
  t.ok(provider.stats.exact > 0 && provider.stats.index > 0)
})
