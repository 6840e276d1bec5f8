// VectorProvider over MariaDB >= 11.7: the application's BRAG table with the
// native VECTOR type. This class composes the parts and holds no SQL itself:
//   mariadb-server.ts   start-up and version checks, server settings, health probe
//   mariadb-schema.ts   the table: created when missing, upgraded by numbered steps
//   chunk-writes.ts     upserts, deletes, group key updates, write-conflict retries
//   chunk-reads.ts      list, keys, count, users, scan
//   search-executor.ts  search execution (plans from search-planner.ts, counts from
//                       count-cache.ts, recall shadow checks in recall-sampler.ts)
//   vector-index.ts     the VECTOR index: read, cached, created, dropped; sizing advice
//   legacy-keys.ts      chunk indexes of rows the application wrote (BCHUNK NULL)
//   brag-rows.ts        row shape, column lists, filter SQL, row -> chunk
//   mariadb-errors.ts   driver errors -> 503s (call() wraps each operation)
import type { Pool } from 'mariadb'
import type {
  ChunkFilter,
  ChunkKey,
  ChunkRecord,
  ChunkView,
  KeyInfo,
  ProviderHealth,
  SearchHit,
  SearchQuery,
  UpsertOptions,
  VectorProvider,
  VersionedKey
} from '../vector-provider.ts'
import { ChunkReads } from './chunk-reads.ts'
import { ChunkWrites, type WriteMethod } from './chunk-writes.ts'
import { CountCache } from './count-cache.ts'
import { LegacyKeys } from './legacy-keys.ts'
import { ensureBragTable } from './mariadb-schema.ts'
import { checkServer, readServerSettings, serverVersion } from './mariadb-server.ts'
import { RecallSampler, type RecallObserver } from './recall-sampler.ts'
import { SearchExecutor, type SearchStats } from './search-executor.ts'
import { INDEX_ROWS_PER_EF, type PlannerSettings } from './search-planner.ts'
import { VectorIndexAdmin, type VectorIndexInfo } from './vector-index.ts'

export type { VectorIndexInfo } from './vector-index.ts'
export type { WriteMethod } from './chunk-writes.ts'
export type { SearchPlan, SearchPlanKind, SearchStats } from './search-executor.ts'
export { parseServerVersion } from './mariadb-server.ts'

export interface MariaDbProviderOptions {
  /** Created and ended by the caller (bigIntAsNumber, insertIdAsNumber, decimalAsNumber). */
  pool: Pool
  table: string
  dimension: number
  /** Filters selecting at most this many rows are always searched with the exact plan. */
  exactSearchMaxRows: number
  /** mhnsw_ef_search floor for the vector-index plan (widened by the share rule, search-planner.ts). */
  efSearch: number
  /**
   * mhnsw_ef_search floor for index-plan searches narrowed by group or files. Default: 2x efSearch.
   */
  efSearchFiltered?: number
  /** Widest index walk the planner asks for; filters needing more are searched exactly (default 1000, at most 10000). */
  efSearchMax?: number
  /** Expected filter rows among the walk's candidates per row fetched (default 16). */
  indexSafety?: number
  /** Cost of one unit of ef in exact-row distances (default 10, measured at 1024-d; 0 = ignore cost). */
  indexRowsPerEf?: number
  /** Recall the index plan must reach where measured (default 0.99). */
  recallTarget?: number
  /** Share of index-plan searches re-run exactly in the background to measure recall (0..1, default 0 = off). */
  recallSampleRate?: number
  /** 'measured' (default): a share band gets the index plan once background probes measured it; 'share-rule': at once. */
  indexTrust?: 'measured' | 'share-rule'
  /** Receives the sampled recall measurements (the /metrics histogram). */
  recallObserver?: RecallObserver
  /** TTL of the table's row count used for the share (default 60000 ms; refreshed in the background). */
  tableCountCacheMs?: number
  /** Rows per INSERT statement (default 500). */
  batchRows?: number
  /** Bytes per INSERT statement (default: half of max_allowed_packet, at most 64 MiB). */
  maxStatementBytes?: number
  /** Default 'execute' (prepared, multi-row): the fastest measured here. */
  writeMethod?: WriteMethod
  /** TTL of the per-filter row counts that choose the search plan (default 5000 ms). */
  countCacheMs?: number
  /** TTL of the cached vector-index state, for indexes other replicas create or drop (default 30000 ms). */
  indexInfoCacheMs?: number
  /** Timeout of health() (default 2000 ms). */
  healthTimeoutMs?: number
  log?: { info: (msg: string) => void; warn: (msg: string) => void }
}

