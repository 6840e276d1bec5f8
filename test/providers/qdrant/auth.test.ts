// QDRANT_API_KEY: sent as the `api-key` header on every request; a wrong or
// missing key is an outage of Qdrant (503 naming qdrant), not a gateway bug.
import t from 'tap'
import { QdrantProvider } from '../../../src/providers/qdrant/qdrant-provider.ts'
import { isProviderDown } from '../../../src/errors.ts'
import { makeChunk } from '../provider-contract.ts'
import { freshProvider, qdrantTarget, uniqueCollection } from './setup.ts'

const KEY = 'emulator-secret-key-123'
const target = await qdrantTarget({ apiKey: KEY, forceEmulator: true })
t.teardown(() => target.close())
const emulator = target.emulator!

t.test('the configured key is sent and accepted', async t => {
  const headers: Array<string | string[] | undefined> = []
  emulator.onExchange = x => {
    headers.push(x.requestHeaders['api-key'])
  }
  t.teardown(() => {
    emulator.onExchange = undefined
  })
  const { provider, cleanup } = await freshProvider(target, 8)
  t.teardown(cleanup)
  const c = makeChunk(8, { user_id: 1, file_id: 1, chunk_index: 0 })
  t.equal(await provider.upsert([c]), 1)
  t.equal((await provider.search({ user_id: 1, vector: c.vector, limit: 1, min_score: 0.5 })).length, 1)
  t.equal((await provider.health()).status, 'connected')
  t.ok(headers.length > 5 && headers.every(h => h === KEY), `api-key on all ${headers.length} requests`)
})

t.test('a missing or wrong key: provider down, with a hint', async t => {
  for (const apiKey of [undefined, 'wrong-key']) {
    const provider = new QdrantProvider({
      url: target.url,
      apiKey,
      collection: uniqueCollection(),
      dimension: 8,
      timeoutMs: 2000
    })
    const err = await provider.init().then(
      () => null,
      (e: unknown) => e as Error & { code?: string; statusCode?: number }
    )
    t.ok(isProviderDown(err), `init with ${apiKey ?? 'no key'}: VG_PROVIDER_DOWN`)
    t.equal(err?.statusCode, 503)
    t.match(err?.message, /qdrant/)
    // the hint is for the operator: in the cause (logged), not in an HTTP answer
    t.match((err?.cause as Error | undefined)?.message, /HTTP 401.*QDRANT_API_KEY/s)
    const h = await provider.health()
    t.equal(h.status, 'disconnected', 'health: disconnected')
    t.match(h.error, /401/)
  }
})
