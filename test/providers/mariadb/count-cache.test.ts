// The row counts the search planner reads: one COUNT per filter within the TTL,
// dropped for a user this provider wrote to, a user's total bounding narrower
// filters, and the table count answered stale while it refreshes. The counts come
// from a recording function here (the cache's own logic; the COUNT SQL runs in
// search-executor.test.ts and the contract suite).
import t from 'tap'
import { CountCache } from '../../../src/providers/mariadb/count-cache.ts'
import type { ChunkFilter } from '../../../src/providers/vector-provider.ts'

function recordingCache(
  rows: (filter?: ChunkFilter) => number,
  ttl = { countCacheMs: 60_000, tableCountCacheMs: 60_000 }
) {
  const asked: Array<ChunkFilter | undefined> = []
  const cache = new CountCache({
    count: async filter => {
      asked.push(filter)
      return rows(filter)
    },
    exactMaxRows: 100,
    ...ttl
  })
  return { cache, asked }
}

t.test('one COUNT per filter within the TTL; forget(user) drops that user only', async t => {
  const { cache, asked } = recordingCache(f => (f?.user_id === 1 ? 50 : 70))
  t.equal(await cache.filterRows({ user_id: 1 }), 50)
  t.equal(await cache.filterRows({ user_id: 1 }), 50)
  t.equal(await cache.filterRows({ user_id: 2 }), 70)
  t.equal(asked.length, 2, 'cached per user')
  cache.forget(1)
  await cache.filterRows({ user_id: 1 })
  await cache.filterRows({ user_id: 2 })
  t.same(asked.at(-1), { user_id: 1 }, 'user 1 counted again, user 2 still cached')
  t.equal(asked.length, 3)
})

t.test('a user within exactMaxRows needs no narrower count; a bigger one is counted per filter', async t => {
  const { cache, asked } = recordingCache(f =>
    f?.user_id === 1 ? 80 : f?.group_key !== undefined ? 300 : f?.file_ids !== undefined ? 20 : 5000
  )
  t.equal(await cache.filterRows({ user_id: 1, group_key: 'g' }), 80, "the small user's total bounds it")
  t.same(asked, [{ user_id: 1 }])
  t.equal(await cache.filterRows({ user_id: 2, group_key: 'g' }), 300)
  t.equal(await cache.filterRows({ user_id: 2, file_ids: [3, 1] }), 20)
  t.equal(await cache.filterRows({ user_id: 2, file_ids: [1, 3] }), 20, 'file order does not matter')
  t.equal(asked.length, 4, 'user 2 total, its group, its files: once each')
})

t.test('a TTL of 0 counts every time', async t => {
  const { cache, asked } = recordingCache(() => 10, { countCacheMs: 0, tableCountCacheMs: 0 })
  await cache.filterRows({ user_id: 1 })
  await cache.filterRows({ user_id: 1 })
  t.equal(asked.length, 2)
})

t.test('the table count: counted once, then answered stale while a refresh runs', async t => {
  let table = 1000
  const { cache, asked } = recordingCache(() => table, { countCacheMs: 60_000, tableCountCacheMs: 0 })
  t.equal(await cache.tableRows(), 1000, 'the first call waits for the count')
  table = 2000
  t.equal(await cache.tableRows(), 1000, 'stale: the old value, a refresh started')
  await new Promise(resolve => setImmediate(resolve))
  t.equal(await cache.tableRows(), 2000, 'the refreshed value')
  t.ok(
    asked.every(f => f === undefined),
    'whole-table counts'
  )
})

/** A cache on a clock the test moves, its COUNTs answered when the test says. */
function manualCache(countCacheMs: number) {
  let now = 0
  const pending: Array<{ filter?: ChunkFilter; answer: (rows: number) => void }> = []
  const cache = new CountCache({
    count: async filter => await new Promise<number>(resolve => pending.push({ filter, answer: resolve })),
    exactMaxRows: 100,
    countCacheMs,
    tableCountCacheMs: 60_000,
    now: () => now
  })
  const settle = async (): Promise<void> => await new Promise(resolve => setImmediate(resolve))
  /** user 1's rows as a search that has to count them sees them, its COUNT answering `rows` */
  const countedAs = async (rows: number): Promise<number> => {
    const asked = cache.filterRows({ user_id: 1 })
    await settle()
    pending.shift()!.answer(rows)
    return await asked
  }
  return { cache, pending, settle, countedAs, advance: (ms: number) => (now += ms) }
}

t.test('a count searched steadily is refreshed in the background before its TTL runs out', async t => {
  const { cache, pending, settle, countedAs, advance } = manualCache(1000)
  t.equal(await countedAs(40), 40, 'the first search waits for its COUNT')
  advance(400)
  t.equal(await cache.filterRows({ user_id: 1 }), 40, 'fresh: answered from the cache')
  t.equal(pending.length, 0, 'no COUNT within the first half of the TTL')
  advance(200)
  t.equal(await cache.filterRows({ user_id: 1 }), 40, 'past half the TTL: still answered at once...')
  t.equal(pending.length, 1, '...while one COUNT refreshes it')
  t.equal(await cache.filterRows({ user_id: 1 }), 40)
  t.equal(pending.length, 1, 'one refresh at a time per filter')
  pending.shift()!.answer(45)
  await settle()
  advance(450) // 1,050 ms after the first COUNT, 450 after the refresh was asked
  t.equal(await cache.filterRows({ user_id: 1 }), 45, 'the refreshed count, its TTL counted from when it was asked')
  t.equal(pending.length, 0)
})

t.test('a count older than its TTL is never answered: the search waits for a new one', async t => {
  const { countedAs, advance } = manualCache(1000)
  await countedAs(40)
  advance(1000)
  t.equal(await countedAs(90), 90, 'counted again')
})

t.test('a COUNT that began before this provider wrote to the user is not kept', async t => {
  const { cache, pending, settle, countedAs, advance } = manualCache(1000)
  await countedAs(40)
  advance(600)
  await cache.filterRows({ user_id: 1 })
  t.equal(pending.length, 1, 'a background refresh is running')
  cache.forget(1) // our write landed while that COUNT ran: it may not see the write
  pending.shift()!.answer(40)
  await settle()
  t.equal(await countedAs(140), 140, 'the next search counts afresh')
})
