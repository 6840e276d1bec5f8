// The table's VECTOR index: read from SHOW CREATE TABLE (cached for the search
// planner), created and dropped online, and sizing advice.
//
// MariaDB uses a VECTOR index only for `ORDER BY VEC_DISTANCE_<its metric>(...)
// LIMIT n`. The gateway searches with cosine, so an index built with another
// DISTANCE (the server default is euclidean) is reported unusable and never
// relied on.
import type { Pool } from 'mariadb'
import { call } from './mariadb-errors.ts'
import { alterOnline, quoteTable, VECTOR_INDEX } from './mariadb-schema.ts'

export interface VectorIndexInfo {
  exists: boolean
  name?: string
  /** 'cosine' | 'euclidean' (lower case), from the index or the server default */
  distance?: string
  m?: number
  /** true when the index exists and its distance is cosine */
  usable: boolean
}

export interface ServerDefaults {
  /** @@mhnsw_default_m */
  m: number
  /** @@mhnsw_default_distance */
  distance: string
}

/**
 * Parses the VECTOR KEY line of a SHOW CREATE TABLE, e.g.
 * VECTOR KEY `vg_embed_cosine` (`BEMBED`) `M`='16' `DISTANCE`='cosine'
 * An option left out of the definition takes the server's default.
 */
export function parseVectorIndex(createTable: string, defaults: ServerDefaults): VectorIndexInfo {
  const line = createTable.split('\n').find(l => /^\s*VECTOR\s+(KEY|INDEX)\s/i.test(l))
  if (line === undefined) return { exists: false, usable: false }
  const name = /^\s*VECTOR\s+(?:KEY|INDEX)\s+`((?:[^`]|``)+)`/i.exec(line)?.[1]?.replace(/``/g, '`')
  const option = (key: string): string | undefined =>
    new RegExp(`\`?${key}\`?\\s*=\\s*'?([A-Za-z0-9_]+)'?`, 'i').exec(line)?.[1]
  const m = Number(option('M') ?? defaults.m)
  const distance = (option('DISTANCE') ?? defaults.distance).toLowerCase()
  return { exists: true, name, distance, m, usable: distance === 'cosine' }
}

export interface CapacityFacts {
  dimension: number
  /** estimated rows of the table (information_schema.TABLES.TABLE_ROWS is enough) */
  rows: number
  dataLength: number
  indexLength: number
  innodbBufferPoolSize: number
  mhnswMaxCacheSize: number
  vectorIndex: VectorIndexInfo
}

const MiB = 1024 * 1024

function mib(bytes: number): string {
  return `${Math.ceil(bytes / MiB)} MiB`
}

/** Warnings for settings too small for the data (docs/environment.md#cache-sizes measured 4-12x slowdowns). */
export function capacityWarnings(f: CapacityFacts): string[] {
  const warnings: string[] = []
  const vectorBytes = f.rows * f.dimension * 4
  const tableBytes = f.dataLength + f.indexLength
  if (f.vectorIndex.exists && f.mhnswMaxCacheSize < vectorBytes) {
    warnings.push(
      `mhnsw_max_cache_size is ${mib(f.mhnswMaxCacheSize)} but the vector index of about ${f.rows} rows x ${f.dimension} dimensions ` +
        `needs about ${mib(vectorBytes)}: indexed searches get several times slower and may return fewer rows than asked. ` +
        `Set mhnsw_max_cache_size >= ${mib(vectorBytes * 1.25)} in the server configuration.`
    )
  }
  const needed = Math.max(tableBytes, vectorBytes)
  if (f.innodbBufferPoolSize < needed) {
    warnings.push(
      `innodb_buffer_pool_size is ${mib(f.innodbBufferPoolSize)} but the table holds about ${mib(needed)} ` +
        `(data ${mib(f.dataLength)}, indexes ${mib(f.indexLength)}, vectors ${mib(vectorBytes)}): exact searches read from disk and get ` +
        `an order of magnitude slower. Set innodb_buffer_pool_size >= ${mib(needed * 1.25)}.`
    )
  }
  if (f.vectorIndex.exists && !f.vectorIndex.usable) {
    warnings.push(
      `the VECTOR index ${f.vectorIndex.name ?? ''} uses DISTANCE=${f.vectorIndex.distance ?? '?'}, not cosine: MariaDB ignores it for ` +
        'cosine searches (every search is exact). Recreate it with DISTANCE=cosine (createVectorIndex drops the wrong one first).'
    )
  }
  return warnings
}