export class MariaDbProvider implements VectorProvider {
  readonly name = 'mariadb' as const
  readonly table: string
  readonly dimension: number
  readonly exactSearchMaxRows: number
  readonly efSearch: number
  readonly efSearchFiltered: number
  readonly planner: PlannerSettings
  readonly recall: RecallSampler
  readonly stats: SearchStats
  /** write conflicts (1020/1213) retried, and requests refused busy after the last attempt */
  readonly writeConflicts: { retried: number; refused: number }
  /** the search path (its plan() is what the explain helpers of tests and benchmarks show) */
  readonly searches: SearchExecutor

  private readonly pool: Pool
  private readonly maxStatementBytes?: number
  private readonly healthTimeoutMs: number
  private readonly log?: MariaDbProviderOptions['log']
  private readonly counts: CountCache
  private readonly index: VectorIndexAdmin
  private readonly reads: ChunkReads
  private readonly writes: ChunkWrites

  constructor(options: MariaDbProviderOptions) {
    this.pool = options.pool
    this.table = options.table
    if (!Number.isInteger(options.dimension) || options.dimension < 1)
      throw new Error(`invalid dimension ${options.dimension}`)
    this.dimension = options.dimension
    this.exactSearchMaxRows = options.exactSearchMaxRows
    this.efSearch = Math.max(1, Math.floor(options.efSearch))
    this.efSearchFiltered = Math.max(1, Math.floor(options.efSearchFiltered ?? this.efSearch * 2))
    this.planner = {
      exactMaxRows: this.exactSearchMaxRows,
      efSearch: this.efSearch,
      efSearchFiltered: this.efSearchFiltered,
      efSearchMax: options.efSearchMax ?? 1000,
      safety: options.indexSafety ?? 16,
      indexRowsPerEf: options.indexRowsPerEf ?? INDEX_ROWS_PER_EF,
      recallTarget: options.recallTarget ?? 0.99,
      trust: options.indexTrust ?? 'measured'
    }
    this.log = options.log
    this.recall = new RecallSampler({
      rate: options.recallSampleRate ?? 0,
      target: this.planner.recallTarget,
      observer: options.recallObserver,
      onError: err => {
        this.log?.warn(`recall check failed: ${(err as Error).message}`)
      }
    })
    this.maxStatementBytes = options.maxStatementBytes
    this.healthTimeoutMs = options.healthTimeoutMs ?? 2000

    const legacy = new LegacyKeys(this.table, this.log)
    this.reads = new ChunkReads(this.pool, this.table, legacy)
    this.counts = new CountCache({
      count: async filter => await this.reads.count(filter),
      exactMaxRows: this.exactSearchMaxRows,
      countCacheMs: options.countCacheMs ?? 5000,
      tableCountCacheMs: options.tableCountCacheMs ?? 60_000,
      log: this.log
    })
    this.index = new VectorIndexAdmin(this.pool, this.table, this.dimension, options.indexInfoCacheMs ?? 30_000)
    this.writes = new ChunkWrites({
      pool: this.pool,
      table: this.table,
      dimension: this.dimension,
      batchRows: Math.max(1, options.batchRows ?? 500),
      writeMethod: options.writeMethod ?? 'execute',
      legacy,
      counts: this.counts
    })
    this.writeConflicts = this.writes.writeConflicts
    this.searches = new SearchExecutor({
      pool: this.pool,
      table: this.table,
      dimension: this.dimension,
      planner: this.planner,
      recall: this.recall,
      counts: this.counts,
      index: this.index,
      legacy
    })
    this.stats = this.searches.stats
  }

