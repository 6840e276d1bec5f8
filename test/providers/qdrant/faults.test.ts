// Qdrant unreachable, slow or failing: every operation answers VG_PROVIDER_DOWN
// (503 naming qdrant) and the same provider works again once Qdrant is back.
// A 4xx that means the gateway sent something wrong stays a 500.
import t from 'tap'
import { isProviderDown } from '../../../src/errors.ts'
import type { VectorProvider } from '../../../src/providers/vector-provider.ts'
import { makeChunk, type TapTest } from '../provider-contract.ts'
import { freshProvider, qdrantTarget, rawClient } from './setup.ts'

const target = await qdrantTarget({ forceEmulator: true })
t.teardown(() => target.close())
const emulator = target.emulator!
const D = 8

const { provider, collection, cleanup } = await freshProvider(target, D, { timeoutMs: 500 })
t.teardown(cleanup)
const chunk = makeChunk(D, { user_id: 1, file_id: 1, chunk_index: 0 })
await provider.upsert([chunk])

/** One call of every provider operation. */
function everyOperation(p: VectorProvider): Array<[string, () => Promise<unknown>]> {
  return [
    [
      'init',
      async () => {
        await p.init()
      }
    ],
    ['upsert', async () => await p.upsert([chunk])],
    ['upsert insertOnly', async () => await p.upsert([chunk], { insertOnly: true })],
    ['search', async () => await p.search({ user_id: 1, vector: chunk.vector, limit: 5, min_score: 0 })],
    ['list', async () => await p.list(1, 1, true)],
    ['updateGroupKey', async () => await p.updateGroupKey(1, 1, 'g')],
    ['delete', async () => await p.delete({ user_id: 1, file_ids: [2] })],
    ['deleteKeys', async () => await p.deleteKeys(1, [{ file_id: 2, chunk_index: 0 }])],
    ['keys', async () => await p.keys({ user_id: 1 })],
    ['count', async () => await p.count({ user_id: 1 })],
    ['users', async () => await p.users()],
    ['scan', async () => await p.scan(1, null, 10)]
  ]
}

async function expectDown(t: TapTest, reason: RegExp, code = 'VG_PROVIDER_DOWN'): Promise<void> {
  for (const [name, op] of everyOperation(provider)) {
    const err = await op().then(
      () => null,
      (e: unknown) => e as Error & { statusCode?: number; code?: string }
    )
    t.ok(isProviderDown(err), `${name}: provider down`)
    t.equal(err?.code, code, `${name}: ${code}`)
    t.equal(err?.statusCode, 503, `${name}: 503`)
    t.match(err?.message, /Vector provider qdrant (is unavailable|did not answer in time)/, `${name}: names qdrant`)
    // The why stays out of the answer (no driver internals) and in the cause, which is logged.
    t.notMatch(err?.message, reason, `${name}: the answer has no driver text`)
    t.match((err?.cause as Error | undefined)?.message, reason, `${name}: the cause says why`)
  }
  const h = await provider.health()
  t.equal(h.status, 'disconnected', 'health: disconnected')
  t.match(h.error, reason)
}

async function expectWorking(t: TapTest): Promise<void> {
  t.equal((await provider.health()).status, 'connected', 'health: connected again')
  for (const [name, op] of everyOperation(provider)) await t.resolves(op(), `${name} works again, same provider`)
  t.equal((await provider.list(1, 1, false)).length, 1, 'the data is still there')
}

t.test('connection refused, then back up', async t => {
  await emulator.faults.down()
  await expectDown(t, /ECONNREFUSED|fetch failed/)
  await emulator.faults.up()
  await expectWorking(t)
})

t.test('connections reset, then back up', async t => {
  await emulator.faults.down({ mode: 'reset' })
  await expectDown(t, /fetch failed|ECONNRESET|socket|closed/i)
  await emulator.faults.up()
  await expectWorking(t)
})

