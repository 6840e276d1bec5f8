// Issue 10 §3 "no stale copy, ever": when the older copy of a key cannot be removed
// from the other provider, the removal is recorded in MariaDB, retried in the
// background until done, and merged reads never show the stale copy meanwhile.
import t from 'tap'
import fc from 'fast-check'
import { buildTestGateway, TEST_DIMENSION, type TestGateway } from '../helpers/app.ts'
import { chunk, cosine, type ChunkBody } from '../helpers/chunks.ts'
import { client } from '../helpers/gateway-client.ts'
import { createTestDatabase } from '../helpers/mariadb.ts'
import { startTcpProxy, viaProxy } from '../helpers/tcp-proxy.ts'
import { prng } from '../helpers/migration.ts'

type TapTest = Parameters<Parameters<typeof t.test>[0]>[0]

const needsEmulator = {
  skip: process.env.QDRANT_URL !== undefined ? 'fault injection needs the Qdrant emulator' : false
}
const FAST_RETRY = { CLEANUP_RETRY_BASE_MS: '100', CLEANUP_RETRY_MAX_MS: '500' }
const deletes = (req: { path: string }): boolean => req.path.endsWith('/points/delete')

type Model = Map<string, ChunkBody>
const keyOf = (c: { file_id: number; chunk_index: number }): string => `${c.file_id}:${c.chunk_index}`

/** Polls until fn() is true; the bound is generous and only there so a broken retrier fails the test instead of hanging it. */
async function eventually(fn: () => Promise<boolean>, boundMs = 30_000): Promise<boolean> {
  const until = Date.now() + boundMs
  while (Date.now() < until) {
    if (await fn()) return true
    await new Promise(resolve => setTimeout(resolve, 100))
  }
  return await fn()
}

async function pendingCount(gw: TestGateway): Promise<number> {
  const res = await client(gw).status()
  if (res.statusCode !== 200) throw new Error(`status: ${res.statusCode} ${res.body}`)
  return res.json().pending_removals as number
}

function nonNegativeVector(rnd: (n?: number) => number): number[] {
  const v = Array.from({ length: TEST_DIMENSION }, () => (rnd() < 0.5 ? 0 : rnd()))
  v[rnd(TEST_DIMENSION)] = 1
  return v
}

/** Every search, list and stats answer must be exactly what the model (the last acknowledged writes) says. */
async function checkAgainstModel(
  t: TapTest,
  gw: TestGateway,
  userId: number,
  model: Model,
  runs: number
): Promise<void> {
  const c = client(gw)
  const groups = [undefined, 'DEFAULT', 'G2']
  await fc.assert(
    fc.asyncProperty(
      fc
        .array(fc.float({ min: 0, max: 1, noNaN: true }), { minLength: TEST_DIMENSION, maxLength: TEST_DIMENSION })
        .filter(v => v.some(x => x > 0.01)),
      fc.integer({ min: 1, max: 6 }),
      fc.constantFrom(...groups),
      async (vector, limit, group) => {
        const res = await c.search({
          user_id: userId,
          vector,
          limit,
          min_score: 0,
          ...(group !== undefined ? { group_key: group } : {})
        })
        if (res.statusCode !== 200) throw new Error(`search answered ${res.statusCode}: ${res.body}`)
        const results = res.json().results as Array<{
          file_id: number
          chunk_index: number
          text: string
          score: number
          group_key: string
        }>
        for (const r of results) {
          const want = model.get(keyOf(r))
          if (want === undefined) throw new Error(`search returned ${keyOf(r)}, which the model does not hold`)
          if (want.text !== r.text)
            throw new Error(`search returned a stale text for ${keyOf(r)}: "${r.text}", expected "${want.text}"`)
        }
        const expected = [...model.values()]
          .filter(m => group === undefined || (m.group_key ?? 'DEFAULT') === group)
          .map(m => cosine(vector, m.vector))
          .sort((a, b) => b - a)
          .slice(0, limit)
        if (results.length !== expected.length)
          throw new Error(
            `search returned ${results.length} results, the model has ${expected.length} (limit ${limit})`
          )
        results.forEach((r, i) => {
          if (Math.abs(r.score - expected[i]) > 1e-4)
            throw new Error(`result ${i}: score ${r.score}, the model's top ${limit} has ${expected[i]}`)
        })
      }
    ),
    { numRuns: runs, seed: 10 }
  )
  t.pass(`${runs} random searches matched the model`)

  const files = [...new Set([...model.values()].map(m => m.file_id))]
  for (const f of files) {
    const listed = (await c.list(userId, f)).json().chunks as Array<{ chunk_index: number; text: string }>
    const want = [...model.values()].filter(m => m.file_id === f).sort((a, b) => a.chunk_index - b.chunk_index)
    t.same(
      listed.map(x => x.text),
      want.map(m => m.text),
      `file ${f} lists only the newest texts`
    )
  }
  const stats = (await c.stats(userId)).json()
  t.equal(stats.total_chunks, model.size, 'stats count each key once, no stale copy')
  const byGroup: Record<string, number> = {}
  for (const m of model.values()) byGroup[m.group_key ?? 'DEFAULT'] = (byGroup[m.group_key ?? 'DEFAULT'] ?? 0) + 1
  t.same(stats.chunks_by_group, byGroup, 'stats by group follow the newest copies')
}

