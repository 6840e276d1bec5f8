// Plan choice by the filter's SHARE of the table (issue 12), on a large table of
// UNCLUSTERED random unit vectors with a cosine vector index, where MariaDB's
// post-filtered HNSW walk finds few of a small tenant's rows: the small tenant is
// searched exactly (recall 1.00) though it is above the row floor, the tenant that
// owns most of the table still gets the index plan; the sampled recall check
// reports to its observer after the answer and demotes a band measured too low.
import t from 'tap'
import { buildTestGateway } from '../../helpers/app.ts'
import { createTestDatabase } from '../../helpers/mariadb.ts'
import { VECTOR_INDEX } from '../../../src/providers/mariadb/mariadb-schema.ts'
import { RecallSampler, recallAtK } from '../../../src/providers/mariadb/recall-sampler.ts'
import { choosePlan, shareBand } from '../../../src/providers/mariadb/search-planner.ts'
import type { ChunkRecord, SearchHit, SearchQuery } from '../../../src/providers/vector-provider.ts'
import { normalize, prng } from '../provider-contract.ts'
import { chunksFor, gaussian, newProvider } from './setup.ts'
import { explainSearch } from '../../helpers/mariadb-explain.ts'

const D = 32
const BIG = 1 // 18,000 rows: 90% of the table
const SMALL = 2 // 400 rows: 2%
const FILLERS = 16 // users 101.. of 100 rows each
const FLOOR = 200 // exactSearchMaxRows: the small tenant is above it (the old rule gave it the index)

const r = prng(1212)
const unit = (): number[] => normalize(Array.from({ length: D }, () => gaussian(r)))

const db = await createTestDatabase(t)
const provider = newProvider(db.pool, { dimension: D, exactSearchMaxRows: FLOOR, efSearch: 100, countCacheMs: 60_000 })
const exact = newProvider(db.pool, { dimension: D, exactSearchMaxRows: Number.MAX_SAFE_INTEGER })
await provider.init()
await exact.init()

// tenants interleaved at random, as many users writing at once leave them
const rows: ChunkRecord[] = [
  ...chunksFor(BIG, Array.from({ length: 18_000 }, unit), 100, i => ({
    group_key: i % 50 === 0 ? 'narrow' : 'DEFAULT'
  })),
  ...chunksFor(SMALL, Array.from({ length: 400 }, unit), 100),
  ...Array.from({ length: FILLERS }, (_, u) => chunksFor(101 + u, Array.from({ length: 100 }, unit), 100)).flat()
]
for (let i = rows.length - 1; i > 0; i--) {
  const j = Math.floor(r() * (i + 1))
  ;[rows[i], rows[j]] = [rows[j], rows[i]]
}
for (let i = 0; i < rows.length; i += 2000) await provider.upsert(rows.slice(i, i + 2000))
await provider.createVectorIndex({ m: 16 })

const key = (h: SearchHit): string => `${h.chunk.file_id}:${h.chunk.chunk_index}`
const queries = Array.from({ length: 20 }, unit)

async function recallOf(
  p: typeof provider,
  filter: Omit<SearchQuery, 'vector' | 'limit' | 'min_score'>
): Promise<number> {
  let found = 0
  let total = 0
  for (const vector of queries) {
    const q = { ...filter, vector, limit: 10, min_score: -1 }
    const truth = new Set((await exact.search(q)).map(key))
    total += truth.size
    found += (await p.search(q)).filter(h => truth.has(key(h))).length
  }
  return found / total
}

t.test('a small tenant in a large unclustered table: exact plan, recall 1.00', async t => {
  const q: SearchQuery = { user_id: SMALL, vector: queries[0], limit: 10, min_score: -1 }
  const { plan, explain } = await explainSearch(provider, q)
  t.equal(plan.rows, 400)
  t.ok(plan.rows! > FLOOR, 'above the row floor: the row count alone would have picked the index')
  t.equal(plan.kind, 'exact', plan.reason)
  t.equal(plan.tableRows, 20_000)
  t.match(plan.reason, /400 of 20000 rows \(2\.0%\): the walk would need ef 12000 > efSearchMax 1000/)
  t.not(String(explain[0].key), VECTOR_INDEX, `EXPLAIN: ${String(explain[0].key)}, not the vector index`)
  const before = provider.stats.exact
  t.equal(await recallOf(provider, { user_id: SMALL }), 1, 'recall@10 over 20 queries')
  t.equal(provider.stats.exact - before, queries.length, 'every search exact')
})