t.test('no answer within the timeout', async t => {
  emulator.faults.slow(1500)
  await expectDown(t, /no answer within 500 ms/, 'VG_PROVIDER_TIMEOUT')
  emulator.faults.slow(0)
  await new Promise(resolve => setTimeout(resolve, 1600)) // let the held requests drain
  await expectWorking(t)
})

t.test('5xx, 429 and 503 answers', async t => {
  for (const status of [500, 502, 503, 429]) {
    emulator.faults.fail(status)
    await expectDown(t, new RegExp(`HTTP ${status}|Rate limiting|emulated failure`))
    await emulator.faults.reset()
  }
  await expectWorking(t)
})

t.test('a failure on one request only fails that call', async t => {
  emulator.faults.fail(500, { times: 1, match: r => r.path.endsWith('/points/query') })
  await t.rejects(provider.search({ user_id: 1, vector: chunk.vector, limit: 5, min_score: 0 }), {
    code: 'VG_PROVIDER_DOWN'
  })
  t.equal(
    (await provider.search({ user_id: 1, vector: chunk.vector, limit: 5, min_score: 0 })).length,
    1,
    'the next search works'
  )
})

t.test('a collection deleted under the gateway that cannot be recreated: provider down, health says why', async t => {
  // the recreation itself (issue 13) is in collection-loss.test.ts; here creating it fails
  const other = await freshProvider(target, D, { error: () => {} })
  t.teardown(other.cleanup)
  await rawClient(target).deleteCollection(other.collection)
  const creates = (r: { method: string; path: string }): boolean =>
    r.method === 'PUT' && r.path === `/collections/${other.collection}`
  emulator.faults.fail(500, { times: 2, match: creates })
  await t.rejects(other.provider.search({ user_id: 1, vector: chunk.vector, limit: 5, min_score: 0 }), {
    code: 'VG_PROVIDER_DOWN',
    cause: { message: /create collection/ }
  })
  t.match(await other.provider.health(), { status: 'disconnected', error: /does not exist and could not be recreated/ })
  t.equal(await other.provider.count(), 0, 'the next call recreates it')
  t.equal(other.provider.collectionRecreations.count, 1)
})

t.test('a 404 that is not about the collection is not taken for a lost collection', async t => {
  emulator.faults.fail(404, { times: 1, match: r => r.path.endsWith('/points/query') })
  await t.rejects(provider.search({ user_id: 1, vector: chunk.vector, limit: 5, min_score: 0 }), {
    code: 'VG_PROVIDER_DOWN',
    cause: { message: /HTTP 404/ }
  })
  t.equal(provider.collectionRecreations.count, 0)
})

t.test('a 4xx that means a gateway bug stays an error (500)', async t => {
  const err = await provider.upsert([{ ...chunk, vector: [1, 2, 3] }]).then(
    () => null,
    (e: unknown) => e as Error & { code?: string; statusCode?: number }
  )
  t.equal(err?.code, 'VG_INTERNAL', 'a wrong vector dimension reaching Qdrant is our bug')
  t.equal(err?.statusCode, 500)
  t.match(err?.message, /HTTP 400.*Vector dimension error: expected dim: 8, got 3/)
  t.equal((await provider.list(1, 1, false)).length, 1, 'nothing changed')
  t.equal(collection.length > 0, true)
})

t.test('Qdrant down while the provider is constructed: no unhandled rejection, no noise', async t => {
  await emulator.faults.down()
  t.teardown(() => emulator.faults.up())
  const warned: unknown[] = []
  const origWarn = console.warn
  console.warn = (...args: unknown[]) => {
    warned.push(args)
  }
  t.teardown(() => {
    console.warn = origWarn
  })
  const late = await freshProvider(target, D, { init: false })
  t.teardown(late.cleanup)
  await new Promise(resolve => setTimeout(resolve, 100))
  t.same(warned, [], 'the constructor does not call Qdrant')
  await t.rejects(late.provider.init(), { code: 'VG_PROVIDER_DOWN' }, 'init reports it as down (the gateway retries)')
  await emulator.faults.up()
  await late.provider.init()
  t.equal(await late.provider.count(), 0, 'and succeeds once Qdrant is up')
})