t.test(
  'qdrant cannot delete during overwrites: removals recorded, merged reads stay correct, then cleaned',
  needsEmulator,
  async t => {
    const gw = await buildTestGateway(t, { qdrant: true, env: FAST_RETRY })
    const q = gw.qdrant!
    const c = client(gw)
    const rnd = prng(42)
    const model: Model = new Map()
    const write = (body: ChunkBody): ChunkBody => {
      model.set(keyOf(body), body)
      return body
    }

    // the first copies land in qdrant
    t.equal((await c.switchTo('qdrant')).statusCode, 200)
    const first: ChunkBody[] = []
    for (let f = 1; f <= 3; f++) {
      for (let i = 0; i < 6; i++) {
        first.push(
          write(
            chunk(1, f, i, {
              text: `v1 ${f}/${i}`,
              vector: nonNegativeVector(rnd),
              group_key: rnd(3) === 0 ? 'G2' : 'DEFAULT'
            })
          )
        )
      }
    }
    t.equal((await c.store(first)).statusCode, 200)

    // back to mariadb; qdrant answers searches but fails every delete
    t.equal((await c.switchTo('mariadb')).statusCode, 200)
    q.faults.fail(500, { match: deletes })
    const keys = [...model.keys()]
    const overwritten = new Set<string>()
    for (let round = 2; round <= 4; round++) {
      const batch: ChunkBody[] = []
      for (const k of keys) {
        if (rnd(2) === 0) continue
        const [f, i] = k.split(':').map(Number)
        batch.push(
          write(
            chunk(1, f, i, {
              text: `v${round} ${f}/${i}`,
              vector: nonNegativeVector(rnd),
              group_key: rnd(3) === 0 ? 'G2' : 'DEFAULT'
            })
          )
        )
        overwritten.add(k)
      }
      const res = await c.store(batch)
      t.equal(res.statusCode, 200, `round ${round}: the write is acknowledged once its cleanup is recorded`)
    }
    t.ok(overwritten.size > 0)
    t.equal(
      await pendingCount(gw),
      overwritten.size,
      'one pending removal per overwritten key (the newest version kept)'
    )
    const metrics = await gw.app.inject({ url: '/metrics' })
    t.match(
      metrics.body,
      new RegExp(`^vg_pending_removals ${overwritten.size}$`, 'm'),
      '/metrics shows the pending removals'
    )

    // the stale copies are still in qdrant, and qdrant is searched: no read may show them
    t.equal(await gw.app.providers.qdrant!.count({ user_id: 1 }), 18, 'the stale copies are still there')
    await checkAgainstModel(t, gw, 1, model, 60)

    // qdrant deletes again: the retrier removes exactly the stale copies
    q.faults.reset()
    t.ok(await eventually(async () => (await pendingCount(gw)) === 0), 'every pending removal is done')
    const inQdrant = (await gw.app.providers.qdrant!.keys({ user_id: 1 })).map(keyOf).sort()
    t.same(inQdrant, keys.filter(k => !overwritten.has(k)).sort(), 'qdrant keeps only the keys never overwritten')
    t.match((await gw.app.inject({ url: '/metrics' })).body, /^vg_pending_removals 0$/m)
    await checkAgainstModel(t, gw, 1, model, 30)
  }
)

