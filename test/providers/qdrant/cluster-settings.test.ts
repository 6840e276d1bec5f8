// Qdrant collection settings for a cluster and large data (issue 10 §4): each an
// environment variable, validated, sent exactly as Qdrant's OpenAPI document says
// (request bodies checked against CreateCollection / QueryRequest / ReadConsistency,
// with undeclared fields refused), absent when unset, and an existing collection
// that differs is reported (provider, log, admin status), never changed.
import t from 'tap'
import { startQdrantEmulator, type Exchange } from '@vector-gateway/qdrant-emulator'
import { loadQdrantOpenApi } from '@vector-gateway/qdrant-emulator/openapi'
import { buildTestGateway } from '../../helpers/app.ts'
import { loadConfig } from '../../../src/config.ts'
import { QdrantProvider } from '../../../src/providers/qdrant/qdrant-provider.ts'
import {
  collectionSettingsFromConfig,
  searchSettingsFromConfig
} from '../../../src/providers/qdrant/collection-settings.ts'
import { rawClient, uniqueCollection } from './setup.ts'

const DIM = 4
const BASE = { AUTH_DISABLED: 'true', QDRANT_URL: 'http://127.0.0.1:1' }
const FULL = {
  QDRANT_SHARD_NUMBER: '6',
  QDRANT_REPLICATION_FACTOR: '3',
  QDRANT_WRITE_CONSISTENCY_FACTOR: '2',
  QDRANT_VECTORS_ON_DISK: 'true',
  QDRANT_HNSW_ON_DISK: 'true',
  QDRANT_HNSW_M: '32',
  QDRANT_HNSW_EF_CONSTRUCT: '200',
  QDRANT_SCALAR_QUANTIZATION: 'true',
  QDRANT_QUANTIZATION_QUANTILE: '0.99',
  QDRANT_QUANTIZATION_ALWAYS_RAM: 'true',
  QDRANT_READ_CONSISTENCY: 'majority',
  QDRANT_HNSW_EF: '128'
}

const openapi = loadQdrantOpenApi()

function providerFor(
  url: string,
  collection: string,
  env: Record<string, string>,
  warnings: string[] = []
): QdrantProvider {
  const config = loadConfig({ ...BASE, ...env })
  return new QdrantProvider({
    url,
    collection,
    dimension: DIM,
    timeoutMs: 5000,
    warn: m => {
      warnings.push(m)
    },
    collectionSettings: collectionSettingsFromConfig(config),
    searchSettings: searchSettingsFromConfig(config)
  })
}

async function recordingEmulator(t: {
  teardown(fn: () => unknown): void
}): Promise<{ url: string; exchanges: Exchange[] }> {
  const exchanges: Exchange[] = []
  const emu = await startQdrantEmulator({
    onExchange: ex => {
      exchanges.push(ex)
    }
  })
  t.teardown(async () => {
    await emu.close()
  })
  return { url: emu.url, exchanges }
}

const only = (exchanges: Exchange[], method: string, re: RegExp): Exchange[] =>
  exchanges.filter(e => e.method === method && re.test(e.path))

t.test('configuration: every setting is validated and named when wrong', async t => {
  const unset = loadConfig(BASE)
  t.same(
    collectionSettingsFromConfig(unset),
    {
      shardNumber: undefined,
      replicationFactor: undefined,
      writeConsistencyFactor: undefined,
      vectorsOnDisk: undefined,
      hnswOnDisk: undefined,
      hnswM: undefined,
      hnswEfConstruct: undefined,
      scalarQuantization: undefined,
      quantizationQuantile: undefined,
      quantizationAlwaysRam: undefined
    },
    'unset: nothing configured (Qdrant defaults apply)'
  )
  t.same(searchSettingsFromConfig(unset), { consistency: undefined, hnswEf: undefined })
  t.same(
    searchSettingsFromConfig(loadConfig({ ...BASE, QDRANT_READ_CONSISTENCY: '2' })).consistency,
    2,
    'a replica count is a number'
  )
  const bad: Array<[Record<string, string>, RegExp]> = [
    [{ QDRANT_SHARD_NUMBER: '0' }, /QDRANT_SHARD_NUMBER/],
    [{ QDRANT_REPLICATION_FACTOR: 'two' }, /QDRANT_REPLICATION_FACTOR/],
    [{ QDRANT_HNSW_EF_CONSTRUCT: '3' }, /QDRANT_HNSW_EF_CONSTRUCT/],
    [{ QDRANT_HNSW_M: '-1' }, /QDRANT_HNSW_M/],
    [{ QDRANT_HNSW_EF: '0' }, /QDRANT_HNSW_EF/],
    [{ QDRANT_VECTORS_ON_DISK: 'maybe' }, /QDRANT_VECTORS_ON_DISK/],
    [{ QDRANT_READ_CONSISTENCY: 'most' }, /QDRANT_READ_CONSISTENCY/],
    [{ QDRANT_READ_CONSISTENCY: '0' }, /QDRANT_READ_CONSISTENCY/],
    [{ QDRANT_SCALAR_QUANTIZATION: 'true', QDRANT_QUANTIZATION_QUANTILE: '0.4' }, /QDRANT_QUANTIZATION_QUANTILE/],
    [{ QDRANT_QUANTIZATION_QUANTILE: '0.99' }, /QDRANT_QUANTIZATION_QUANTILE needs QDRANT_SCALAR_QUANTIZATION=true/],
    [
      { QDRANT_REPLICATION_FACTOR: '2', QDRANT_WRITE_CONSISTENCY_FACTOR: '3' },
      /QDRANT_WRITE_CONSISTENCY_FACTOR must not exceed QDRANT_REPLICATION_FACTOR/
    ]
  ]
  for (const [env, message] of bad) {
    t.throws(() => loadConfig({ ...BASE, ...env }), { code: 'VG_CONFIG_INVALID', message }, JSON.stringify(env))
  }
})