/** The range of M MariaDB accepts for a VECTOR index. */
const M_MIN = 3
const M_MAX = 200

function dropIndexClause(name: string): string {
  return `DROP INDEX \`${name.replace(/`/g, '``')}\``
}

/** Reads, caches, creates and drops the table's VECTOR index. */
export class VectorIndexAdmin {
  /** the server's mhnsw defaults, read at start (an index without M= or DISTANCE= has them) */
  defaults: ServerDefaults = { m: 6, distance: 'euclidean' }
  private readonly t: string
  private cache?: { info: VectorIndexInfo; at: number }

  constructor(
    private readonly pool: Pool,
    private readonly table: string,
    private readonly dimension: number,
    /** TTL of the cached state, for indexes other replicas create or drop */
    private readonly cacheMs: number
  ) {
    this.t = quoteTable(table)
  }

  /** The table's VECTOR index, read fresh from SHOW CREATE TABLE. */
  async info(): Promise<VectorIndexInfo> {
    return await call(async () => {
      const [row] = await this.pool.query(`SHOW CREATE TABLE ${this.t}`)
      const info = parseVectorIndex(String(row['Create Table']), this.defaults)
      this.cache = { info, at: Date.now() }
      return info
    })
  }

  /** The index as last read, read again once older than the TTL. */
  async cached(): Promise<VectorIndexInfo> {
    if (this.cache !== undefined && Date.now() - this.cache.at < this.cacheMs) return this.cache.info
    return await this.info()
  }

  /** Forgets the cached state (the index named in a FORCE INDEX was gone). */
  forget(): void {
    this.cache = undefined
  }

  /**
   * Builds the cosine VECTOR index (M = m), dropping an index with another metric
   * or M in the same ALTER. Online (ALGORITHM=COPY, LOCK=NONE) where the server
   * allows it. Build it after a bulk load: inserts are ~50x slower with it.
   */
  async create({ m = 16 }: { m?: number } = {}): Promise<{ duration_ms: number }> {
    if (!Number.isInteger(m) || m < M_MIN || m > M_MAX)
      throw new Error(`M must be an integer between ${M_MIN} and ${M_MAX}, not ${m}`)
    return await this.alter(current => {
      if (current.exists && current.usable && current.m === m) return null
      const clauses = current.exists && current.name !== undefined ? [dropIndexClause(current.name)] : []
      return [...clauses, `ADD VECTOR INDEX ${VECTOR_INDEX} (BEMBED) M=${m} DISTANCE=cosine`].join(', ')
    })
  }

  async drop(): Promise<{ duration_ms: number }> {
    return await this.alter(current =>
      current.exists && current.name !== undefined ? dropIndexClause(current.name) : null
    )
  }

  /** Server settings too small for the data (mhnsw_max_cache_size, innodb_buffer_pool_size). */
  async capacityWarnings(): Promise<string[]> {
    const index = await this.info()
    return await call(async () => {
      const [s] = await this.pool.query('SELECT @@mhnsw_max_cache_size AS cache, @@innodb_buffer_pool_size AS pool')
      const [tbl] = await this.pool.query(
        `SELECT TABLE_ROWS AS r, DATA_LENGTH AS dl, INDEX_LENGTH AS il FROM information_schema.TABLES
         WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?`,
        [this.table]
      )
      return capacityWarnings({
        dimension: this.dimension,
        rows: Number(tbl?.r ?? 0),
        dataLength: Number(tbl?.dl ?? 0),
        indexLength: Number(tbl?.il ?? 0),
        innodbBufferPoolSize: Number(s.pool),
        mhnswMaxCacheSize: Number(s.cache),
        vectorIndex: index
      })
    })
  }

  /** Runs the ALTER that `change` derives from the current index (null: nothing to do), timed. */
  private async alter(change: (current: VectorIndexInfo) => string | null): Promise<{ duration_ms: number }> {
    const started = performance.now()
    const alteration = change(await this.info())
    if (alteration === null) return { duration_ms: 0 }
    try {
      await call(async () => await alterOnline(this.pool, this.table, alteration, ['COPY']))
    } finally {
      this.cache = undefined
    }
    await this.info()
    return { duration_ms: Math.round(performance.now() - started) }
  }
}