t.test(
  'qdrant down during overwrites, then back: stale copies gone; replace is refused while it is down',
  needsEmulator,
  async t => {
    const gw = await buildTestGateway(t, { qdrant: true, env: FAST_RETRY })
    const q = gw.qdrant!
    const c = client(gw)
    await c.switchTo('qdrant')
    await c.store([
      chunk(1, 1, 0, { text: 'old 0' }),
      chunk(1, 1, 1, { text: 'old 1' }),
      chunk(1, 2, 0, { text: 'old 2/0' })
    ])
    await c.switchTo('mariadb')
    await q.faults.down()

    t.equal(
      (await c.store([chunk(1, 1, 0, { text: 'new 0' })])).statusCode,
      200,
      'a write to mariadb is acknowledged while qdrant is down'
    )
    t.equal(await pendingCount(gw), 1)
    const replace = await c.store([chunk(1, 2, 0, { text: 'replaced 2/0' })], true)
    t.equal(replace.statusCode, 503, 'replace must clear the file everywhere: refused while qdrant is down')
    t.match(replace.json(), { code: 'VG_PROVIDER_DOWN', message: /qdrant/ })
    t.equal(await gw.app.providers.mariadb.count({ user_id: 1, file_ids: [2] }), 0, '... and it wrote nothing')

    await q.faults.up()
    t.ok(
      await eventually(async () => (await pendingCount(gw)) === 0),
      'the pending removal is done once qdrant is back'
    )
    t.same((await gw.app.providers.qdrant!.keys({ user_id: 1 })).map(keyOf).sort(), ['1:1', '2:0'])
    t.equal((await c.store([chunk(1, 2, 0, { text: 'replaced 2/0' })], true)).statusCode, 200, 'replace works again')
    const texts = (await c.search({ user_id: 1, vector: chunk(1, 1, 0).vector }))
      .json()
      .results.map((r: { text: string }) => r.text)
      .sort()
    t.same(texts, ['new 0', 'old 1', 'replaced 2/0'])
  }
)

t.test('the retrier never deletes a copy newer than the recorded version', needsEmulator, async t => {
  const gw = await buildTestGateway(t, { qdrant: true, env: FAST_RETRY })
  const q = gw.qdrant!
  const c = client(gw)
  await c.switchTo('qdrant')
  await c.store([chunk(1, 1, 0, { text: 'first' })])
  await c.switchTo('mariadb')
  q.faults.fail(500, { match: deletes })
  await c.store([chunk(1, 1, 0, { text: 'second' })])
  t.equal(await pendingCount(gw), 1)
  // switch back: the newest write lands in qdrant again (and removes mariadb's copy)
  await c.switchTo('qdrant')
  t.equal((await c.store([chunk(1, 1, 0, { text: 'third' })])).statusCode, 200)
  q.faults.reset()
  t.ok(await eventually(async () => (await pendingCount(gw)) === 0))
  t.same(
    (await c.list(1, 1)).json().chunks.map((x: { text: string; provider: string }) => [x.text, x.provider]),
    [['third', 'qdrant']],
    'the copy written after the recorded version survived the retried removal'
  )
})

t.test('mariadb unreachable while qdrant is active: a write is refused before it lands', async t => {
  const db = await createTestDatabase(t)
  const proxy = await startTcpProxy('127.0.0.1', Number(new URL(db.url).port))
  t.teardown(async () => {
    await proxy.close()
  })
  // long caches: the settings and the migration guard do not touch MariaDB on this write, only the cleanup check does
  const gw = await buildTestGateway(t, {
    qdrant: true,
    db: { ...db, url: viaProxy(db.url, proxy) },
    env: { ...FAST_RETRY, SETTINGS_CACHE_MS: '600000' }
  })
  const c = client(gw)
  await c.store([chunk(1, 1, 0, { text: 'in mariadb' })])
  await c.switchTo('qdrant')
  t.equal((await c.store([chunk(2, 1, 0)])).statusCode, 200, 'a write to qdrant warms the settings and guard caches')
  proxy.down()
  const res = await c.store([chunk(1, 1, 0, { text: 'would hide nothing' })])
  t.equal(res.statusCode, 503, 'the older copy in mariadb could neither be removed nor recorded')
  t.match(res.json(), { code: 'VG_PROVIDER_DOWN', message: /mariadb/ })
  t.equal(await gw.app.providers.qdrant!.count({ user_id: 1 }), 0, 'nothing landed in qdrant')
  proxy.up()
  t.equal((await c.store([chunk(1, 1, 0, { text: 'newest' })])).statusCode, 200)
  t.same(
    (await c.list(1, 1)).json().chunks.map((x: { text: string; provider: string }) => [x.text, x.provider]),
    [['newest', 'qdrant']]
  )
  t.equal(await pendingCount(gw), 0)
})