t.test(
  "request bodies match Qdrant's OpenAPI document",
  { skip: openapi === null ? 'Qdrant OpenAPI document not found' : false },
  async t => {
    const doc = openapi!
    const createCollection = doc.component('CreateCollection')
    const queryRequest = doc.component('QueryRequest')
    const readConsistency = doc.component('ReadConsistency')
    const queryOp = doc.spec.paths['/collections/{collection_name}/points/query'].post
    t.ok(
      queryOp.parameters.some((p: { name: string; in: string }) => p.name === 'consistency' && p.in === 'query'),
      'consistency is a query parameter of the query endpoint'
    )

    t.test('all settings set', async t => {
      const { url, exchanges } = await recordingEmulator(t)
      const collection = uniqueCollection()
      const provider = providerFor(url, collection, FULL)
      await provider.init()
      const [put] = only(exchanges, 'PUT', new RegExp(`^/collections/${collection}$`))
      const body = JSON.parse(put.requestBody)
      t.ok(createCollection(body), 'CreateCollection', { errors: createCollection.errors })
      t.same(
        body,
        {
          vectors: { size: DIM, distance: 'Cosine', on_disk: true },
          shard_number: 6,
          replication_factor: 3,
          write_consistency_factor: 2,
          hnsw_config: { m: 32, ef_construct: 200, on_disk: true },
          quantization_config: { scalar: { type: 'int8', quantile: 0.99, always_ram: true } }
        },
        'the configured settings, exactly'
      )
      t.same(provider.configDrift, [], 'the collection it created has the settings (read back from GET collection)')

      await provider.search({ user_id: 1, vector: [1, 0, 0, 0], limit: 3, min_score: 0 })
      const [query] = only(exchanges, 'POST', /\/points\/query$/)
      const q = JSON.parse(query.requestBody)
      t.ok(queryRequest(q), 'QueryRequest', { errors: queryRequest.errors })
      t.same(q.params, { hnsw_ef: 128 }, 'hnsw_ef in params (SearchParams)')
      t.notOk('consistency' in q, 'consistency is not a body field')
      const consistency = new URLSearchParams(query.query).get('consistency')
      t.equal(consistency, 'majority')
      t.ok(readConsistency(consistency), 'ReadConsistency')
    })

    t.test('a numeric read consistency', async t => {
      const { url, exchanges } = await recordingEmulator(t)
      const provider = providerFor(url, uniqueCollection(), { QDRANT_READ_CONSISTENCY: '2' })
      await provider.init()
      await provider.search({ user_id: 1, vector: [1, 0, 0, 0], limit: 3, min_score: 0 })
      const [query] = only(exchanges, 'POST', /\/points\/query$/)
      const value = new URLSearchParams(query.query).get('consistency')
      t.equal(value, '2')
      t.ok(readConsistency(Number(value)), 'ReadConsistency (an integer)')
      t.notOk(readConsistency(0), 'the validator does refuse a bad value')
    })

    t.test('nothing set: nothing sent', async t => {
      const { url, exchanges } = await recordingEmulator(t)
      const collection = uniqueCollection()
      const provider = providerFor(url, collection, {})
      await provider.init()
      const body = JSON.parse(only(exchanges, 'PUT', new RegExp(`^/collections/${collection}$`))[0].requestBody)
      t.same(body, { vectors: { size: DIM, distance: 'Cosine' } }, 'only the vector parameters')
      t.ok(createCollection(body))
      await provider.search({ user_id: 1, vector: [1, 0, 0, 0], limit: 3, min_score: 0 })
      const [query] = only(exchanges, 'POST', /\/points\/query$/)
      t.notOk('params' in JSON.parse(query.requestBody), 'no params')
      t.equal(new URLSearchParams(query.query).get('consistency'), null, 'no consistency')
    })

    t.test('the strict validator refuses a field the document does not declare', async t => {
      t.notOk(createCollection({ vectors: { size: 4, distance: 'Cosine' }, shards: 2 }), 'unknown top-level field')
      t.notOk(
        createCollection({ vectors: { size: 4, distance: 'Cosine' }, hnsw_config: { ef: 2 } }),
        'unknown nested field'
      )
      t.notOk(createCollection({ vectors: { size: 4, distance: 'Cosine' }, shard_number: 0 }), 'below the minimum')
    })
  }
)

