// The BRAG row as the driver returns it, the column lists every statement uses,
// the WHERE of a chunk filter, and the conversion of rows into chunks.
// Shared by the provider's parts (writes, reads, search, legacy keys).
import type { PoolConnection } from 'mariadb'
import { InvalidVectorError } from '../../errors.ts'
import { legacyVersion } from '../../routing/write-clock.ts'
import type { ChunkFilter, ChunkRecord, ChunkView, Vector } from '../vector-provider.ts'
import { decodeVector } from './vector-codec.ts'

export interface Row {
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

export const COLUMNS = 'BID, BUID, BMID, BCHUNK, BGROUPKEY, BTYPE, BSTART, BEND, BTEXT, BCREATED, BVERSION'

/** Ids per IN (...) list. */
export const MAX_IN_LIST = 500
/** Largest BCHUNK (INT): the placeholder index of a row deleted meanwhile, and the end of a file in a scan cursor. */
export const MAX_CHUNK_INDEX = 2147483647
const FLOAT32_MAX = 3.4028234663852886e38

export type Queryable = Pick<PoolConnection, 'query'>

export function chunked<T>(items: T[], size: number): T[][] {
  const out: T[][] = []
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size))
  return out
}

export function placeholders(n: number): string {
  return new Array(n).fill('?').join(', ')
}

export function num(v: unknown): number {
  return Number(v)
}

export function numOrNull(v: unknown): number | null {
  return v === null || v === undefined ? null : num(v)
}

/** Refuses a vector MariaDB would refuse (or store wrongly) with a 400 that says why. */
export function checkVector(vector: Vector, dimension: number): void {
  if (vector.length !== dimension) {
    throw new InvalidVectorError(
      `vector has ${vector.length} numbers; this store holds vectors of dimension ${dimension}`
    )
  }
  // MariaDB refuses a VECTOR whose squared length overflows float32 (e.g. one number above ~1.8e19)
  // an indexed loop: iterating a Float32Array with for-of cost 4x as much, per chunk written
  let squares = 0
  for (let i = 0; i < vector.length; i++) {
    const x = Math.fround(vector[i])
    squares += x * x
  }
  if (!Number.isFinite(squares) || squares > FLOAT32_MAX) {
    throw new InvalidVectorError(
      'vector is too long for MariaDB: the sum of the squares of its numbers must stay within float32 range (about 3.4e38)'
    )
  }
}

/** The WHERE clause of a filter. Group keys compare exactly (case-sensitive), like Qdrant's. */
export function whereOf(filter: ChunkFilter): { sql: string; params: unknown[] } {
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

export function versionOf(r: Row): number {
  const v = numOrNull(r.BVERSION)
  return v ?? legacyVersion(num(r.BCREATED))
}

export function toView(r: Row, chunkIndex: number, withVector: boolean): ChunkView {
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
    version: versionOf(r)
  }
  if (withVector && r.BEMBED !== undefined) view.vector = decodeVector(r.BEMBED)
  return view
}

export function toRecord(r: Row, chunkIndex: number): ChunkRecord {
  return { ...toView(r, chunkIndex, true), vector: decodeVector(r.BEMBED!) }
}
