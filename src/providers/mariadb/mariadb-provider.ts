// VectorProvider over MariaDB >= 11.7: the application's BRAG table with the
// native VECTOR type.
//
// Keys. A chunk's key is (BUID, BMID, BCHUNK). Rows the application wrote itself
// have BCHUNK NULL and BVERSION NULL ("legacy rows"). Their chunk index is derived:
// their 0-based position among the file's legacy rows ordered by (BSTART, BID),
// offset past the largest BCHUNK the file already has (so a file holding both
// kinds never shows one key twice; for a file of legacy rows only it is exactly
// the position within (user, file) by BSTART, then BID). Their version is
// BCREATED * 1e6 (legacyVersion). The first time the gateway writes or deletes
// keys in a file that still has legacy rows, it stores those derived indexes in
// BCHUNK (same transaction), so the keys it reasons about never shift under it
// and the unique key (BUID, BMID, BCHUNK) makes an insert-only backfill of such a
// file skip what is already there. BVERSION stays NULL on them.
//
// Search. Always `WHERE BUID = ?` (+ group, + files) and
// `ORDER BY VEC_DISTANCE_COSINE(BEMBED, ?) LIMIT n`; score = 1 - distance. Two plans:
//  - exact: FORCE INDEX on our (user, file, chunk) / (user, group) indexes, the
//    filter first then a sort of the distances. Exact, and fast for small filters.
//  - index: FORCE INDEX on the cosine VECTOR index with mhnsw_ef_search set for the
//    statement; MariaDB walks the HNSW graph and filters afterwards. Fast for big
//    filters, approximate, and it may starve on selective filters: when it yields
//    fewer than `limit` hits >= min_score, the exact plan answers instead, so a user
//    never gets fewer results than the exact plan would give.
// The plan follows the filter's SHARE of the table and the cost of both plans
// (search-planner.ts), from a per-filter count cache (TTL 5 s, dropped on this
// provider's own writes) and a table count cache (TTL 60 s, refreshed in the
// background). Sampled shadow checks (recall-sampler.ts) measure the index plan's
// recall and demote share bands where it misses the target.
import { inTransaction, isWriteConflict, retryWriteConflicts } from '../../store/transaction.ts'
import { sizeBatches } from '../size-batches.ts'
import type { Pool, PoolConnection, UpsertResult } from 'mariadb'
import { trace } from '@opentelemetry/api'
import { IncompatibleStoreError, InvalidVectorError } from '../../errors.ts'
import { legacyVersion } from '../../routing/write-clock.ts'
import {
  compareKeys,
  type ChunkFilter,
  type ChunkKey,
  type ChunkRecord,
  type ChunkView,
  type KeyInfo,
  type ProviderHealth,
  type SearchHit,
  type SearchQuery,
  type UpsertOptions,
  type VectorProvider
} from '../vector-provider.ts'
import { errnoOf, translateError } from './mariadb-errors.ts'
import { alterOnline, ensureBragTable, GROUP_INDEX, KEY_INDEX, quoteTable, VECTOR_INDEX } from './mariadb-schema.ts'
import { decodeVector, encodeVector } from './vector-codec.ts'
import { capacityWarnings, parseVectorIndex, type ServerDefaults, type VectorIndexInfo } from './vector-index.ts'
import { RecallSampler, type RankedId, type RecallObserver } from './recall-sampler.ts'
import { choosePlan, INDEX_ROWS_PER_EF, shareOf, type PlannerSettings } from './search-planner.ts'

export type { VectorIndexInfo } from './vector-index.ts'

/** How upsert sends its rows (all prepared or batched, vectors as float32 bytes). */
export type WriteMethod = 'execute' | 'batch' | 'query'

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

export type SearchPlanKind = 'exact' | 'index'

export interface SearchPlan {
  kind: SearchPlanKind
  /** why this plan: the filter's share and the walk it would need, or the missing index */
  reason: string
  /** rows the filter selects (from the count cache), when it was needed */
  rows?: number
  /** rows of the table and the filter's share of it, when they were needed */
  tableRows?: number
  share?: number
  /** the SELECT (without the SET STATEMENT prefix) and its parameters */
  sql: string
  params: unknown[]
  /** rows fetched: `limit` for the exact plan, more for the index plan */
  fetch: number
  /** mhnsw_ef_search for the index plan */
  efSearch?: number
}

export interface SearchExplanation {
  plan: SearchPlan
  /** the rows of EXPLAIN for the plan's SELECT */
  explain: Array<Record<string, unknown>>
}

export interface SearchStats {
  exact: number
  index: number
  /** index-plan searches answered by the exact plan because the index gave too few hits */
  indexFallbacks: number
}

interface Row {
  BID: number
  BUID: number
  BMID: number
  BCHUNK: number | null
  BGROUPKEY: string
  BTYPE: number
  BSTART: number
  BEND: number
  BTEXT: string
  BCREATED: number
  BVERSION: number | null
  BEMBED?: Uint8Array
  d?: number | null
}

const COLUMNS = 'BID, BUID, BMID, BCHUNK, BGROUPKEY, BTYPE, BSTART, BEND, BTEXT, BCREATED, BVERSION'
const INSERT_COLUMNS = 'BUID, BMID, BCHUNK, BGROUPKEY, BTYPE, BSTART, BEND, BTEXT, BEMBED, BCREATED, BVERSION'
const ROW_PLACEHOLDERS = '(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)'
const UPSERT_UPDATE =
  'ON DUPLICATE KEY UPDATE BGROUPKEY = VALUES(BGROUPKEY), BTYPE = VALUES(BTYPE), ' +
  'BSTART = VALUES(BSTART), BEND = VALUES(BEND), BTEXT = VALUES(BTEXT), BEMBED = VALUES(BEMBED), ' +
  'BCREATED = VALUES(BCREATED), BVERSION = VALUES(BVERSION)'
