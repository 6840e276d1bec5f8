// Reading the table's VECTOR index from SHOW CREATE TABLE, and sizing advice.
//
// MariaDB uses a VECTOR index only for `ORDER BY VEC_DISTANCE_<its metric>(...)
// LIMIT n`. The gateway searches with cosine, so an index built with another
// DISTANCE (the server default is euclidean) is reported unusable and never
// relied on.

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

/** Warnings for settings too small for the data (ENVIRONMENT.md measured 4-12x slowdowns). */
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
