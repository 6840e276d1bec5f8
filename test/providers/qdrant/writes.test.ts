// Upsert specifics: insert_only on the wire, the fallback for servers without
// update_mode, and how batches are cut into requests.
import t from 'tap'
import type { Exchange } from '@vector-gateway/qdrant-emulator'
import {
  MAX_POINTS_PER_REQUEST,
  MAX_REQUEST_BYTES,
  splitForRequests
} from '../../../src/providers/qdrant/qdrant-provider.ts'
import { estimatePointBytes } from '../../../src/providers/qdrant/payload.ts'
import { fileChunks, makeChunk } from '../provider-contract.ts'
import { freshProvider, qdrantTarget } from './setup.ts'
import { versionProxy } from './version-proxy.ts'

const target = await qdrantTarget({ forceEmulator: true })
t.teardown(() => target.close())
const emulator = target.emulator!

function record(): Exchange[] {
  const seen: Exchange[] = []
  emulator.onExchange = x => {
    seen.push(x)
  }
  return seen
}
const upserts = (seen: Exchange[], collection: string): Exchange[] =>
  seen.filter(x => x.method === 'PUT' && x.path === `/collections/${collection}/points`)

t.test('insertOnly sends update_mode insert_only and never overwrites', async t => {
  const { provider, collection, cleanup } = await freshProvider(target, 8)
  t.teardown(cleanup)
  const live = makeChunk(8, { user_id: 1, file_id: 1, chunk_index: 0 }, { text: 'live' })
  await provider.upsert([live])
  const seen = record()
  const stale = { ...live, text: 'stale copy', version: live.version - 5 }
  const fresh = makeChunk(8, { user_id: 1, file_id: 1, chunk_index: 1 }, { text: 'copied' })
  t.equal(await provider.upsert([stale, fresh], { insertOnly: true }), 1, 'reports only the inserted point')
  const [put] = upserts(seen, collection)
  const body = JSON.parse(put.requestBody) as { update_mode?: string; points: unknown[] }
  t.equal(body.update_mode, 'insert_only', 'update_mode insert_only on the wire')
  t.equal(put.query.includes('wait=true'), true, 'wait=true')
  t.equal(body.points.length, 1, 'keys found by the retrieve are not even sent')
  t.same(
    (await provider.list(1, 1, false)).map(c => [c.text, c.version]),
    [
      ['live', live.version],
      ['copied', fresh.version]
    ]
  )

  // A live write landing between the retrieve and the insert: Qdrant's insert_only
  // keeps it. The insert is held back 300 ms; the live write goes in meanwhile.
  const racing = makeChunk(8, { user_id: 1, file_id: 1, chunk_index: 2 }, { text: 'racing live write' })
  let live2: Promise<number> | undefined
  emulator.faults.slow(300, {
    match: r => r.method === 'PUT' && (r.body as { update_mode?: string } | undefined)?.update_mode === 'insert_only'
  })
  emulator.onExchange = x => {
    if (live2 === undefined && x.method === 'POST' && x.path === `/collections/${collection}/points`)
      live2 = provider.upsert([racing])
  }
  t.teardown(() => {
    emulator.onExchange = undefined
    emulator.faults.slow(0)
  })
  t.equal(
    await provider.upsert([{ ...racing, text: 'copy', version: racing.version - 1 }], { insertOnly: true }),
    1,
    'the key was missing when looked up'
  )
  t.equal(await live2, 1, 'the live write went in while the copy was in flight')
  t.same(
    (await provider.list(1, 1, false)).find(c => c.chunk_index === 2)?.text,
    'racing live write',
    'the copy did not overwrite it'
  )
  emulator.onExchange = undefined
  emulator.faults.slow(0)
})

t.test('servers without update_mode (< 1.17): the retrieve decides, update_mode is not sent', async t => {
  const proxy = await versionProxy(target.url, '1.16.3')
  t.teardown(() => proxy.close())
  const { provider, collection, cleanup } = await freshProvider({ ...target, url: proxy.url }, 8)
  t.teardown(cleanup)
  const live = makeChunk(8, { user_id: 2, file_id: 1, chunk_index: 0 }, { text: 'live' })
  await provider.upsert([live])
  const seen = record()
  t.teardown(() => {
    emulator.onExchange = undefined
  })
  const written = await provider.upsert(
    [{ ...live, text: 'stale' }, makeChunk(8, { user_id: 2, file_id: 1, chunk_index: 1 }, { text: 'new' })],
    { insertOnly: true }
  )
  t.equal(written, 1)
  const bodies = upserts(seen, collection).map(
    x => JSON.parse(x.requestBody) as { update_mode?: string; points: unknown[] }
  )
  t.equal(bodies.length, 1)
  t.equal(bodies[0].update_mode, undefined, 'no update_mode for a server that would ignore it')
  t.equal(bodies[0].points.length, 1, 'only the missing key is sent')
  t.same(
    (await provider.list(2, 1, false)).map(c => c.text),
    ['live', 'new']
  )
})

t.test('a batch of 1000 chunks of 1024 dimensions is one request', async t => {
  // ~20 MB parsed by the in-process emulator: on a busy 2-core machine that can take
  // longer than the suite's usual 5 s provider timeout, which is not what this checks
  const { provider, collection, cleanup } = await freshProvider(target, 1024, { timeoutMs: 60000 })
  t.teardown(cleanup)
  const chunks = [...fileChunks(1024, 3, 1, 500), ...fileChunks(1024, 3, 2, 500)]
  const seen = record()
  t.teardown(() => {
    emulator.onExchange = undefined
  })
  t.equal(await provider.upsert(chunks), 1000)
  const puts = upserts(seen, collection)
  t.equal(puts.length, 1, 'one request: Qdrant applies it whole')
  t.ok(
    puts[0].requestBody.length < MAX_REQUEST_BYTES,
    `body ${(puts[0].requestBody.length / 1e6).toFixed(1)} MB, under the budget`
  )
  t.ok(estimatePointBytes(chunks[0]) * 1000 >= puts[0].requestBody.length, 'the size estimate is an upper bound')
  t.equal(await provider.count({ user_id: 3 }), 1000)
})

t.test('splitForRequests: by count and by estimated size', async t => {
  const small = fileChunks(4, 1, 1, 2500)
  t.same(
    splitForRequests(small).map(b => b.length),
    [MAX_POINTS_PER_REQUEST, MAX_POINTS_PER_REQUEST, 500],
    'at most 1000 points a request'
  )
  const bigText = 'x'.repeat(4 * 1024 * 1024)
  const big = fileChunks(4, 1, 2, 10, { text: bigText })
  const batches = splitForRequests(big)
  t.ok(batches.length > 1, `${batches.length} requests for 40 MiB of text`)
  t.ok(
    batches.every(b => b.reduce((s, c) => s + estimatePointBytes(c), 0) <= MAX_REQUEST_BYTES),
    'each within the budget'
  )
  t.same(batches.flat(), big, 'order and content kept')
  const huge = fileChunks(4, 1, 3, 1, { text: 'y'.repeat(20 * 1024 * 1024) })
  t.same(
    splitForRequests(huge).map(b => b.length),
    [1],
    'a single oversized point still goes (Qdrant decides)'
  )
  t.same(splitForRequests([]), [])
})
