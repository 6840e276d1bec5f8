// Support for the MariaDB provider tests: pools, the application's own SQL (to
// build tables and rows exactly as the application does), clustered data.
import mariadb, { type Pool, type PoolConfig } from 'mariadb'
import { MariaDbProvider, type MariaDbProviderOptions } from '../../../src/providers/mariadb/mariadb-provider.ts'
import { createTableSql } from '../../../src/providers/mariadb/mariadb-schema.ts'
import type { ChunkRecord } from '../../../src/providers/vector-provider.ts'
import { nextVersion } from '../../../src/routing/write-clock.ts'
import { normalize, prng } from '../provider-contract.ts'

export function poolConfig(url: string, extra: Partial<PoolConfig> = {}): PoolConfig {
  const u = new URL(url)
  const database = decodeURIComponent(u.pathname.replace(/^\//, ''))
  return {
    host: u.hostname,
    port: u.port ? Number(u.port) : 3306,
    user: decodeURIComponent(u.username) || 'root',
    password: decodeURIComponent(u.password),
    ...(database ? { database } : {}),
    connectionLimit: 4,
    connectTimeout: 3000,
    acquireTimeout: 5000,
    bigIntAsNumber: true,
    insertIdAsNumber: true,
    decimalAsNumber: true,
    ...extra
  }
}

export function createPool(url: string, extra: Partial<PoolConfig> = {}): Pool {
  return mariadb.createPool(poolConfig(url, extra))
}

export function newProvider(pool: Pool, options: Partial<MariaDbProviderOptions> = {}): MariaDbProvider {
  return new MariaDbProvider({ pool, table: 'BRAG', dimension: 8, exactSearchMaxRows: 3000, efSearch: 100, ...options })
}

/** The application's CREATE TABLE (docs/architecture.md#brag-table): the provider creates the same when it is missing. */
export async function createAppTable(pool: Pool, dimension: number, table = 'BRAG'): Promise<void> {
  await pool.query(createTableSql(table, dimension))
}

export interface AppRow {
  user: number
  file: number
  group: string
  type: number
  start: number
  end: number
  text: string
  vector: number[]
  created: number
}

/** Inserts rows the way the application does: plain INSERT, VEC_FromText, no BCHUNK/BVERSION. Returns their BIDs. */
export async function appInsert(pool: Pool, rows: AppRow[], table = 'BRAG'): Promise<number[]> {
  const ids: number[] = []
  for (const r of rows) {
    const res = await pool.query(
      `INSERT INTO \`${table}\` (BUID, BMID, BGROUPKEY, BTYPE, BSTART, BEND, BTEXT, BEMBED, BCREATED)
       VALUES (?, ?, ?, ?, ?, ?, ?, VEC_FromText(?), ?)`,
      [r.user, r.file, r.group, r.type, r.start, r.end, r.text, JSON.stringify(r.vector), r.created]
    )
    ids.push(Number(res.insertId))
  }
  return ids
}

/** The application's own search SQL. */
export async function appSearch(
  pool: Pool,
  userId: number,
  vector: number[],
  limit: number,
  table = 'BRAG'
): Promise<Array<{ BID: number; BMID: number; BTEXT: string; score: number }>> {
  const text = JSON.stringify(vector)
  return await pool.query(
    `SELECT BID, BMID, BTEXT, 1 - VEC_DISTANCE_COSINE(BEMBED, VEC_FromText(?)) AS score
     FROM \`${table}\` WHERE BUID = ? ORDER BY VEC_DISTANCE_COSINE(BEMBED, VEC_FromText(?)) LIMIT ?`,
    [text, userId, text, limit]
  )
}

/** Gaussian noise from a seeded PRNG (Box-Muller). */
export function gaussian(r: () => number): number {
  const u = Math.max(r(), 1e-12)
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * r())
}

/** Unit vectors drawn from a mixture of `clusters` Gaussians around random unit centres. */
export function clusteredVectors(
  count: number,
  dimension: number,
  clusters: number,
  spread: number,
  seed: number
): {
  centres: number[][]
  vectors: number[][]
  cluster: number[]
} {
  const r = prng(seed)
  const centres = Array.from({ length: clusters }, () =>
    normalize(Array.from({ length: dimension }, () => gaussian(r)))
  )
  const cluster: number[] = []
  const vectors = Array.from({ length: count }, () => {
    const c = Math.floor(r() * clusters)
    cluster.push(c)
    return normalize(centres[c].map(x => x + gaussian(r) * spread))
  })
  return { centres, vectors, cluster }
}

export function chunksFor(
  userId: number,
  vectors: number[][],
  perFile: number,
  fields: (i: number) => Partial<ChunkRecord> = () => ({})
): ChunkRecord[] {
  return vectors.map((vector, i) => ({
    user_id: userId,
    file_id: 1 + Math.floor(i / perFile),
    chunk_index: i % perFile,
    group_key: 'DEFAULT',
    file_type: 0,
    start_line: i,
    end_line: i,
    text: `u${userId} #${i}`,
    vector,
    created: 1_760_000_000,
    version: nextVersion(),
    ...fields(i)
  }))
}