// Not INSERT IGNORE: IGNORE also turns truncations and invalid values into warnings.
// A no-op update skips exactly the rows whose key exists and nothing else.
const INSERT_ONLY_UPDATE = 'ON DUPLICATE KEY UPDATE BID = BID'

const ER_KEY_DOES_NOT_EXIST = 1176
const MAX_IN_LIST = 500
/** keyed terms per conditional DELETE (deleteOlderKeys) */
const OLDER_KEYS_PER_DELETE = 200
const DELETE_CHUNK_ROWS = 5000
const MAX_CHUNK_INDEX = 2147483647
const FLOAT32_MAX = 3.4028234663852886e38
/** Statement sizes used for the rest of a batch: a bounded set of prepared statements. */
const REMAINDER_SIZES = [256, 128, 64, 32, 16, 8, 4, 2, 1]

type Queryable = Pick<PoolConnection, 'query'>

function chunked<T>(items: T[], size: number): T[][] {
  const out: T[][] = []
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size))
  return out
}

function placeholders(n: number): string {
  return new Array(n).fill('?').join(', ')
}

function num(v: unknown): number {
  return typeof v === 'bigint' ? Number(v) : Number(v)
}

function numOrNull(v: unknown): number | null {
  return v === null || v === undefined ? null : num(v)
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not answer within ${ms} ms`)), ms)
  })
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}

/** Parses "11.8.2-MariaDB-..." into [11, 8, 2]. */
export function parseServerVersion(version: string): { mariadb: boolean; major: number; minor: number; patch: number } {
  const m = /^(\d+)\.(\d+)\.(\d+)/.exec(version)
  return {
    mariadb: /mariadb/i.test(version),
    major: m === null ? 0 : Number(m[1]),
    minor: m === null ? 0 : Number(m[2]),
    patch: m === null ? 0 : Number(m[3])
  }
}

function refusal(problem: string): InstanceType<typeof IncompatibleStoreError> {
  return new IncompatibleStoreError(
    `${problem}: vector-gateway needs MariaDB >= 11.7 with the VECTOR type (11.8 LTS recommended). ` +
      'Upgrade the server or point MARIADB_URL at one that has it.'
  )
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
  readonly stats: SearchStats = { exact: 0, index: 0, indexFallbacks: 0 }
  /** write conflicts (1020/1213) retried, and requests refused busy after the last attempt */
  readonly writeConflicts = { retried: 0, refused: 0 }

  private readonly pool: Pool
  private readonly t: string
  private readonly batchRows: number
  private readonly writeMethod: WriteMethod
  private readonly countCacheMs: number
  private readonly indexInfoCacheMs: number
  private readonly healthTimeoutMs: number
  private readonly log?: MariaDbProviderOptions['log']

  private serverVersion?: string
  private defaults: ServerDefaults = { m: 6, distance: 'euclidean' }
  private statementBytes = 8 * 1024 * 1024
  private readonly maxStatementBytes?: number
  private indexCache?: { info: VectorIndexInfo; at: number }
  /** user -> filter key -> { rows, at } */
  private readonly counts = new Map<number, Map<string, { rows: number; at: number }>>()
  private readonly tableCountCacheMs: number
  private tableCount?: { rows: number; at: number }
  private tableCountRefresh?: Promise<number>

  constructor(options: MariaDbProviderOptions) {
    this.pool = options.pool
    this.table = options.table
    this.t = quoteTable(options.table)
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
      recallTarget: options.recallTarget ?? 0.99
    }
    this.recall = new RecallSampler({
      rate: options.recallSampleRate ?? 0,
      target: this.planner.recallTarget,
      observer: options.recallObserver,
      onError: err => {
        this.log?.warn(`recall shadow check failed: ${(err as Error).message}`)
      }
    })
    this.tableCountCacheMs = options.tableCountCacheMs ?? 60_000
    this.batchRows = Math.max(1, options.batchRows ?? 500)
    this.maxStatementBytes = options.maxStatementBytes
    this.writeMethod = options.writeMethod ?? 'execute'
    this.countCacheMs = options.countCacheMs ?? 5000
    this.indexInfoCacheMs = options.indexInfoCacheMs ?? 30_000
    this.healthTimeoutMs = options.healthTimeoutMs ?? 2000
    this.log = options.log
  }

  // ------------------------------------------------------------------ lifecycle

  async init(): Promise<void> {
    let version: string
    try {
      const [row] = await this.pool.query('SELECT VERSION() AS v')
      version = String(row.v)
    } catch (err) {
      return translateError(err)
    }
    const v = parseServerVersion(version)
    if (!v.mariadb) throw refusal(`The server reports version ${version}, which is not MariaDB`)
    if (v.major < 11 || (v.major === 11 && v.minor < 7)) {
      throw refusal(`MariaDB ${version} has no VECTOR type`)
    }
    try {
      await this.pool.query("SELECT VEC_DISTANCE_COSINE(VEC_FromText('[1,0]'), VEC_FromText('[0,1]')) AS d")
    } catch (err) {
      if (errnoOf(err) === undefined || errnoOf(err)! >= 45000) return translateError(err)
      throw refusal(`MariaDB ${version} cannot run VEC_DISTANCE_COSINE (${(err as Error).message})`)
    }
    this.serverVersion = version

    const applied = await ensureBragTable(this.pool, this.table, this.dimension)
    if (applied.length > 0) this.log?.info(`MariaDB table ${this.table}: schema steps ${applied.join(', ')} applied`)

    try {
      const [s] = await this.pool.query(
        'SELECT @@mhnsw_default_m AS m, @@mhnsw_default_distance AS d, @@max_allowed_packet AS p'
      )
      this.defaults = { m: num(s.m), distance: String(s.d).toLowerCase() }
      // leave room for the statement text and protocol overhead
      this.statementBytes = this.maxStatementBytes ?? Math.max(1024 * 1024, Math.min(num(s.p) / 2, 64 * 1024 * 1024))
    } catch (err) {
      return translateError(err)
    }
    const index = await this.vectorIndexInfo()
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
    this.indexCache = undefined
  }

  async health(): Promise<ProviderHealth> {
    try {
      const [row] = await withTimeout(this.pool.query('SELECT VERSION() AS v'), this.healthTimeoutMs, 'MariaDB')
      this.serverVersion = String(row.v)
      return { status: 'connected', version: this.serverVersion }
    } catch (err) {
      return { status: 'disconnected', error: (err as Error).message }
    }
  }

  // ------------------------------------------------------------------ writes

  async upsert(chunks: ChunkRecord[], options: UpsertOptions = {}): Promise<number> {
    if (chunks.length === 0) return 0
    for (const c of chunks) this.checkVector(c.vector)
    // rows locked in key order: concurrent writers of overlapping keys queue instead of deadlocking
    chunks = [...chunks].sort(compareRecords)
    const files = new Map<number, Set<number>>()
    for (const c of chunks) {
      let set = files.get(c.user_id)
      if (set === undefined) files.set(c.user_id, (set = new Set()))
      set.add(c.file_id)
    }
    const tail = options.insertOnly === true ? INSERT_ONLY_UPDATE : UPSERT_UPDATE
    await this.transaction(async conn => {
      for (const [userId, fileIds] of files) await this.materializeLegacy(conn, userId, [...fileIds])
      for (const batch of this.statementBatches(chunks)) await this.writeRows(conn, batch, tail)
    })
    for (const userId of files.keys()) this.counts.delete(userId)
    // Every chunk was written (upsert) or was already there (insertOnly).
    return chunks.length
  }

  async updateGroupKey(userId: number, fileId: number, groupKey: string): Promise<number> {
    const res = await this.writeStatement(`UPDATE ${this.t} SET BGROUPKEY = ? WHERE BUID = ? AND BMID = ?`, [
      groupKey,
      userId,
      fileId
    ])
    this.counts.delete(userId)
    return num(res.affectedRows)
  }

  async delete(filter: ChunkFilter): Promise<number> {
    if (filter.file_ids !== undefined && filter.file_ids.length === 0) return 0
    const where = this.where(filter)
    let deleted = 0
    try {
      // in slices, so deleting a big user holds no huge transaction
      for (;;) {
        const res = await this.writeStatement(
          `DELETE FROM ${this.t} WHERE ${where.sql} LIMIT ${DELETE_CHUNK_ROWS}`,
          where.params
        )
        deleted += num(res.affectedRows)
        if (num(res.affectedRows) < DELETE_CHUNK_ROWS) break
      }
    } finally {
      this.counts.delete(filter.user_id)
    }
    return deleted
  }

  async deleteKeys(userId: number, keys: ChunkKey[]): Promise<number> {
    if (keys.length === 0) return 0
    const unique = new Map<string, ChunkKey>()
    for (const k of keys) unique.set(`${k.file_id}:${k.chunk_index}`, k)
    // key order, like upsert: concurrent deletes and writes take row locks in one order
    const sorted = [...unique.values()].sort(compareKeys)
    let deleted = 0
    await this.transaction(async conn => {
      deleted = 0
      await this.materializeLegacy(conn, userId, [...new Set(sorted.map(k => k.file_id))])
      for (const batch of chunked(sorted, MAX_IN_LIST)) {
        const byFile = new Map<number, number[]>()
        for (const k of batch) {
          let list = byFile.get(k.file_id)
          if (list === undefined) byFile.set(k.file_id, (list = []))
          list.push(k.chunk_index)
        }
        const terms: string[] = []
        const params: unknown[] = [userId]
        for (const [fileId, indexes] of byFile) {
          terms.push(`(BMID = ? AND BCHUNK IN (${placeholders(indexes.length)}))`)
          params.push(fileId, ...indexes)
        }
        const res: UpsertResult = await conn.query(
          `DELETE FROM ${this.t} WHERE BUID = ? AND (${terms.join(' OR ')})`,
          params
        )
        deleted += num(res.affectedRows)
      }
    })
    this.counts.delete(userId)
    return deleted
  }

  async deleteOlderKeys(userId: number, keys: Array<ChunkKey & { version: number }>): Promise<number> {
    if (keys.length === 0) return 0
    let deleted = 0
    await this.transaction(async conn => {
      await this.materializeLegacy(conn, userId, [...new Set(keys.map(k => k.file_id))])
      for (const batch of chunked(keys, OLDER_KEYS_PER_DELETE)) {
        // the version condition sits in the DELETE itself: a newer write landing meanwhile is never removed
        const terms = batch.map(() => '(BMID = ? AND BCHUNK = ? AND COALESCE(BVERSION, BCREATED * 1000000) < ?)')
        const res: UpsertResult = await conn.query(`DELETE FROM ${this.t} WHERE BUID = ? AND (${terms.join(' OR ')})`, [
          userId,
          ...batch.flatMap(k => [k.file_id, k.chunk_index, k.version])
        ])
        deleted += num(res.affectedRows)
      }
    })
    this.counts.delete(userId)
    return deleted
  }

  // ------------------------------------------------------------------ reads

  async list(userId: number, fileId: number, withVectors: boolean): Promise<ChunkView[]> {
    try {
      const rows: Row[] = await this.pool.query(
        `SELECT ${COLUMNS}${withVectors ? ', BEMBED' : ''} FROM ${this.t} WHERE BUID = ? AND BMID = ?`,
        [userId, fileId]
      )
      const indexes = await this.chunkIndexes(this.pool, userId, rows)
      return rows
        .map(r => this.toView(r, indexes.get(num(r.BID))!, withVectors))
        .sort((a, b) => a.chunk_index - b.chunk_index)
    } catch (err) {
      return translateError(err)
    }
  }

  async keys(filter: ChunkFilter): Promise<KeyInfo[]> {
    if (filter.file_ids !== undefined && filter.file_ids.length === 0) return []
    const where = this.where(filter)
    try {
      const rows: Row[] = await this.pool.query(
        `SELECT BID, BMID, BCHUNK, BGROUPKEY, BSTART, BCREATED, BVERSION FROM ${this.t} WHERE ${where.sql} ORDER BY BMID, BCHUNK`,
        where.params
      )
      const indexes = await this.chunkIndexes(this.pool, filter.user_id, rows)
      return rows
        .map(r => ({
          file_id: num(r.BMID),
          chunk_index: indexes.get(num(r.BID))!,
          group_key: r.BGROUPKEY,
          version: this.versionOf(r)
        }))
        .sort(compareKeys)
    } catch (err) {
      return translateError(err)
    }
  }

  async count(filter?: ChunkFilter): Promise<number> {
    if (filter?.file_ids !== undefined && filter.file_ids.length === 0) return 0
    try {
      if (filter === undefined) {
        const [row] = await this.pool.query(`SELECT COUNT(*) AS n FROM ${this.t}`)
        return num(row.n)
      }
      const where = this.where(filter)
      const [row] = await this.pool.query(`SELECT COUNT(*) AS n FROM ${this.t} WHERE ${where.sql}`, where.params)
      return num(row.n)
    } catch (err) {
      return translateError(err)
    }
  }

  async users(): Promise<number[]> {
    try {
      const rows: Array<{ u: unknown }> = await this.pool.query(
        `SELECT DISTINCT BUID AS u FROM ${this.t} ORDER BY BUID`
      )
      return rows.map(r => num(r.u))
    } catch (err) {
      return translateError(err)
    }
  }

  /**
   * A user's chunks in key order after `after`. Keyset pagination on the unique
   * key for rows with BCHUNK; a file holding legacy rows is read whole (its
   * indexes are derived from all its rows), so memory stays at one page plus
   * one file.
   */
  async scan(userId: number, after: ChunkKey | null, limit: number): Promise<ChunkRecord[]> {
    if (limit <= 0) return []
    const out: ChunkRecord[] = []
    let cursor = after
    let legacyFrom = after?.file_id ?? 0
    try {
      while (out.length < limit) {
        const [{ f }] = await this.pool.query(
          `SELECT MIN(BMID) AS f FROM ${this.t} WHERE BUID = ? AND BMID >= ? AND BCHUNK IS NULL`,
          [userId, legacyFrom]
        )
        const legacyFile = numOrNull(f)
        const params: unknown[] = [userId]
        let sql = `SELECT ${COLUMNS}, BEMBED FROM ${this.t} WHERE BUID = ? AND BCHUNK IS NOT NULL`
        if (cursor !== null) {
          sql += ' AND (BMID > ? OR (BMID = ? AND BCHUNK > ?))'
          params.push(cursor.file_id, cursor.file_id, cursor.chunk_index)
        }
        if (legacyFile !== null) {
          sql += ' AND BMID < ?'
          params.push(legacyFile)
        }
        sql += ` ORDER BY BMID, BCHUNK LIMIT ${limit - out.length}`
        const rows: Row[] = await this.pool.query(sql, params)
        for (const r of rows) out.push(this.toRecord(r, num(r.BCHUNK)))
        if (out.length >= limit || legacyFile === null) break

        // every keyed row before the legacy file is out: now that file, whole
        const fileRows: Row[] = await this.pool.query(
          `SELECT ${COLUMNS}, BEMBED FROM ${this.t} WHERE BUID = ? AND BMID = ?`,
          [userId, legacyFile]
        )
        const indexes = await this.chunkIndexes(this.pool, userId, fileRows)
        const from = cursor !== null && cursor.file_id === legacyFile ? cursor.chunk_index : -1
        const records = fileRows
          .map(r => ({ r, idx: indexes.get(num(r.BID))! }))
          .filter(e => e.idx > from)
          .sort((a, b) => a.idx - b.idx)
        const take = records.slice(0, limit - out.length)
        for (const e of take) out.push(this.toRecord(e.r, e.idx))
        if (take.length < records.length) break
        cursor = { file_id: legacyFile, chunk_index: MAX_CHUNK_INDEX }
        legacyFrom = legacyFile + 1
      }
    } catch (err) {
      return translateError(err)
    }
    return out
  }

  // ------------------------------------------------------------------ search

  async search(query: SearchQuery): Promise<SearchHit[]> {
    if ((query.file_ids !== undefined && query.file_ids.length === 0) || query.limit <= 0) return []
    this.checkVector(query.vector)
    try {
      return await this.searchOnce(query)
    } catch (err) {
      // an index named in FORCE INDEX was dropped meanwhile (by another replica or an admin)
      if (errnoOf(err) === ER_KEY_DOES_NOT_EXIST) {
        this.indexCache = undefined
        try {
          return await this.searchOnce(query)
        } catch (err2) {
          return translateError(err2)
        }
      }
      return translateError(err)
    }
  }

  /** The plan search() would use for `query`, and MariaDB's EXPLAIN of it. */
  async explainSearch(query: SearchQuery): Promise<SearchExplanation> {
    this.checkVector(query.vector)
    if (query.file_ids !== undefined && query.file_ids.length === 0)
      throw new Error('an empty file_ids list selects nothing: search() answers [] without a query')
    try {
      const plan = await this.planSearch(query)
      const explain: Array<Record<string, unknown>> = await this.pool.query(`EXPLAIN ${plan.sql}`, plan.params)
      return { plan, explain: explain.map(r => ({ ...r })) }
    } catch (err) {
      return translateError(err)
    }
  }

  private async searchOnce(query: SearchQuery): Promise<SearchHit[]> {
    const plan = await this.planSearch(query)
    // the plan on the trace span of this call (a no-op unless tracing is on)
    trace.getActiveSpan()?.setAttributes({
      'vg.search.plan': plan.kind,
      'vg.search.plan_reason': plan.reason,
      'vg.search.fetch': plan.fetch,
      ...(plan.rows !== undefined ? { 'vg.search.filter_rows': plan.rows } : {}),
      ...(plan.efSearch !== undefined ? { 'vg.search.ef_search': plan.efSearch } : {})
    })
    let rows = await this.runPlan(plan)
    let passing = rows.filter(r => this.scoreOf(r) >= query.min_score)
    if (plan.kind === 'index') {
      this.stats.index++
      if (passing.length < query.limit) {
        // the filtered index walk came back short: the exact plan decides
        this.stats.indexFallbacks++
        trace.getActiveSpan()?.setAttribute('vg.search.fallback', 'exact')
        rows = await this.runPlan(this.exactPlan(query, plan.rows, 'index plan gave fewer hits than limit'))
        passing = rows.filter(r => this.scoreOf(r) >= query.min_score)
      } else {
        this.sampleRecall(query, plan, passing)
      }
    } else {
      this.stats.exact++
    }
    const indexes = await this.chunkIndexes(this.pool, query.user_id, passing)
    return passing
      .map(r => ({ chunk: this.toView(r, indexes.get(num(r.BID))!, false), score: this.scoreOf(r) }))
      .sort(
        (a, b) => b.score - a.score || a.chunk.file_id - b.chunk.file_id || a.chunk.chunk_index - b.chunk.chunk_index
      )
      .slice(0, query.limit)
  }

  /** Maybe re-runs an index-plan search exactly in the background to measure its recall (never awaited). */
  private sampleRecall(query: SearchQuery, plan: SearchPlan, passing: Row[]): void {
    const ranked = (rows: Row[]): RankedId[] =>
      rows
        .map(r => ({ id: num(r.BID), score: this.scoreOf(r) }))
        .sort((a, b) => b.score - a.score)
        .slice(0, query.limit)
    const answered = ranked(passing)
    this.recall.sample(plan.share ?? 1, answered, async () => {
      const rows = await this.runPlan(this.exactPlan(query, plan.rows, 'recall shadow check'))
      return ranked(rows.filter(r => this.scoreOf(r) >= query.min_score))
    })
  }

  private scoreOf(r: Row): number {
    // a NULL distance (an all-zero stored vector) never matches
    return r.d === null || r.d === undefined ? Number.NEGATIVE_INFINITY : 1 - Number(r.d)
  }

  private async runPlan(plan: SearchPlan): Promise<Row[]> {
    const sql =
      plan.kind === 'index'
        ? `SET STATEMENT mhnsw_ef_search = ${plan.efSearch ?? this.efSearch} FOR ${plan.sql}`
        : plan.sql
    // prepared (binary protocol): no text parsing of the 4 KiB vector parameter per search
    const rows: Row[] = await this.pool.execute(sql, plan.params)
    return rows.filter(r => r.d === null || !Number.isNaN(Number(r.d)))
  }

  private async planSearch(query: SearchQuery): Promise<SearchPlan> {
    const index = await this.cachedIndexInfo()
    if (!index.exists || !index.usable || index.name === undefined) {
      return this.exactPlan(
        query,
        undefined,
        index.exists ? `the VECTOR index uses DISTANCE=${index.distance}, not cosine` : 'no VECTOR index'
      )
    }
    const rows = await this.filterRows(query)
    const tableRows = rows <= this.exactSearchMaxRows ? rows : await this.cachedTableRows()
    const share = shareOf(rows, tableRows)
    const filtered = query.group_key !== undefined || query.file_ids !== undefined
    const decision = choosePlan(this.planner, {
      filterRows: rows,
      tableRows,
      limit: query.limit,
      filtered,
      measuredRecall: this.recall.measured(share)
    })
    if (decision.kind === 'exact') return { ...this.exactPlan(query, rows, decision.reason), tableRows, share }
    // The walk yields rows in distance order and applies the WHERE as it goes, so a
    // small margin over limit suffices (rows can come slightly out of order with a
    // filter); a short answer falls back to the exact plan anyway.
    const where = this.where(query)
    return {
      kind: 'index',
      reason: decision.reason,
      rows,
      tableRows,
      share,
      sql:
        `SELECT ${COLUMNS}, VEC_DISTANCE_COSINE(BEMBED, ?) AS d FROM ${this.t} FORCE INDEX (\`${index.name.replace(/`/g, '``')}\`) ` +
        `WHERE ${where.sql} ORDER BY d LIMIT ${decision.fetch}`,
      params: [encodeVector(query.vector), ...where.params],
      fetch: decision.fetch,
      efSearch: decision.efSearch
    }
  }

  private exactPlan(query: SearchQuery, rows: number | undefined, reason: string): SearchPlan {
    const where = this.where(query)
    return {
      kind: 'exact',
      reason,
      rows,
      sql:
        `SELECT ${COLUMNS}, VEC_DISTANCE_COSINE(BEMBED, ?) AS d FROM ${this.t} FORCE INDEX (${KEY_INDEX}, ${GROUP_INDEX}) ` +
        `WHERE ${where.sql} ORDER BY d, BMID, BCHUNK, BSTART, BID LIMIT ${query.limit}`,
      params: [encodeVector(query.vector), ...where.params],
      fetch: query.limit
    }
  }

  /** Rows the filter selects, from a short-lived cache (never a COUNT per search). */
  private async filterRows(filter: ChunkFilter): Promise<number> {
    const userRows = await this.cachedCount({ user_id: filter.user_id })
    // the user's total bounds any narrower filter
    if (userRows <= this.exactSearchMaxRows || (filter.group_key === undefined && filter.file_ids === undefined))
      return userRows
    return await this.cachedCount(filter)
  }

  /** Rows of the whole table: cached, and refreshed in the background once stale (a COUNT of a big table is not free). */
  private async cachedTableRows(): Promise<number> {
    const cached = this.tableCount
    if (cached !== undefined && Date.now() - cached.at < this.tableCountCacheMs) return cached.rows
    const refresh = (this.tableCountRefresh ??= this.count()
      .then(rows => {
        this.tableCount = { rows, at: Date.now() }
        return rows
      })
      .finally(() => {
        this.tableCountRefresh = undefined
      }))
    if (cached === undefined) return await refresh
    refresh.catch(err => {
      this.log?.warn(`table row count failed: ${(err as Error).message}`)
    })
    return cached.rows
  }

  private async cachedCount(filter: ChunkFilter): Promise<number> {
    const key = `${filter.group_key ?? ''}|${filter.file_ids === undefined ? '' : [...filter.file_ids].sort((a, b) => a - b).join(',')}`
    const now = Date.now()
    let perUser = this.counts.get(filter.user_id)
    const hit = perUser?.get(key)
    if (hit !== undefined && now - hit.at < this.countCacheMs) return hit.rows
    const rows = await this.count(filter)
    if (this.counts.size > 10_000) this.counts.clear()
    if (perUser === undefined) this.counts.set(filter.user_id, (perUser = new Map()))
    perUser.set(key, { rows, at: now })
    return rows
  }

  // ------------------------------------------------------------------ vector index management

  /** The table's VECTOR index, read fresh from SHOW CREATE TABLE. */
  async vectorIndexInfo(): Promise<VectorIndexInfo> {
    try {
      const [row] = await this.pool.query(`SHOW CREATE TABLE ${this.t}`)
      const info = parseVectorIndex(String(row['Create Table']), this.defaults)
      this.indexCache = { info, at: Date.now() }
      return info
    } catch (err) {
      return translateError(err)
    }
  }

  /**
   * Builds the cosine VECTOR index (M = m), dropping an index with another metric
   * or M in the same ALTER. Online (ALGORITHM=COPY, LOCK=NONE) where the server
   * allows it. Build it after a bulk load: inserts are ~50x slower with it.
   */
  async createVectorIndex({ m = 16 }: { m?: number } = {}): Promise<{ duration_ms: number }> {
    if (!Number.isInteger(m) || m < 3 || m > 200) throw new Error(`M must be an integer between 3 and 200, not ${m}`)
    return await this.alterVectorIndex(current => {
      if (current.exists && current.usable && current.m === m) return null
      const clauses = current.exists && current.name !== undefined ? [dropIndexClause(current.name)] : []
      return [...clauses, `ADD VECTOR INDEX ${VECTOR_INDEX} (BEMBED) M=${m} DISTANCE=cosine`].join(', ')
    })
  }

  async dropVectorIndex(): Promise<{ duration_ms: number }> {
    return await this.alterVectorIndex(current =>
      current.exists && current.name !== undefined ? dropIndexClause(current.name) : null
    )
  }

  /** Runs the ALTER that `change` derives from the current index (null: nothing to do), timed. */
  private async alterVectorIndex(
    change: (current: VectorIndexInfo) => string | null
  ): Promise<{ duration_ms: number }> {
    const started = performance.now()
    const alteration = change(await this.vectorIndexInfo())
    if (alteration === null) return { duration_ms: 0 }
    try {
      await alterOnline(this.pool, this.table, alteration, ['COPY'])
    } catch (err) {
      return translateError(err)
    } finally {
      this.indexCache = undefined
    }
    await this.vectorIndexInfo()
    return { duration_ms: Math.round(performance.now() - started) }
  }

  /** Server settings too small for the data (mhnsw_max_cache_size, innodb_buffer_pool_size). */
  async capacityWarnings(): Promise<string[]> {
    const index = await this.vectorIndexInfo()
    try {
      const [s] = await this.pool.query('SELECT @@mhnsw_max_cache_size AS cache, @@innodb_buffer_pool_size AS pool')
      const [tbl] = await this.pool.query(
        `SELECT TABLE_ROWS AS r, DATA_LENGTH AS dl, INDEX_LENGTH AS il FROM information_schema.TABLES
         WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?`,
        [this.table]
      )
      return capacityWarnings({
        dimension: this.dimension,
        rows: num(tbl?.r ?? 0),
        dataLength: num(tbl?.dl ?? 0),
        indexLength: num(tbl?.il ?? 0),
        innodbBufferPoolSize: num(s.pool),
        mhnswMaxCacheSize: num(s.cache),
        vectorIndex: index
      })
    } catch (err) {
      return translateError(err)
    }
  }

  private async cachedIndexInfo(): Promise<VectorIndexInfo> {
    if (this.indexCache !== undefined && Date.now() - this.indexCache.at < this.indexInfoCacheMs)
      return this.indexCache.info
    return await this.vectorIndexInfo()
  }

  // ------------------------------------------------------------------ helpers

  private checkVector(vector: number[]): void {
    if (vector.length !== this.dimension) {
      throw new InvalidVectorError(
        `vector has ${vector.length} numbers; this store holds vectors of dimension ${this.dimension}`
      )
    }
    // MariaDB refuses a VECTOR whose squared length overflows float32 (e.g. one number above ~1.8e19)
    let squares = 0
    for (const x of vector) squares += Math.fround(x) ** 2
    if (!Number.isFinite(squares) || squares > FLOAT32_MAX) {
      throw new InvalidVectorError(
        'vector is too long for MariaDB: the sum of the squares of its numbers must stay within float32 range (about 3.4e38)'
      )
    }
  }

  /** The WHERE clause of a filter. Group keys compare exactly (case-sensitive), like Qdrant's. */
  private where(filter: ChunkFilter): { sql: string; params: unknown[] } {
    let sql = 'BUID = ?'
    const params: unknown[] = [filter.user_id]
    if (filter.group_key !== undefined) {
      // the first term can use the (case-insensitive) index, the second makes it exact
      sql += ' AND BGROUPKEY = ? AND BGROUPKEY = ? COLLATE utf8mb4_bin'
      params.push(filter.group_key, filter.group_key)
    }
    if (filter.file_ids !== undefined) {
      sql += ` AND BMID IN (${placeholders(filter.file_ids.length)})`
      params.push(...filter.file_ids)
    }
    return { sql, params }
  }

  private versionOf(r: Row): number {
    const v = numOrNull(r.BVERSION)
    return v ?? legacyVersion(num(r.BCREATED))
  }

  private toView(r: Row, chunkIndex: number, withVector: boolean): ChunkView {
    const view: ChunkView = {
      user_id: num(r.BUID),
      file_id: num(r.BMID),
      chunk_index: chunkIndex,
      group_key: r.BGROUPKEY,
      file_type: num(r.BTYPE),
      start_line: num(r.BSTART),
      end_line: num(r.BEND),
      text: r.BTEXT,
      created: num(r.BCREATED),
      version: this.versionOf(r)
    }
    if (withVector && r.BEMBED !== undefined) view.vector = decodeVector(r.BEMBED)
    return view
  }

  private toRecord(r: Row, chunkIndex: number): ChunkRecord {
    return { ...this.toView(r, chunkIndex, true), vector: decodeVector(r.BEMBED!) }
  }

  /**
   * BID -> chunk index for `rows`: BCHUNK where set, else derived (see the top of
   * this file) with one query over just the files holding legacy rows.
   */
  private async chunkIndexes(q: Queryable, userId: number, rows: Row[]): Promise<Map<number, number>> {
    const out = new Map<number, number>()
    const legacyFiles = new Set<number>()
    for (const r of rows) {
      if (r.BCHUNK === null || r.BCHUNK === undefined) legacyFiles.add(num(r.BMID))
      else out.set(num(r.BID), num(r.BCHUNK))
    }
    if (legacyFiles.size > 0) {
      const derived = await this.derivedIndexes(q, userId, [...legacyFiles])
      for (const r of rows) {
        if (r.BCHUNK === null || r.BCHUNK === undefined) {
          const idx = derived.get(num(r.BID))
          // a row deleted between the two queries keeps a harmless placeholder index
          out.set(num(r.BID), idx ?? MAX_CHUNK_INDEX)
        }
      }
    }
    return out
  }

  /** BID -> derived chunk index of every legacy row in the given files of one user. */
  private async derivedIndexes(q: Queryable, userId: number, fileIds: number[]): Promise<Map<number, number>> {
    const out = new Map<number, number>()
    for (const files of chunked(fileIds, MAX_IN_LIST)) {
      const inList = placeholders(files.length)
      const rows: Array<{ bid: unknown; idx: unknown }> = await q.query(
        `SELECT l.BID AS bid, l.pos + COALESCE(k.mx + 1, 0) AS idx
         FROM (SELECT BID, BMID, ROW_NUMBER() OVER (PARTITION BY BMID ORDER BY BSTART, BID) - 1 AS pos
               FROM ${this.t} WHERE BUID = ? AND BMID IN (${inList}) AND BCHUNK IS NULL) l
         LEFT JOIN (SELECT BMID, MAX(BCHUNK) AS mx FROM ${this.t}
                    WHERE BUID = ? AND BMID IN (${inList}) AND BCHUNK IS NOT NULL GROUP BY BMID) k
           ON k.BMID = l.BMID`,
        [userId, ...files, userId, ...files]
      )
      for (const r of rows) out.set(num(r.bid), num(r.idx))
    }
    return out
  }

  /**
   * Stores the derived chunk index of the legacy rows of these files in BCHUNK,
   * inside the caller's transaction, before keyed writes or deletes touch them.
   */
  private async materializeLegacy(conn: Queryable, userId: number, fileIds: number[]): Promise<void> {
    for (const files of chunked(fileIds, MAX_IN_LIST)) {
      const found: Array<{ f: unknown }> = await conn.query(
        `SELECT DISTINCT BMID AS f FROM ${this.t} WHERE BUID = ? AND BMID IN (${placeholders(files.length)}) AND BCHUNK IS NULL`,
        [userId, ...files]
      )
      if (found.length === 0) continue
      const derived = await this.derivedIndexes(
        conn,
        userId,
        found.map(r => num(r.f))
      )
      for (const part of chunked([...derived.entries()], MAX_IN_LIST)) {
        const cases = part.map(() => 'WHEN ? THEN ?').join(' ')
        await conn.query(
          `UPDATE ${this.t} SET BCHUNK = CASE BID ${cases} END WHERE BUID = ? AND BID IN (${placeholders(part.length)}) AND BCHUNK IS NULL`,
          [...part.flat(), userId, ...part.map(([bid]) => bid)]
        )
      }
      this.log?.info(
        `MariaDB table ${this.table}: stored chunk indexes of ${derived.size} application rows (user ${userId})`
      )
    }
  }

  /** Splits rows into statements of at most batchRows rows and statementBytes bytes. */
  private statementBatches(chunks: ChunkRecord[]): ChunkRecord[][] {
    const out = sizeBatches(
      chunks,
      this.batchRows,
      this.statementBytes,
      c => Buffer.byteLength(c.text) + c.vector.length * 4 + c.group_key.length + 128
    )
    if (this.writeMethod !== 'execute') return out
    // prepared statements: cut each short batch into a few fixed sizes, so a
    // connection only ever prepares a bounded set of statements
    const sized: ChunkRecord[][] = []
    for (const batch of out) {
      if (batch.length === this.batchRows) {
        sized.push(batch)
        continue
      }
      let rest = batch
      for (const size of REMAINDER_SIZES) {
        while (rest.length >= size) {
          sized.push(rest.slice(0, size))
          rest = rest.slice(size)
        }
      }
    }
    return sized
  }

  private rowParams(c: ChunkRecord): unknown[] {
    return [
      c.user_id,
      c.file_id,
      c.chunk_index,
      c.group_key,
      c.file_type,
      c.start_line,
      c.end_line,
      c.text,
      encodeVector(c.vectorF32 ?? c.vector),
      c.created,
      c.version
    ]
  }

  private async writeRows(conn: PoolConnection, rows: ChunkRecord[], tail: string): Promise<void> {
    if (this.writeMethod === 'batch') {
      await conn.batch(
        `INSERT INTO ${this.t} (${INSERT_COLUMNS}) VALUES ${ROW_PLACEHOLDERS} ${tail}`,
        rows.map(c => this.rowParams(c))
      )
      return
    }
    const sql = `INSERT INTO ${this.t} (${INSERT_COLUMNS}) VALUES ${new Array(rows.length).fill(ROW_PLACEHOLDERS).join(', ')} ${tail}`
    const params = rows.flatMap(c => this.rowParams(c))
    if (this.writeMethod === 'execute') await conn.execute(sql, params)
    else await conn.query(sql, params)
  }

  private async transaction(fn: (conn: PoolConnection) => Promise<void>): Promise<void> {
    try {
      // keyed writes: READ COMMITTED, so writers of the same keys queue on row locks (no 1020)
      await inTransaction(this.pool, fn, { readCommitted: true, onRetry: this.onConflict })
    } catch (err) {
      this.translateWrite(err)
    }
  }

  /** One autocommit write statement, retried on write conflicts like a transaction. */
  private async writeStatement(sql: string, params: unknown[]): Promise<UpsertResult> {
    try {
      return await retryWriteConflicts(async () => await this.pool.query(sql, params), { onRetry: this.onConflict })
    } catch (err) {
      return this.translateWrite(err)
    }
  }

  private readonly onConflict = (): void => {
    this.writeConflicts.retried++
  }

  private translateWrite(err: unknown): never {
    if (isWriteConflict(err)) this.writeConflicts.refused++
    return translateError(err)
  }
}

function compareRecords(a: ChunkRecord, b: ChunkRecord): number {
  return a.user_id - b.user_id || compareKeys(a, b)
}

function dropIndexClause(name: string): string {
  return `DROP INDEX \`${name.replace(/`/g, '``')}\``
}
