// Cluster and large-data settings of the Qdrant collection the gateway creates,
// and the search-time read settings (issue 10 §4).
//
// A setting left unset is NOT sent: Qdrant then applies its own default, which
// for shard_number depends on the cluster size (1 standalone, the number of
// nodes in distributed mode), so "not sent" is the only faithful default.
// Only settings that are set are compared with an existing collection; a
// difference is reported (config drift), never changed: resharding or
// re-quantizing a live collection is an operator's decision.
//
// Field names and shapes follow Qdrant's OpenAPI document (v1.19): CreateCollection
// (shard_number, replication_factor, write_consistency_factor, vectors.on_disk,
// hnsw_config {m, ef_construct, on_disk}, quantization_config {scalar {type: int8,
// quantile, always_ram}}), QueryRequest.params.hnsw_ef and the `consistency`
// query parameter (ReadConsistency). `on_disk` and `always_ram` are deprecated in
// 1.19 in favour of `memory`, but are what every supported server (>= 1.13) reads.
import type { Schemas } from '@qdrant/js-client-rest'
import type { Config } from '../../config.ts'

export interface QdrantCollectionSettings {
  shardNumber?: number
  replicationFactor?: number
  writeConsistencyFactor?: number
  vectorsOnDisk?: boolean
  hnswOnDisk?: boolean
  hnswM?: number
  hnswEfConstruct?: number
  /** true: int8 scalar quantization; false: none (only compared, nothing to send) */
  scalarQuantization?: boolean
  quantizationQuantile?: number
  quantizationAlwaysRam?: boolean
}

export type ReadConsistency = number | 'majority' | 'quorum' | 'all'

export interface QdrantSearchSettings {
  consistency?: ReadConsistency
  hnswEf?: number
}

/** One configured collection setting that the existing collection does not have. */
export interface ConfigDrift {
  setting: string
  env: string
  configured: number | boolean | string
  actual: number | boolean | string | null
}

export function collectionSettingsFromConfig(config: Config): QdrantCollectionSettings {
  return {
    shardNumber: config.QDRANT_SHARD_NUMBER,
    replicationFactor: config.QDRANT_REPLICATION_FACTOR,
    writeConsistencyFactor: config.QDRANT_WRITE_CONSISTENCY_FACTOR,
    vectorsOnDisk: config.QDRANT_VECTORS_ON_DISK,
    hnswOnDisk: config.QDRANT_HNSW_ON_DISK,
    hnswM: config.QDRANT_HNSW_M,
    hnswEfConstruct: config.QDRANT_HNSW_EF_CONSTRUCT,
    scalarQuantization: config.QDRANT_SCALAR_QUANTIZATION,
    quantizationQuantile: config.QDRANT_QUANTIZATION_QUANTILE,
    quantizationAlwaysRam: config.QDRANT_QUANTIZATION_ALWAYS_RAM
  }
}

export function searchSettingsFromConfig(config: Config): QdrantSearchSettings {
  const c = config.QDRANT_READ_CONSISTENCY
  return {
    consistency: c === undefined ? undefined : /^\d+$/.test(c) ? Number(c) : (c as ReadConsistency),
    hnswEf: config.QDRANT_HNSW_EF
  }
}

/** Drops undefined members, so an unset setting is absent from the JSON body. */
function defined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T
}

/** The PUT /collections/{name} body: one unnamed cosine vector plus the settings that are set. */
export function createCollectionBody(dimension: number, s: QdrantCollectionSettings = {}): Schemas['CreateCollection'] {
  const hnsw = defined({ m: s.hnswM, ef_construct: s.hnswEfConstruct, on_disk: s.hnswOnDisk })
  const scalar = defined({
    type: 'int8' as const,
    quantile: s.quantizationQuantile,
    always_ram: s.quantizationAlwaysRam
  })
  return defined({
    vectors: defined({ size: dimension, distance: 'Cosine' as const, on_disk: s.vectorsOnDisk }),
    shard_number: s.shardNumber,
    replication_factor: s.replicationFactor,
    write_consistency_factor: s.writeConsistencyFactor,
    hnsw_config: Object.keys(hnsw).length > 0 ? hnsw : undefined,
    quantization_config: s.scalarQuantization === true ? { scalar } : undefined
  })
}

/** What a query request carries besides the query itself: `consistency` (a query parameter) and `params`. */
export function searchRequestExtras(s: QdrantSearchSettings = {}): {
  consistency?: ReadConsistency
  params?: Schemas['SearchParams']
} {
  return defined({
    consistency: s.consistency,
    params: s.hnswEf !== undefined ? { hnsw_ef: s.hnswEf } : undefined
  })
}

/** The configured settings an existing collection does not match (unset settings are not compared). */
export function collectionDrift(s: QdrantCollectionSettings, info: Schemas['CollectionInfo']): ConfigDrift[] {
  const params = info.config.params
  const vectors = (params.vectors ?? {}) as Partial<Schemas['VectorParams']>
  const hnsw = info.config.hnsw_config
  const quantization = info.config.quantization_config as Partial<Schemas['ScalarQuantization']> | null | undefined
  const scalar = quantization?.scalar
  const out: ConfigDrift[] = []
  const check = (setting: string, env: string, configured: number | boolean | undefined, actual: unknown): void => {
    if (configured === undefined) return
    const have = actual === undefined ? null : (actual as ConfigDrift['actual'])
    if (have !== configured) out.push({ setting, env, configured, actual: have })
  }
  check('shard_number', 'QDRANT_SHARD_NUMBER', s.shardNumber, params.shard_number)
  check('replication_factor', 'QDRANT_REPLICATION_FACTOR', s.replicationFactor, params.replication_factor)
  check(
    'write_consistency_factor',
    'QDRANT_WRITE_CONSISTENCY_FACTOR',
    s.writeConsistencyFactor,
    params.write_consistency_factor
  )
  // Qdrant reports on_disk only when it was set: absent means the in-RAM default
  check('vectors.on_disk', 'QDRANT_VECTORS_ON_DISK', s.vectorsOnDisk, vectors.on_disk ?? false)
  check('hnsw_config.on_disk', 'QDRANT_HNSW_ON_DISK', s.hnswOnDisk, hnsw.on_disk ?? false)
  check('hnsw_config.m', 'QDRANT_HNSW_M', s.hnswM, hnsw.m)
  check('hnsw_config.ef_construct', 'QDRANT_HNSW_EF_CONSTRUCT', s.hnswEfConstruct, hnsw.ef_construct)
  // true for scalar quantization, false for none, another kind's name (e.g. "product") for that kind
  const quantized =
    scalar !== undefined
      ? true
      : quantization === null || quantization === undefined
        ? false
        : Object.keys(quantization)[0]
  check('quantization_config.scalar', 'QDRANT_SCALAR_QUANTIZATION', s.scalarQuantization, quantized ?? null)
  if (s.scalarQuantization === true && scalar !== undefined) {
    check(
      'quantization_config.scalar.quantile',
      'QDRANT_QUANTIZATION_QUANTILE',
      s.quantizationQuantile,
      scalar.quantile ?? null
    )
    check(
      'quantization_config.scalar.always_ram',
      'QDRANT_QUANTIZATION_ALWAYS_RAM',
      s.quantizationAlwaysRam,
      scalar.always_ram ?? null
    )
  }
  return out
}
