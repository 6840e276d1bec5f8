// Writes to the BRAG table: keyed upserts (batched INSERT ... ON DUPLICATE KEY
// UPDATE), deletes by filter, by key and by key-and-version, group key updates.
// Keyed writes run in READ COMMITTED transactions that lock rows in key order;
// write conflicts (1020/1213) are retried, and counted, and a conflict the
// retries did not resolve is a 503 "busy" (mariadb-errors.ts).
// Before a keyed write touches a file holding application rows, their derived
// chunk indexes are stored (legacy-keys.ts).
import type { Pool, PoolConnection, UpsertResult } from 'mariadb'
import { inTransaction, isWriteConflict, retryWriteConflicts } from '../../store/transaction.ts'
import { sizeBatches } from '../size-batches.ts'
import {
  compareKeys,
  type ChunkFilter,
  type ChunkKey,
  type ChunkRecord,
  type UpsertOptions,
  type VersionedKey
} from '../vector-provider.ts'
import { checkVector, chunked, MAX_IN_LIST, num, placeholders, whereOf } from './brag-rows.ts'
import type { CountCache } from './count-cache.ts'
import type { LegacyKeys } from './legacy-keys.ts'
import { translateError } from './mariadb-errors.ts'
import { quoteTable } from './mariadb-schema.ts'
import { encodeVector } from './vector-codec.ts'

/** How upsert sends its rows (all prepared or batched, vectors as float32 bytes). */
export type WriteMethod = 'execute' | 'batch' | 'query'

export const INSERT_COLUMNS = 'BUID, BMID, BCHUNK, BGROUPKEY, BTYPE, BSTART, BEND, BTEXT, BEMBED, BCREATED, BVERSION'
export const ROW_PLACEHOLDERS = '(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)'
const UPSERT_UPDATE =
  'ON DUPLICATE KEY UPDATE BGROUPKEY = VALUES(BGROUPKEY), BTYPE = VALUES(BTYPE), ' +
  'BSTART = VALUES(BSTART), BEND = VALUES(BEND), BTEXT = VALUES(BTEXT), BEMBED = VALUES(BEMBED), ' +
  'BCREATED = VALUES(BCREATED), BVERSION = VALUES(BVERSION)'
// Not INSERT IGNORE: IGNORE also turns truncations and invalid values into warnings.
// A no-op update skips exactly the rows whose key exists and nothing else.
const INSERT_ONLY_UPDATE = 'ON DUPLICATE KEY UPDATE BID = BID'

/** keyed terms per conditional DELETE (deleteOlderKeys) */
const OLDER_KEYS_PER_DELETE = 200
const DELETE_CHUNK_ROWS = 5000
/** Statement sizes used for the rest of a batch: a bounded set of prepared statements. */
const REMAINDER_SIZES = [256, 128, 64, 32, 16, 8, 4, 2, 1]

export interface ChunkWritesOptions {
  pool: Pool
  table: string
  dimension: number
  batchRows: number
  writeMethod: WriteMethod
  legacy: LegacyKeys
  /** told which users this provider wrote to */
  counts: CountCache
}

export class ChunkWrites {
  /** write conflicts (1020/1213) retried, and requests refused busy after the last attempt */
  readonly writeConflicts = { retried: 0, refused: 0 }
  /** bytes per INSERT statement (set at start from max_allowed_packet) */
  statementBytes = 8 * 1024 * 1024

  private readonly t: string

  constructor(private readonly o: ChunkWritesOptions) {
    this.t = quoteTable(o.table)
  }