t.test('group and file filters count in the share', async t => {
  const grouped = (
    await explainSearch(provider, { user_id: BIG, group_key: 'narrow', vector: queries[1], limit: 10, min_score: -1 })
  ).plan
  t.equal(grouped.rows, 360)
  t.equal(grouped.kind, 'exact', grouped.reason)
  const files = (
    await explainSearch(provider, {
      user_id: BIG,
      file_ids: [1, 2, 3, 4, 5],
      vector: queries[1],
      limit: 10,
      min_score: -1
    })
  ).plan
  t.equal(files.rows, 500)
  t.equal(files.kind, 'exact', files.reason)
  t.equal(await recallOf(provider, { user_id: BIG, group_key: 'narrow' }), 1, 'recall@10 of the narrow group')
})

t.test('the tenant owning most of the table gets the index plan once background checks measured it', async t => {
  const q: SearchQuery = { user_id: BIG, vector: queries[2], limit: 10, min_score: -1 }
  const first = (await explainSearch(provider, q)).plan
  t.equal(first.kind, 'exact', 'unmeasured: the exact plan answers')
  t.match(first.reason, /index recall not measured yet for this share \(0 of 5 checks\)/)
  // each exact answer of an unmeasured band has the index plan checked against it in the background
  const observed: number[] = []
  const checked = newProvider(db.pool, {
    dimension: D,
    exactSearchMaxRows: FLOOR,
    efSearch: 100,
    countCacheMs: 60_000,
    // random 32-d vectors give this walk recall@10 of about 0.92-0.98: a target it meets
    recallTarget: 0.8,
    recallObserver: { observe: (_plan, recall) => observed.push(recall), dropped: () => {} }
  })
  await checked.init()
  for (let i = 0; i < 5; i++) {
    const before = checked.stats.exact
    const hits = await checked.search({ ...q, vector: queries[i] })
    t.equal(checked.recall.inFlight, 1, 'its index check runs after the answer')
    t.equal(checked.stats.exact - before, 1, `search ${i + 1} answered by the exact plan`)
    t.same(hits, await exact.search({ ...q, vector: queries[i] }))
    await checked.recall.idle()
  }
  t.equal(observed.length, 5, 'five index checks measured')
  const mean = observed.reduce((a, b) => a + b, 0) / observed.length
  t.comment(`recall@10 of the index plan for the 90% tenant on random 32-d vectors: ${mean.toFixed(3)}`)
  t.ok(mean >= 0.8, 'measured at the target')
  const { plan, explain } = await explainSearch(checked, q)
  t.equal(plan.kind, 'index', plan.reason)
  t.equal(plan.efSearch, 267, 'share 90%: ef 16 x 15 / 0.9')
  t.equal(explain[0].key, VECTOR_INDEX, 'EXPLAIN: the vector index')
  const before = checked.stats.index
  await checked.search(q)
  t.equal(checked.stats.index - before, 1, 'answered by the index plan')
  t.equal(checked.recall.inFlight, 0, 'a measured band is not probed again')
  await checked.close()
})

t.test('trusting the share rule unmeasured (MARIADB_INDEX_TRUST=share-rule) gives the index plan at once', async t => {
  const trusting = newProvider(db.pool, { dimension: D, exactSearchMaxRows: FLOOR, indexTrust: 'share-rule' })
  await trusting.init()
  const { plan, explain } = await explainSearch(trusting, {
    user_id: BIG,
    vector: queries[2],
    limit: 10,
    min_score: -1
  })
  t.equal(plan.kind, 'index', plan.reason)
  t.equal(plan.efSearch, 267, 'share 90%: ef 16 x 15 / 0.9')
  t.equal(explain[0].key, VECTOR_INDEX, 'EXPLAIN: the vector index')
})

