// Issue 13 §3: a Qdrant collection that disappears (Qdrant restarted empty, or the
// collection dropped by hand) is recreated on the next call that finds it missing,
// with the configured vectors and every payload index, once however many calls
// notice at the same time; the call is then retried, so reads of users with nothing
// in Qdrant answer empty instead of 503 until a restart. The collection is dropped
// over HTTP with the official client, as an operator would.
import t from 'tap'
import { PAYLOAD_INDEXES } from '../../../src/providers/qdrant/qdrant-provider.ts'
import { buildTestGateway } from '../../helpers/app.ts'
import { axisVector, chunk } from '../../helpers/chunks.ts'
import { client } from '../../helpers/gateway-client.ts'
import { makeChunk } from '../provider-contract.ts'
import { freshProvider, qdrantTarget, rawClient } from './setup.ts'

const D = 8

t.test(
  'provider: every call after a drop recreates the collection once, with its payload indexes, and succeeds',
  async t => {
    const target = await qdrantTarget()
    t.teardown(target.close)
    const errors: string[] = []
    const { provider, collection, cleanup } = await freshProvider(target, D, {
      error: (m: string) => {
        errors.push(m)
      }
    })
    t.teardown(cleanup)
    const raw = rawClient(target)
    const c1 = makeChunk(D, { user_id: 1, file_id: 1, chunk_index: 0 })
    t.equal(provider.collectionRecreations.count, 0)

    const calls: Array<[string, () => Promise<unknown>]> = [
      ['count', async () => await provider.count({ user_id: 2 })],
      ['keys', async () => await provider.keys({ user_id: 2 })],
      ['list', async () => await provider.list(2, 1, false)],
      ['search', async () => await provider.search({ user_id: 2, vector: c1.vector, limit: 5, min_score: 0 })],
      ['delete', async () => await provider.delete({ user_id: 2 })],
      ['deleteKeys', async () => await provider.deleteKeys(2, [{ file_id: 1, chunk_index: 0 }])],
      ['updateGroupKey', async () => await provider.updateGroupKey(2, 1, 'G')],
      ['users', async () => await provider.users()],
      ['scan', async () => await provider.scan(2, null, 10)],
      ['upsert', async () => await provider.upsert([c1])],
      ['insertOnly', async () => await provider.upsert([c1], { insertOnly: true })]
    ]
    for (const [name, call] of calls) {
      await provider.upsert([c1])
      await raw.deleteCollection(collection)
      await t.resolves(call(), `${name} succeeds after the collection was dropped`)
      t.ok((await raw.collectionExists(collection)).exists, `${name}: the collection is back`)
    }
    t.equal(provider.collectionRecreations.count, calls.length, 'one recreation per drop')
    t.type(provider.collectionRecreations.lastAt, Date)
    t.equal(errors.length, calls.length, 'each recreation logged once, at error level')
    t.match(errors[0], new RegExp(`collection ${collection}.*(missing|does not exist).*recreated`, 'i'))

    const info = await raw.getCollection(collection)
    t.match(info.config.params.vectors, { size: D, distance: 'Cosine' }, 'the configured vectors')
    t.same(
      Object.keys(info.payload_schema ?? {}).sort(),
      PAYLOAD_INDEXES.map(i => i.field).sort(),
      'every payload index'
    )
    t.same(
      (await provider.list(1, 1, false)).map(c => c.text),
      [c1.text],
      'the write after the last drop is there'
    )
  }
)

t.test('provider: many calls noticing the same drop make one recreation', async t => {
  const target = await qdrantTarget()
  t.teardown(target.close)
  const { provider, collection, cleanup } = await freshProvider(target, D, { error: () => {} })
  t.teardown(cleanup)
  await rawClient(target).deleteCollection(collection)
  const counts = await Promise.all(Array.from({ length: 12 }, async (_, i) => await provider.count({ user_id: i + 1 })))
  t.same(counts, new Array(12).fill(0))
  t.equal(provider.collectionRecreations.count, 1)
})

t.test('provider: health finds the collection missing, recreates it and reports connected', async t => {
  const target = await qdrantTarget()
  t.teardown(target.close)
  const { provider, collection, cleanup } = await freshProvider(target, D, { error: () => {} })
  t.teardown(cleanup)
  await rawClient(target).deleteCollection(collection)
  t.equal((await provider.health()).status, 'connected')
  t.ok((await rawClient(target).collectionExists(collection)).exists)
  t.equal(provider.collectionRecreations.count, 1)
})

t.test(
  'gateway: after the collection is dropped, stats, lists, deletes, searches and writes work without a restart',
  async t => {
    const gw = await buildTestGateway(t, { qdrant: true })
    const c = client(gw)
    t.equal((await c.switchTo('qdrant')).statusCode, 200)
    t.equal((await c.store([chunk(1, 10, 0), chunk(1, 10, 1)])).statusCode, 200)
    const raw = rawClient({ url: gw.config.QDRANT_URL!, close: async () => {} })
    const collection = gw.config.QDRANT_COLLECTION
    t.ok(await raw.deleteCollection(collection), 'dropped by hand')

    const stats = await c.stats(2)
    t.equal(stats.statusCode, 200, `stats of a user with nothing in Qdrant: ${stats.body}`)
    t.match(stats.json(), { total_chunks: 0 })
    const list = await c.list(1, 10)
    t.equal(list.statusCode, 200, list.body)
    t.same(list.json().chunks, [], 'the lost chunks are gone, and the answer says so instead of 503')
    t.equal((await c.search({ user_id: 1, vector: axisVector(0) })).statusCode, 200)
    t.equal((await c.remove('user_id=3')).statusCode, 200)
    t.equal((await c.patch({ user_id: 1, file_id: 10, group_key: 'G' })).statusCode, 200)
    t.equal((await c.store([chunk(1, 10, 0, { text: 'again' })])).statusCode, 200)
    t.same(
      (await c.list(1, 10)).json().chunks.map((x: { text: string }) => x.text),
      ['again']
    )

    const info = await raw.getCollection(collection)
    t.same(
      Object.keys(info.payload_schema ?? {}).sort(),
      PAYLOAD_INDEXES.map(i => i.field).sort(),
      'payload indexes recreated'
    )
    const status = (await c.status()).json()
    t.equal(status.providers.qdrant.status, 'connected')
    t.equal(status.providers.qdrant.collection_recreations, 1, 'the status reports the recreation')
    t.type(status.providers.qdrant.collection_recreated_at, 'string')
  }
)