t.test('a migration does not verify, and an archive refuses, a user with pending removals', needsEmulator, async t => {
  const gw = await buildTestGateway(t, { qdrant: true, env: { ...FAST_RETRY, MIGRATION_PENDING_WAIT_MS: '300' } })
  const q = gw.qdrant!
  const c = client(gw)
  const admin = gw.admin
  await c.switchTo('qdrant')
  await c.store([chunk(1, 1, 0, { text: 'first' }), chunk(2, 1, 0, { text: 'other user' })])
  await c.switchTo('mariadb')
  q.faults.fail(500, { match: deletes })
  await c.store([chunk(1, 1, 0, { text: 'second' })])
  t.equal(await pendingCount(gw), 1)

  const start = await gw.app.inject({
    method: 'POST',
    url: '/admin/vector-storage/migrations',
    headers: admin,
    payload: { from: 'mariadb', to: 'qdrant', user_ids: [1] }
  })
  t.equal(start.statusCode, 202)
  const id = start.json().id as number
  let detail: { status: string; users: Array<{ user_id: number; status: string; error: string | null }> } | undefined
  t.ok(
    await eventually(async () => {
      detail = (await gw.app.inject({ url: `/admin/vector-storage/migrations/${id}`, headers: admin })).json()
      return detail?.status === 'failed'
    }),
    'the migration stops with the user failed'
  )
  t.match(
    detail?.users.find(u => u.user_id === 1),
    { status: 'failed', error: /pending/ },
    'the reason names the pending removals'
  )

  await c.switchTo('qdrant')
  const archive = await gw.app.inject({
    method: 'POST',
    url: '/admin/vector-storage/archive',
    headers: admin,
    payload: {}
  })
  t.equal(archive.statusCode, 409)
  t.match(archive.json().message, /removals .*pending.*user 1|pending.*removal/i, 'archive names the pending removals')

  q.faults.reset()
  t.ok(await eventually(async () => (await pendingCount(gw)) === 0))
  t.equal(
    (await gw.app.inject({ method: 'POST', url: `/admin/vector-storage/migrations/${id}/retry`, headers: admin }))
      .statusCode,
    200
  )
  t.ok(
    await eventually(async () => {
      detail = (await gw.app.inject({ url: `/admin/vector-storage/migrations/${id}`, headers: admin })).json()
      return detail?.status === 'completed'
    }),
    'once the removals are done the user verifies'
  )
})

t.test(
  'a removal that can be neither done nor recorded: the write answers 503, and its retry succeeds',
  needsEmulator,
  async t => {
    const gw = await buildTestGateway(t, { qdrant: true, env: FAST_RETRY })
    const c = client(gw)
    await c.switchTo('qdrant')
    await c.store([chunk(1, 1, 0, { text: 'old' })])
    await c.switchTo('mariadb')
    gw.qdrant!.faults.fail(500, { match: deletes })
    // a real MariaDB failure of the record only: its table is briefly gone
    await gw.app.mariadb.query('RENAME TABLE vg_pending_removals TO vg_pending_removals_away')
    const res = await c.store([chunk(1, 1, 0, { text: 'new' })])
    t.equal(res.statusCode, 503, 'not acknowledged: the stale copy could go unnoticed')
    t.match(res.json(), {
      code: 'VG_PROVIDER_DOWN',
      message: /older copies in qdrant .*could neither be removed nor recorded/
    })
    await gw.app.mariadb.query('RENAME TABLE vg_pending_removals_away TO vg_pending_removals')
    t.equal(
      (await c.store([chunk(1, 1, 0, { text: 'new' })])).statusCode,
      200,
      'the retried write is recorded and acknowledged'
    )
    t.equal(await pendingCount(gw), 1)
    t.same(
      (await c.list(1, 1)).json().chunks.map((x: { text: string }) => x.text),
      ['new']
    )
    gw.qdrant!.faults.reset()
    t.ok(await eventually(async () => (await pendingCount(gw)) === 0))
    t.equal(await gw.app.providers.qdrant!.count({ user_id: 1 }), 0, 'the stale copy is gone')
  }
)

t.test('two replicas: one records, the other hides the stale copies; both retry safely', needsEmulator, async t => {
  const a = await buildTestGateway(t, { qdrant: true, env: FAST_RETRY })
  const b = await buildTestGateway(t, {
    qdrant: a.qdrant,
    db: a.db,
    env: { ...FAST_RETRY, QDRANT_COLLECTION: a.config.QDRANT_COLLECTION }
  })
  const ca = client(a)
  const rnd = prng(7)
  const model: Model = new Map()
  await ca.switchTo('qdrant')
  const first = Array.from({ length: 12 }, (_, i) =>
    chunk(1, 1 + (i % 3), i, { text: `a ${i}`, vector: nonNegativeVector(rnd) })
  )
  for (const x of first) model.set(keyOf(x), x)
  t.equal((await ca.store(first)).statusCode, 200)
  await ca.switchTo('mariadb')
  a.qdrant!.faults.fail(500, { match: deletes })
  const second = first
    .filter((_, i) => i % 2 === 0)
    .map(x => ({ ...x, text: `b ${x.chunk_index}`, vector: nonNegativeVector(rnd) }))
  for (const x of second) model.set(keyOf(x), x)
  t.equal((await ca.store(second)).statusCode, 200)
  t.equal(await pendingCount(b), second.length, 'the other replica sees the shared count')
  await checkAgainstModel(t, b, 1, model, 30)
  a.qdrant!.faults.reset()
  t.ok(await eventually(async () => (await pendingCount(b)) === 0))
  t.equal(await a.app.providers.qdrant!.count({ user_id: 1 }), first.length - second.length)
  await checkAgainstModel(t, b, 1, model, 10)
})