t.test('a sampled search answers before its shadow check, which then reports recall', async t => {
  const observed: Array<{ plan: string; recall: number }> = []
  const sampled = newProvider(db.pool, {
    dimension: D,
    exactSearchMaxRows: FLOOR,
    indexTrust: 'share-rule',
    recallSampleRate: 1,
    recallObserver: { observe: (plan, recall) => observed.push({ plan, recall }), dropped: () => {} }
  })
  await sampled.init()
  const q: SearchQuery = { user_id: BIG, vector: queries[3], limit: 10, min_score: -1 }
  const hits = await sampled.search(q)
  t.equal(hits.length, 10)
  t.equal(sampled.stats.index, 1, 'answered by the index plan')
  t.equal(sampled.recall.inFlight, 1, 'the answer came back while its shadow check was still running')
  t.equal(observed.length, 0, 'no recall yet')
  await sampled.recall.idle()
  t.equal(observed.length, 1, 'one observation once the shadow check is done')
  t.equal(observed[0].plan, 'index')
  const truth = await exact.search(q)
  const expected = recallAtK(
    hits.map((h, i) => ({ id: i, score: h.score })),
    truth.map((h, i) => ({ id: -1 - i, score: h.score }))
  )
  t.equal(observed[0].recall, expected, `recall@10 ${observed[0].recall} as computed from the two answers`)

  // the exact plan answers are never sampled
  await sampled.search({ user_id: SMALL, vector: queries[3], limit: 10, min_score: -1 })
  t.equal(sampled.recall.inFlight, 0)
  await sampled.close()
})

t.test('recall measured below the target widens the walk, then sends the band to the exact plan', async t => {
  const demoted = newProvider(db.pool, { dimension: D, exactSearchMaxRows: FLOOR, indexTrust: 'share-rule' })
  await demoted.init()
  const q: SearchQuery = { user_id: BIG, vector: queries[4], limit: 10, min_score: -1 }
  const { plan } = await explainSearch(demoted, q)
  t.equal(plan.kind, 'index')
  t.equal(plan.efSearch, 267)
  for (let i = 0; i < 4; i++) demoted.recall.record(plan.share!, 0.5)
  t.equal((await explainSearch(demoted, q)).plan.efSearch, 267, 'four samples are not enough to judge')
  demoted.recall.record(plan.share!, 0.5)
  const wider = (await explainSearch(demoted, q)).plan
  t.equal(wider.kind, 'index')
  t.equal(wider.efSearch, 534, 'measured below the target: a walk twice as wide')
  t.match(wider.reason, /widened 2x after recall measured below 0\.99/)
  for (let i = 0; i < 5; i++) demoted.recall.record(plan.share!, 0.5)
  const after = (await explainSearch(demoted, q)).plan
  t.equal(after.kind, 'exact', 'four times as wide would exceed efSearchMax 1000')
  t.match(
    after.reason,
    /index recall measured below 0\.99 up to ef 534; a walk 4x as wide needs ef 1068 > efSearchMax 1000/
  )
  t.same(await demoted.search(q), await exact.search(q), 'exact results')
})

t.test('the gateway exports measured recall in /metrics, by check', async t => {
  const env = { VECTOR_DIMENSION: String(D), MARIADB_EXACT_SEARCH_MAX_ROWS: String(FLOOR) }
  const search = async (gw: Awaited<ReturnType<typeof buildTestGateway>>): Promise<string> => {
    const res = await gw.app.inject({
      method: 'POST',
      url: '/search',
      headers: gw.data,
      payload: { user_id: BIG, vector: queries[5], limit: 10, min_score: 0 }
    })
    t.equal(res.statusCode, 200, res.body)
    t.ok(res.json().results.length > 0, 'answered')
    await gw.app.providers.mariadb.recall.idle()
    return (await gw.app.inject({ url: '/metrics' })).body
  }
  // default: the unmeasured band is answered exactly and its index plan probed in the background
  const probed = await search(await buildTestGateway(t, { db, env }))
  t.match(probed, /vg_search_recall_count\{plan="index",check="probe"\} 1\n/)
  t.match(probed, /vg_mariadb_search_plans_total\{plan="exact"\} 1\n/, 'the search was answered exactly')
  t.match(probed, /vg_mariadb_search_plans_total\{plan="index"\} 0\n/)
  t.notMatch(probed, /check="shadow"\} [1-9]/)
  // trusting the share rule with sampling on: the index answer is re-run exactly
  const shadowed = await search(
    await buildTestGateway(t, {
      db,
      env: { ...env, MARIADB_INDEX_TRUST: 'share-rule', MARIADB_RECALL_SAMPLE_RATE: '1' }
    })
  )
  t.match(shadowed, /vg_search_recall_count\{plan="index",check="shadow"\} 1\n/)
  t.match(shadowed, /vg_search_recall_bucket\{le="1",plan="index",check="shadow"\} 1\n/)
  t.match(shadowed, /vg_mariadb_search_plans_total\{plan="index"\} 1\n/, 'the search was answered by the index')
})