t.test('an existing collection with other settings is reported, not changed', async t => {
  const { url, exchanges } = await recordingEmulator(t)
  const collection = uniqueCollection()
  await providerFor(url, collection, {}).init() // created with Qdrant's defaults
  const warnings: string[] = []
  const provider = providerFor(url, collection, FULL, warnings)
  const before = exchanges.length
  await provider.init()
  t.same(only(exchanges.slice(before), 'PUT', new RegExp(`^/collections/${collection}$`)), [], 'not recreated')
  t.same(only(exchanges.slice(before), 'PATCH', /^\/collections\//), [], 'not updated')
  t.same(provider.configDrift, [
    { setting: 'shard_number', env: 'QDRANT_SHARD_NUMBER', configured: 6, actual: 1 },
    { setting: 'replication_factor', env: 'QDRANT_REPLICATION_FACTOR', configured: 3, actual: 1 },
    { setting: 'write_consistency_factor', env: 'QDRANT_WRITE_CONSISTENCY_FACTOR', configured: 2, actual: 1 },
    { setting: 'vectors.on_disk', env: 'QDRANT_VECTORS_ON_DISK', configured: true, actual: false },
    { setting: 'hnsw_config.on_disk', env: 'QDRANT_HNSW_ON_DISK', configured: true, actual: false },
    { setting: 'hnsw_config.m', env: 'QDRANT_HNSW_M', configured: 32, actual: 16 },
    { setting: 'hnsw_config.ef_construct', env: 'QDRANT_HNSW_EF_CONSTRUCT', configured: 200, actual: 100 },
    { setting: 'quantization_config.scalar', env: 'QDRANT_SCALAR_QUANTIZATION', configured: true, actual: false }
  ])
  t.equal(warnings.length, 1, 'one warning')
  t.match(
    warnings[0],
    /differs from the configured settings \(left as it is\).*shard_number is 1, QDRANT_SHARD_NUMBER says 6/
  )
  const info = await rawClient({ url, close: async () => {} }).getCollection(collection)
  t.equal(info.config.params.shard_number, 1, 'the collection keeps its settings')
  t.equal(info.config.quantization_config, null)

  // quantization switched off in the configuration, on in the collection
  const quantized = uniqueCollection()
  await providerFor(url, quantized, { QDRANT_SCALAR_QUANTIZATION: 'true', QDRANT_QUANTIZATION_QUANTILE: '0.95' }).init()
  const off = providerFor(url, quantized, { QDRANT_SCALAR_QUANTIZATION: 'false' })
  await off.init()
  t.same(off.configDrift, [
    { setting: 'quantization_config.scalar', env: 'QDRANT_SCALAR_QUANTIZATION', configured: false, actual: true }
  ])
  const otherQuantile = providerFor(url, quantized, {
    QDRANT_SCALAR_QUANTIZATION: 'true',
    QDRANT_QUANTIZATION_QUANTILE: '0.99'
  })
  await otherQuantile.init()
  t.same(otherQuantile.configDrift, [
    {
      setting: 'quantization_config.scalar.quantile',
      env: 'QDRANT_QUANTIZATION_QUANTILE',
      configured: 0.99,
      actual: 0.95
    }
  ])

  // wrong size is still refused, drift or not
  await t.rejects(new QdrantProvider({ url, collection, dimension: DIM + 1, timeoutMs: 5000, warn: () => {} }).init(), {
    code: 'VG_INCOMPATIBLE_STORE'
  })
})

t.test('the admin status shows the drift', async t => {
  const emu = await startQdrantEmulator()
  t.teardown(async () => {
    await emu.close()
  })
  const collection = uniqueCollection()
  await rawClient({ url: emu.url, close: async () => {} }).createCollection(collection, {
    vectors: { size: 8, distance: 'Cosine' }
  })
  const gw = await buildTestGateway(t, {
    qdrant: emu,
    env: { QDRANT_COLLECTION: collection, QDRANT_SHARD_NUMBER: '3', QDRANT_HNSW_M: '16' }
  })
  const res = await gw.app.inject({ method: 'GET', url: '/admin/vector-storage/status', headers: gw.admin })
  t.equal(res.statusCode, 200)
  t.same(
    res.json().providers.qdrant.config_drift,
    [{ setting: 'shard_number', env: 'QDRANT_SHARD_NUMBER', configured: 3, actual: 1 }],
    'm=16 matches; shard_number differs'
  )
})
