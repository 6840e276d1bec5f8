// init(): creates the collection and its payload indexes, accepts a compatible
// existing collection, refuses an incompatible one with a message naming both
// sides, and refuses a Qdrant older than 1.13.
import t from 'tap'
import { QdrantProvider, PAYLOAD_INDEXES } from '../../../src/providers/qdrant/qdrant-provider.ts'
import type { TapTest } from '../provider-contract.ts'
import { freshProvider, qdrantTarget, rawClient, uniqueCollection } from './setup.ts'
import { versionProxy } from './version-proxy.ts'

const target = await qdrantTarget()
t.teardown(() => target.close())
const client = rawClient(target)

async function dropLater(t: TapTest, name: string): Promise<void> {
  t.teardown(async () => {
    try {
      await client.deleteCollection(name)
    } catch {
      /* gone */
    }
  })
}

// A provider on `collection` as the gateway would configure it (16 dimensions unless said otherwise).
function providerOn(
  collection: string,
  options: { dimension?: number; url?: string; warn?: (message: string) => void } = {}
): QdrantProvider {
  return new QdrantProvider({
    url: options.url ?? target.url,
    apiKey: target.apiKey,
    collection,
    dimension: options.dimension ?? 16,
    timeoutMs: 5000,
    ...(options.warn && { warn: options.warn })
  })
}

// A collection made outside the gateway with the given vectors config, dropped when the test ends.
async function existingCollection(
  t: TapTest,
  vectors: Parameters<typeof client.createCollection>[1]['vectors']
): Promise<string> {
  const name = uniqueCollection()
  await dropLater(t, name)
  await client.createCollection(name, { vectors })
  return name
}

t.test('creates a missing collection: size, cosine, payload indexes', async t => {
  const { provider, collection, cleanup } = await freshProvider(target, 48)
  t.teardown(cleanup)
  const info = await client.getCollection(collection)
  t.same(info.config.params.vectors, { size: 48, distance: 'Cosine' }, 'one unnamed vector of VECTOR_DIMENSION, cosine')
  const schema = info.payload_schema
  t.equal(schema.user_id?.data_type, 'integer', 'user_id: integer')
  t.equal(
    (schema.user_id?.params as { is_principal?: boolean } | undefined)?.is_principal,
    true,
    'user_id is the principal (tenant) field: is_tenant exists only for keyword/uuid indexes'
  )
  t.equal(schema.file_id?.data_type, 'integer', 'file_id: integer')
  t.equal(schema.chunk_index?.data_type, 'integer', 'chunk_index: integer (ordered scans)')
  t.equal(schema.group_key?.data_type, 'keyword', 'group_key: keyword')
  t.equal(schema._point_id?.data_type, 'keyword', '_point_id: keyword')
  t.same(Object.keys(schema).sort(), PAYLOAD_INDEXES.map(i => i.field).sort(), 'no other index')

  await provider.init()
  const again = providerOn(collection, { dimension: 48 })
  await again.init()
  t.pass('init is idempotent, also from a second gateway')
  t.same(
    Object.keys((await client.getCollection(collection)).payload_schema).sort(),
    PAYLOAD_INDEXES.map(i => i.field).sort()
  )
})

t.test('an existing collection made by the application is adopted, missing indexes added', async t => {
  const name = await existingCollection(t, { size: 16, distance: 'Cosine' })
  await client.createPayloadIndex(name, { field_name: 'user_id', field_schema: 'integer', wait: true })
  await client.createPayloadIndex(name, { field_name: 'group_key', field_schema: 'keyword', wait: true })
  const provider = providerOn(name)
  await provider.init()
  const schema = (await client.getCollection(name)).payload_schema
  t.same(Object.keys(schema).sort(), PAYLOAD_INDEXES.map(i => i.field).sort(), 'the missing indexes were created')
  t.equal(schema.user_id?.data_type, 'integer', 'the existing user_id index is left as it was')
})

t.test('refuses a collection with another size', async t => {
  const name = await existingCollection(t, { size: 32, distance: 'Cosine' })
  const provider = providerOn(name)
  const err = await provider.init().then(
    () => null,
    (e: unknown) => e as Error & { code?: string }
  )
  t.equal(err?.code, 'VG_INCOMPATIBLE_STORE')
  t.match(err?.message, /size 32 with distance Cosine/, 'says what exists')
  t.match(err?.message, /size 16 with distance Cosine/, 'and what is configured')
  t.match(err?.message, new RegExp(name), 'and names the collection')
  t.same(Object.keys((await client.getCollection(name)).payload_schema), [], 'and changes nothing')
})

t.test('refuses a collection with another distance', async t => {
  const name = await existingCollection(t, { size: 16, distance: 'Dot' })
  const provider = providerOn(name)
  await t.rejects(provider.init(), {
    code: 'VG_INCOMPATIBLE_STORE',
    message: /size 16 with distance Dot.*configured for size 16 with distance Cosine/
  })
})

t.test(
  'refuses named vectors',
  { skip: target.emulator !== undefined && 'the emulator keeps one unnamed vector only' },
  async t => {
    const name = await existingCollection(t, { text: { size: 16, distance: 'Cosine' } })
    const provider = providerOn(name)
    await t.rejects(provider.init(), { code: 'VG_INCOMPATIBLE_STORE', message: /named vectors \(text\)/ })
  }
)

t.test('refuses a keyword index where ordered scans need an integer one', async t => {
  const name = await existingCollection(t, { size: 16, distance: 'Cosine' })
  await client.createPayloadIndex(name, { field_name: 'file_id', field_schema: 'keyword', wait: true })
  const provider = providerOn(name)
  await t.rejects(provider.init(), { code: 'VG_INCOMPATIBLE_STORE', message: /keyword payload index on file_id/ })
})

t.test('refuses Qdrant older than 1.13, warns below 1.17', async t => {
  const old = await versionProxy(target.url, '1.12.4')
  t.teardown(() => old.close())
  const name = uniqueCollection()
  const provider = providerOn(name, { url: old.url })
  await t.rejects(provider.init(), { code: 'VG_INCOMPATIBLE_STORE', message: /Qdrant 1\.12\.4 is too old.*>= 1\.13/ })
  t.equal((await client.collectionExists(name)).exists, false, 'nothing created')

  const older = await versionProxy(target.url, '1.16.2')
  t.teardown(() => older.close())
  await dropLater(t, name)
  const warnings: string[] = []
  const p = providerOn(name, { url: older.url, warn: m => warnings.push(m) })
  await p.init()
  t.match(warnings, [/1\.16\.2 predates update_mode/], 'a 1.16 server is used, with a warning')
})