t.test('planner and sampler units', async t => {
  const s = {
    exactMaxRows: 2000,
    efSearch: 100,
    efSearchFiltered: 200,
    efSearchMax: 1000,
    safety: 16,
    recallTarget: 0.99,
    trust: 'share-rule' as const
  }
  // the issue's case: 9,000 of 39,000 rows
  const issue = choosePlan(s, { filterRows: 9000, tableRows: 39_000, limit: 10, filtered: false })
  t.match(issue, { kind: 'exact', reason: /would need ef 1040 > efSearchMax 1000/ }, 'a 23% share: exact')
  t.match(
    choosePlan(s, { filterRows: 9000, tableRows: 30_000, limit: 10, filtered: false }),
    { kind: 'index', efSearch: 800 },
    'a 30% share widens the walk to ef 800'
  )
  t.match(
    choosePlan(s, { filterRows: 5000, tableRows: 10_000_000, limit: 10, filtered: false }),
    { kind: 'exact' },
    '0.05% of 10 million rows: exact'
  )
  t.match(
    choosePlan(s, { filterRows: 1500, tableRows: 1600, limit: 10, filtered: false }),
    { kind: 'exact' },
    'under the row floor'
  )
  t.match(choosePlan({ ...s, exactMaxRows: 0 }, { filterRows: 900, tableRows: 1000, limit: 10, filtered: false }), {
    kind: 'exact',
    reason: /cheaper/
  })
  t.match(choosePlan(s, { filterRows: 90_000, tableRows: 100_000, limit: 10, filtered: true }), {
    kind: 'index',
    efSearch: 356,
    fetch: 20
  })
  t.match(
    choosePlan({ ...s, safety: 4 }, { filterRows: 90_000, tableRows: 100_000, limit: 10, filtered: true }),
    { kind: 'index', efSearch: 200 },
    'the floor of filtered walks'
  )
  // trust 'measured': the share rule's index walk is only a candidate until measured
  const measured = { ...s, trust: 'measured' as const }
  const big = { filterRows: 90_000, tableRows: 100_000, limit: 10, filtered: false }
  t.match(
    choosePlan(measured, { ...big, recall: { state: 'unmeasured', samples: 2, minSamples: 5, band: 0, widen: 0 } }),
    { kind: 'exact', probe: { efSearch: 267, fetch: 15 }, reason: /not measured yet for this share \(2 of 5 checks\)/ },
    'unmeasured: exact, probing the walk the rule allows'
  )
  t.match(choosePlan(measured, { ...big, recall: { state: 'met', mean: 0.995, samples: 5, band: 0, widen: 0 } }), {
    kind: 'index',
    efSearch: 267
  })
  t.match(
    choosePlan(measured, { ...big, recall: { state: 'met', mean: 0.995, samples: 5, band: 0, widen: 1 } }),
    { kind: 'index', efSearch: 534 },
    'a band met after widening walks twice as wide'
  )
  t.match(choosePlan(measured, { ...big, recall: { state: 'below', mean: 0.5, samples: 5, band: 0, widen: 3 } }), {
    kind: 'exact',
    probe: undefined,
    reason: /measured 0\.500 < 0\.99/
  })
  t.match(
    choosePlan(measured, { filterRows: 9000, tableRows: 39_000, limit: 10, filtered: false }),
    { kind: 'exact', probe: undefined },
    'where the rule says exact, nothing is probed'
  )
  t.match(choosePlan(s, { ...big, recall: { state: 'unmeasured', samples: 0, minSamples: 5, band: 0, widen: 0 } }), {
    kind: 'index'
  })

  t.equal(shareBand(1), 0)
  t.equal(shareBand(0.5), 0)
  t.equal(shareBand(0.3), 1)
  t.equal(shareBand(0.001), 9)

  const hits = (...pairs: Array<[id: number, score: number]>) => pairs.map(([id, score]) => ({ id, score }))
  t.equal(recallAtK(hits([1, 0.9], [3, 0.5]), hits([1, 0.9], [2, 0.8])), 0.5)
  t.equal(recallAtK(hits([1, 0.9], [3, 0.8]), hits([1, 0.9], [2, 0.8])), 1, 'a tie with the k-th is a hit')
  t.equal(recallAtK([], []), undefined)

  // at most one shadow check in flight: a sample drawn meanwhile is dropped
  let dropped = 0
  const seen: number[] = []
  const sampler = new RecallSampler({
    rate: 1,
    target: 0.99,
    observer: { observe: (_p, x) => seen.push(x), dropped: () => dropped++ }
  })
  let release!: (v: Array<{ id: number; score: number }>) => void
  const pending = new Promise<Array<{ id: number; score: number }>>(resolve => {
    release = resolve
  })
  let calls = 0
  sampler.sample(0.5, [{ id: 1, score: 1 }], async () => {
    calls++
    return await pending
  })
  sampler.sample(0.5, [{ id: 1, score: 1 }], async () => {
    calls++
    return await pending
  })
  t.equal(calls, 1, 'the second shadow query never started')
  t.equal(dropped, 1)
  release([{ id: 1, score: 1 }])
  await sampler.idle()
  t.same(seen, [1])

  // verdicts: a band is judged on 5 samples; a larger share measured below the target demotes smaller ones
  let clock = 0
  const judge = new RecallSampler({ rate: 0, target: 0.99, now: () => clock, retryMs: 1000 })
  t.match(judge.verdict(0.6), { state: 'unmeasured', samples: 0, minSamples: 5, band: 0 })
  for (let i = 0; i < 5; i++) judge.record(0.6, 1)
  t.match(judge.verdict(0.6), { state: 'met', mean: 1, samples: 5, band: 0 })
  t.match(judge.verdict(0.3), { state: 'unmeasured', band: 1 }, 'another band is measured on its own')
  for (let i = 0; i < 5; i++) judge.record(0.3, 0.9)
  t.match(
    judge.verdict(0.3),
    { state: 'unmeasured', samples: 0, widen: 1 },
    'measured below: the walk is widened, measured afresh'
  )
  t.match(judge.verdict(0.01), { state: 'unmeasured', widen: 0 }, 'a widening band does not judge smaller shares')
  for (let w = 2; w <= 3; w++) {
    for (let i = 0; i < 5; i++) judge.record(0.3, 0.9)
    t.match(judge.verdict(0.3), { state: 'unmeasured', widen: w })
  }
  for (let i = 0; i < 5; i++) judge.record(0.3, 0.9)
  t.match(judge.verdict(0.3), { state: 'below', band: 1, widen: 3 }, 'below at the widest walk (8x)')
  t.match(judge.verdict(0.01), { state: 'below', band: 1 }, 'a smaller share follows the larger one measured below')
  t.match(judge.verdict(0.6), { state: 'met' }, 'a larger share keeps its own verdict')
  // a band whose newest sample is older than half the retry time gets a shadow check even at rate 0
  let shadows = 0
  judge.sample(0.6, [{ id: 1, score: 1 }], async () => {
    shadows++
    return [{ id: 1, score: 1 }]
  })
  t.equal(shadows, 0, 'fresh samples: no shadow check at rate 0')
  clock = 600
  judge.sample(0.6, [{ id: 1, score: 1 }], async () => {
    shadows++
    return [{ id: 1, score: 1 }]
  })
  await judge.idle()
  t.equal(shadows, 1, 'aging samples: a shadow check')
  clock = 1200
  t.match(judge.verdict(0.6), { state: 'unmeasured', samples: 1 }, 'samples expire after retryMs')

  // a probe measures the index answer against the exact one given
  const probes: Array<[number, string]> = []
  const prober = new RecallSampler({
    rate: 0,
    target: 0.99,
    observer: { observe: (_p, x, check) => probes.push([x, check]), dropped: () => {} }
  })
  prober.probe(
    0.6,
    [
      { id: 1, score: 0.9 },
      { id: 2, score: 0.8 }
    ],
    async () => [
      { id: 1, score: 0.9 },
      { id: 7, score: 0.1 }
    ]
  )
  await prober.idle()
  t.same(probes, [[0.5, 'probe']])
  t.match(prober.verdict(0.6), { state: 'unmeasured', samples: 1 })

  const off = new RecallSampler({ rate: 0, target: 0.99 })
  off.sample(1, [], async () => {
    t.fail('rate 0 samples nothing')
    return []
  })
  t.equal(off.inFlight, 0)
  t.throws(() => new RecallSampler({ rate: 1.5, target: 0.99 }), /within 0\.\.1/)
})
