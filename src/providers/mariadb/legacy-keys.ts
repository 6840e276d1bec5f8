// Keys of the rows the application wrote itself ("legacy rows": BCHUNK NULL,
// BVERSION NULL).
//
// Their chunk index is derived: their 0-based position among the file's legacy
// rows ordered by (BSTART, BID), offset past the largest BCHUNK the file already
// has (so a file holding both kinds never shows one key twice; for a file of
// legacy rows only it is exactly the position within (user, file) by BSTART, then
// BID). Their version is BCREATED * 1e6 (legacyVersion, brag-rows.ts). The first
// time the gateway writes or deletes keys in a file that still has legacy rows, it
// stores those derived indexes in BCHUNK (same transaction, materialize), so the
// keys it reasons about never shift under it and the unique key (BUID, BMID,
// BCHUNK) makes an insert-only backfill of such a file skip what is already
// there. BVERSION stays NULL on them.
import { chunked, MAX_CHUNK_INDEX, MAX_IN_LIST, num, placeholders, type Queryable, type Row } from './brag-rows.ts'
import { quoteTable } from './mariadb-schema.ts'

export class LegacyKeys {
  private readonly t: string

  constructor(
    private readonly table: string,
    private readonly log?: { info: (msg: string) => void }
  ) {
    this.t = quoteTable(table)
  }

  /**
   * BID -> chunk index for `rows`: BCHUNK where set, else derived with one query
   * over just the files holding legacy rows.
   */
  async chunkIndexes(q: Queryable, userId: number, rows: Row[]): Promise<Map<number, number>> {
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

  /**
   * Stores the derived chunk index of the legacy rows of these files in BCHUNK,
   * inside the caller's transaction, before keyed writes or deletes touch them.
   */
  async materialize(conn: Queryable, userId: number, fileIds: number[]): Promise<void> {
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
}
