// Reads of the BRAG table: one file's chunks, a filter's keys, counts, the users,
// and the key-ordered scan a migration copies by. Chunk indexes of application
// rows are derived on the fly (legacy-keys.ts).
import type { Pool } from 'mariadb'
import {
  compareKeys,
  type ChunkFilter,
  type ChunkKey,
  type ChunkRecord,
  type ChunkView,
  type KeyInfo
} from '../vector-provider.ts'
import {
  COLUMNS,
  MAX_CHUNK_INDEX,
  num,
  numOrNull,
  toRecord,
  toView,
  versionOf,
  whereOf,
  type Row
} from './brag-rows.ts'
import type { LegacyKeys } from './legacy-keys.ts'
import { call } from './mariadb-errors.ts'
import { quoteTable } from './mariadb-schema.ts'

export class ChunkReads {
  private readonly t: string

  constructor(
    private readonly pool: Pool,
    table: string,
    private readonly legacy: LegacyKeys
  ) {
    this.t = quoteTable(table)
  }

  async list(userId: number, fileId: number, withVectors: boolean): Promise<ChunkView[]> {
    return await call(async () => {
      const rows: Row[] = await this.pool.query(
        `SELECT ${COLUMNS}${withVectors ? ', BEMBED' : ''} FROM ${this.t} WHERE BUID = ? AND BMID = ?`,
        [userId, fileId]
      )
      const indexes = await this.legacy.chunkIndexes(this.pool, userId, rows)
      return rows
        .map(r => toView(r, indexes.get(num(r.BID))!, withVectors))
        .sort((a, b) => a.chunk_index - b.chunk_index)
    })
  }

  async keys(filter: ChunkFilter): Promise<KeyInfo[]> {
    if (filter.file_ids !== undefined && filter.file_ids.length === 0) return []
    const where = whereOf(filter)
    return await call(async () => {
      const rows: Row[] = await this.pool.query(
        `SELECT BID, BMID, BCHUNK, BGROUPKEY, BSTART, BCREATED, BVERSION FROM ${this.t} WHERE ${where.sql} ORDER BY BMID, BCHUNK`,
        where.params
      )
      const indexes = await this.legacy.chunkIndexes(this.pool, filter.user_id, rows)
      return rows
        .map(r => ({
          file_id: num(r.BMID),
          chunk_index: indexes.get(num(r.BID))!,
          group_key: r.BGROUPKEY,
          version: versionOf(r)
        }))
        .sort(compareKeys)
    })
  }

  async count(filter?: ChunkFilter): Promise<number> {
    if (filter?.file_ids !== undefined && filter.file_ids.length === 0) return 0
    return await call(async () => {
      if (filter === undefined) {
        const [row] = await this.pool.query(`SELECT COUNT(*) AS n FROM ${this.t}`)
        return num(row.n)
      }
      const where = whereOf(filter)
      const [row] = await this.pool.query(`SELECT COUNT(*) AS n FROM ${this.t} WHERE ${where.sql}`, where.params)
      return num(row.n)
    })
  }

  async users(): Promise<number[]> {
    return await call(async () => {
      const rows: Array<{ u: unknown }> = await this.pool.query(
        `SELECT DISTINCT BUID AS u FROM ${this.t} ORDER BY BUID`
      )
      return rows.map(r => num(r.u))
    })
  }

  /**
   * A user's chunks in key order after `after`. Keyset pagination on the unique
   * key for rows with BCHUNK; a file holding legacy rows is read whole (its
   * indexes are derived from all its rows), so memory stays at one page plus
   * one file.
   */
  async scan(userId: number, after: ChunkKey | null, limit: number): Promise<ChunkRecord[]> {
    if (limit <= 0) return []
    return await call(async () => await this.scanPages(userId, after, limit))
  }

  private async scanPages(userId: number, after: ChunkKey | null, limit: number): Promise<ChunkRecord[]> {
    const out: ChunkRecord[] = []
    let cursor = after
    let legacyFrom = after?.file_id ?? 0
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
      for (const r of rows) out.push(toRecord(r, num(r.BCHUNK)))
      if (out.length >= limit || legacyFile === null) break

      // every keyed row before the legacy file is out: now that file, whole
      const fileRows: Row[] = await this.pool.query(
        `SELECT ${COLUMNS}, BEMBED FROM ${this.t} WHERE BUID = ? AND BMID = ?`,
        [userId, legacyFile]
      )
      const indexes = await this.legacy.chunkIndexes(this.pool, userId, fileRows)
      const from = cursor !== null && cursor.file_id === legacyFile ? cursor.chunk_index : -1
      const records = fileRows
        .map(r => ({ r, idx: indexes.get(num(r.BID))! }))
        .filter(e => e.idx > from)
        .sort((a, b) => a.idx - b.idx)
      const take = records.slice(0, limit - out.length)
      for (const e of take) out.push(toRecord(e.r, e.idx))
      if (take.length < records.length) break
      cursor = { file_id: legacyFile, chunk_index: MAX_CHUNK_INDEX }
      legacyFrom = legacyFile + 1
    }
    return out
  }
}
