// Ingest: a direct binary prepared insert (the fastest way measured here: multi-row
// `execute` with float32 Buffer parameters) against the gateway's POST /chunks.
import type { Pool } from 'mariadb'
import type { BenchChunk } from './data.ts'
import { chunksBody } from './data.ts'
import { dataHeaders, httpRequest, pool as workers, type CpuShare } from './harness.ts'

const INSERT_COLUMNS = 'BUID, BMID, BCHUNK, BGROUPKEY, BTYPE, BSTART, BEND, BTEXT, BEMBED, BCREATED, BVERSION'
const ROW = '(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)'

export interface IngestResult {
  chunks: number
  ms: number
  chunksPerSecond: number
  concurrency: number
  batch: number
  /** CPU seconds per process during the load */
  cpu?: CpuShare
}

/** One 1000-chunk batch as insert parameters (BCHUNK and BVERSION set, as the gateway writes them). */
export function insertParams (chunks: BenchChunk[], version0: number): unknown[][] {
  return chunks.map((c, i) => [c.user_id, c.file_id, c.chunk_index, c.group_key, c.file_type, c.start_line, c.end_line,
    c.text, Buffer.from(c.vector.buffer, c.vector.byteOffset, c.vector.byteLength), c.created, version0 + i])
}

/**
 * Inserts batches (each one transaction of prepared multi-row INSERTs of at most
 * `statementRows` rows) on `concurrency` connections. `batches(i)` gives batch i.
 */
export async function directInsert (
  pool: Pool, table: string, count: number, batches: (i: number) => unknown[][],
  options: { concurrency: number, statementRows?: number }
): Promise<number> {
  const statementRows = options.statementRows ?? 500
  let rows = 0
  await workers(count, options.concurrency, async i => {
    const batch = batches(i)
    const conn = await pool.getConnection()
    try {
      await conn.beginTransaction()
      for (let s = 0; s < batch.length; s += statementRows) {
        const part = batch.slice(s, s + statementRows)
        await conn.execute(`INSERT INTO \`${table}\` (${INSERT_COLUMNS}) VALUES ${new Array(part.length).fill(ROW).join(', ')}`, part.flat())
      }
      await conn.commit()
      rows += batch.length
    } catch (err) {
      await conn.rollback().catch(() => {})
      throw err
    } finally {
      await conn.release()
    }
  })
  return rows
}

/** Times directInsert over batches prepared beforehand (generation is not timed). */
export async function timedDirectInsert (
  pool: Pool, table: string, prepared: unknown[][][], concurrency: number
): Promise<IngestResult> {
  const started = performance.now()
  const chunks = await directInsert(pool, table, prepared.length, i => prepared[i], { concurrency })
  const ms = performance.now() - started
  return { chunks, ms, chunksPerSecond: chunks / (ms / 1000), concurrency, batch: prepared[0]?.length ?? 0 }
}

/** POST /chunks bodies, serialised beforehand (the client's JSON work is not timed). */
export function gatewayBodies (batches: BenchChunk[][]): Buffer[] {
  return batches.map(b => Buffer.from(chunksBody(b)))
}

/** Sends every body to POST /chunks from `concurrency` clients; all must answer 200. */
export async function timedGatewayIngest (url: string, bodies: Buffer[], chunksPerBody: number, concurrency: number): Promise<IngestResult> {
  const started = performance.now()
  let chunks = 0
  await workers(bodies.length, concurrency, async i => {
    const answer = await httpRequest(url, 'POST', '/chunks', bodies[i], dataHeaders)
    if (answer.status !== 200) throw new Error(`POST /chunks answered ${answer.status}: ${answer.body.slice(0, 300)}`)
    chunks += (JSON.parse(answer.body) as { stored: number }).stored
  })
  const ms = performance.now() - started
  return { chunks, ms, chunksPerSecond: chunks / (ms / 1000), concurrency, batch: chunksPerBody }
}