  // ------------------------------------------------------------------ lifecycle

  async init(): Promise<void> {
    await checkServer(this.pool)
    const applied = await ensureBragTable(this.pool, this.table, this.dimension)
    if (applied.length > 0) this.log?.info(`MariaDB table ${this.table}: schema steps ${applied.join(', ')} applied`)
    const settings = await readServerSettings(this.pool, this.maxStatementBytes)
    this.index.defaults = settings.defaults
    this.writes.statementBytes = settings.statementBytes
    const index = await this.index.info()
    if (index.exists && !index.usable) {
      this.log?.warn(
        `MariaDB table ${this.table}: VECTOR index ${index.name ?? ''} uses DISTANCE=${index.distance ?? '?'}, ` +
          'not cosine; searches ignore it (recreate it with createVectorIndex)'
      )
    }
  }

  async close(): Promise<void> {
    // the pool belongs to the caller: let a running shadow check finish on it first
    await this.recall.idle()
    this.counts.clear()
    this.index.forget()
  }

  async health(): Promise<ProviderHealth> {
    try {
      return { status: 'connected', version: await serverVersion(this.pool, this.healthTimeoutMs) }
    } catch (err) {
      return { status: 'disconnected', error: (err as Error).message }
    }
  }

  // ------------------------------------------------------------------ writes (chunk-writes.ts)

  async upsert(chunks: ChunkRecord[], options: UpsertOptions = {}): Promise<number> {
    return await this.writes.upsert(chunks, options)
  }

  async updateGroupKey(userId: number, fileId: number, groupKey: string): Promise<number> {
    return await this.writes.updateGroupKey(userId, fileId, groupKey)
  }

  async delete(filter: ChunkFilter): Promise<number> {
    return await this.writes.delete(filter)
  }

  async deleteKeys(userId: number, keys: ChunkKey[]): Promise<number> {
    return await this.writes.deleteKeys(userId, keys)
  }

  async deleteOlderKeys(userId: number, keys: VersionedKey[]): Promise<number> {
    return await this.writes.deleteOlderKeys(userId, keys)
  }

  // ------------------------------------------------------------------ reads (chunk-reads.ts)

  async list(userId: number, fileId: number, withVectors: boolean): Promise<ChunkView[]> {
    return await this.reads.list(userId, fileId, withVectors)
  }

  async keys(filter: ChunkFilter): Promise<KeyInfo[]> {
    return await this.reads.keys(filter)
  }

  async count(filter?: ChunkFilter): Promise<number> {
    return await this.reads.count(filter)
  }

  async users(): Promise<number[]> {
    return await this.reads.users()
  }

  async scan(userId: number, after: ChunkKey | null, limit: number): Promise<ChunkRecord[]> {
    return await this.reads.scan(userId, after, limit)
  }

  // ------------------------------------------------------------------ search (search-executor.ts)

  async search(query: SearchQuery): Promise<SearchHit[]> {
    return await this.searches.search(query)
  }

  // ------------------------------------------------------------------ vector index (vector-index.ts)

  /** The table's VECTOR index, read fresh from SHOW CREATE TABLE. */
  async vectorIndexInfo(): Promise<VectorIndexInfo> {
    return await this.index.info()
  }

  /** Builds the cosine VECTOR index (M = m) online; see VectorIndexAdmin.create. */
  async createVectorIndex(options: { m?: number } = {}): Promise<{ duration_ms: number }> {
    return await this.index.create(options)
  }

  async dropVectorIndex(): Promise<{ duration_ms: number }> {
    return await this.index.drop()
  }

  /** Server settings too small for the data (mhnsw_max_cache_size, innodb_buffer_pool_size). */
  async capacityWarnings(): Promise<string[]> {
    return await this.index.capacityWarnings()
  }
}