  async upsert(chunks: ChunkRecord[], options: UpsertOptions = {}): Promise<number> {
    if (chunks.length === 0) return 0
    for (const c of chunks) checkVector(c.vector, this.o.dimension)
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
      for (const [userId, fileIds] of files) await this.o.legacy.materialize(conn, userId, [...fileIds])
      for (const batch of this.statementBatches(chunks)) await this.writeRows(conn, batch, tail)
    })
    for (const userId of files.keys()) this.o.counts.forget(userId)
    // Every chunk was written (upsert) or was already there (insertOnly).
    return chunks.length
  }

  async updateGroupKey(userId: number, fileId: number, groupKey: string): Promise<number> {
    const res = await this.writeStatement(`UPDATE ${this.t} SET BGROUPKEY = ? WHERE BUID = ? AND BMID = ?`, [
      groupKey,
      userId,
      fileId
    ])
    this.o.counts.forget(userId)
    return num(res.affectedRows)
  }

  async delete(filter: ChunkFilter): Promise<number> {
    if (filter.file_ids !== undefined && filter.file_ids.length === 0) return 0
    const where = whereOf(filter)
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
      this.o.counts.forget(filter.user_id)
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
      await this.o.legacy.materialize(conn, userId, [...new Set(sorted.map(k => k.file_id))])
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
    this.o.counts.forget(userId)
    return deleted
  }

  async deleteOlderKeys(userId: number, keys: VersionedKey[]): Promise<number> {
    if (keys.length === 0) return 0
    let deleted = 0
    await this.transaction(async conn => {
      await this.o.legacy.materialize(conn, userId, [...new Set(keys.map(k => k.file_id))])
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
    this.o.counts.forget(userId)
    return deleted
  }

  /** Splits rows into statements of at most batchRows rows and statementBytes bytes. */
  private statementBatches(chunks: ChunkRecord[]): ChunkRecord[][] {
    const { batchRows, writeMethod } = this.o
    const out = sizeBatches(
      chunks,
      batchRows,
      this.statementBytes,
      c => Buffer.byteLength(c.text) + c.vector.length * 4 + c.group_key.length + 128
    )
    if (writeMethod !== 'execute') return out
    // prepared statements: cut each short batch into a few fixed sizes, so a
    // connection only ever prepares a bounded set of statements
    const sized: ChunkRecord[][] = []
    for (const batch of out) {
      if (batch.length === batchRows) {
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

  private async writeRows(conn: PoolConnection, rows: ChunkRecord[], tail: string): Promise<void> {
    if (this.o.writeMethod === 'batch') {
      await conn.batch(
        `INSERT INTO ${this.t} (${INSERT_COLUMNS}) VALUES ${ROW_PLACEHOLDERS} ${tail}`,
        rows.map(rowParams)
      )
      return
    }
    const sql = `INSERT INTO ${this.t} (${INSERT_COLUMNS}) VALUES ${new Array(rows.length).fill(ROW_PLACEHOLDERS).join(', ')} ${tail}`
    const params = rows.flatMap(rowParams)
    if (this.o.writeMethod === 'execute') await conn.execute(sql, params)
    else await conn.query(sql, params)
  }

  private async transaction(fn: (conn: PoolConnection) => Promise<void>): Promise<void> {
    try {
      // keyed writes: READ COMMITTED, so writers of the same keys queue on row locks (no 1020)
      await inTransaction(this.o.pool, fn, { readCommitted: true, onRetry: this.onConflict })
    } catch (err) {
      this.translateWrite(err)
    }
  }

  /** One autocommit write statement, retried on write conflicts like a transaction. */
  private async writeStatement(sql: string, params: unknown[]): Promise<UpsertResult> {
    try {
      return await retryWriteConflicts(async () => await this.o.pool.query(sql, params), { onRetry: this.onConflict })
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

/** One row's INSERT parameters in column order (the ingest benchmark inserts with it too). */
export function rowParams(c: ChunkRecord): unknown[] {
  return [
    c.user_id,
    c.file_id,
    c.chunk_index,
    c.group_key,
    c.file_type,
    c.start_line,
    c.end_line,
    c.text,
    encodeVector(c.vector),
    c.created,
    c.version
  ]
}

function compareRecords(a: ChunkRecord, b: ChunkRecord): number {
  return a.user_id - b.user_id || compareKeys(a, b)
}
