// Ingest: a direct binary prepared insert (the fastest way measured here: multi-row
// `execute` with float32 Buffer parameters) against the gateway's POST /chunks.
// Section I (issue 9 §4) sends the same rows to POST /chunks twice, vectors as JSON
// number arrays and as base64 of little-endian float32, each into a fresh table, and
// inserts them directly, over 3 rounds with each path going first in turn.
import type { Pool } from 'mariadb'
import { loadConfig } from '../src/config.ts'
import { createProviders } from '../src/providers/create-providers.ts'
import type { BenchChunk } from './data.ts'
import { ClusterModel, chunksBody, layoutRows, uniformLayout } from './data.ts'
import {
  CpuMeter,
  createDatabase,
  dataHeaders,
  httpRequest,
  log,
  serverPid,
  startGateway,
  pool as workers,
  type CpuShare
} from './harness.ts'
import type { BenchOptions } from './options.ts'
import { INSERT_COLUMNS, ROW_PLACEHOLDERS, rowParams } from '../src/providers/mariadb/chunk-writes.ts'

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
export function insertParams(chunks: BenchChunk[], version0: number): unknown[][] {
  return chunks.map((c, i) => rowParams({ ...c, version: version0 + i }))
}

/**
 * Inserts batches (each one transaction of prepared multi-row INSERTs of at most
 * `statementRows` rows) on `concurrency` connections. `batches(i)` gives batch i.
 */
export async function directInsert(
  pool: Pool,
  table: string,
  count: number,
  batches: (i: number) => unknown[][],
  options: { concurrency: number; statementRows?: number }
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
        await conn.execute(
          `INSERT INTO \`${table}\` (${INSERT_COLUMNS}) VALUES ${new Array(part.length).fill(ROW_PLACEHOLDERS).join(', ')}`,
          part.flat()
        )
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
export async function timedDirectInsert(
  pool: Pool,
  table: string,
  prepared: unknown[][][],
  concurrency: number
): Promise<IngestResult> {
  const started = performance.now()
  const chunks = await directInsert(pool, table, prepared.length, i => prepared[i], { concurrency })
  const ms = performance.now() - started
  return { chunks, ms, chunksPerSecond: chunks / (ms / 1000), concurrency, batch: prepared[0]?.length ?? 0 }
}

/** POST /chunks bodies, serialised beforehand (the client's JSON work is not timed). */
export function gatewayBodies(batches: BenchChunk[][]): Buffer[] {
  return batches.map(b => Buffer.from(chunksBody(b)))
}

/** The same bodies with each vector as base64 of its little-endian float32 bytes (encoding_format "base64"). */
export function base64Bodies(batches: BenchChunk[][]): Buffer[] {
  return batches.map(b =>
    Buffer.from(
      JSON.stringify({
        chunks: b.map(c => ({
          ...c,
          vector: Buffer.from(c.vector.buffer, c.vector.byteOffset, c.vector.byteLength).toString('base64')
        }))
      })
    )
  )
}

/** Sends every body to POST /chunks from `concurrency` clients; all must answer 200. */
export async function timedGatewayIngest(
  url: string,
  bodies: Buffer[],
  chunksPerBody: number,
  concurrency: number
): Promise<IngestResult> {
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

export interface IngestSectionResult {
  chunks: number
  clients: number
  /** the median round of each path (by chunks/s) */
  direct: IngestResult
  json: IngestResult & { bodyMiB: number }
  base64: IngestResult & { bodyMiB: number }
  /** median gateway chunks/s / median direct chunks/s (issue 9 §4 targets: >= 0.50 JSON, >= 0.80 base64) */
  jsonRatio: number
  base64Ratio: number
  /** gateway / direct chunks/s of each round */
  roundRatios: { json: number[]; base64: number[] }
}

export const INGEST_TARGETS = { json: 0.5, base64: 0.8 }
/** rounds of the three paths, each path going first in turn: one pass each swung the direct insert 18,000-44,000 chunks/s */
const ROUNDS = 3

type IngestPath = 'direct' | 'json' | 'base64'

/**
 * Section I: the same rows inserted directly and through POST /chunks (JSON arrays and
 * base64), each pass into a fresh table of one database, same concurrency, over rounds.
 */
export async function runIngestSection(o: BenchOptions): Promise<IngestSectionResult> {
  const db = await createDatabase(
    o.serverUrl,
    `vgbench_${o.runId}_ingest_forms`,
    o.keep,
    Math.max(4, o.ingestClients + 1)
  )
  try {
    const users = 20
    const model = new ClusterModel(o.seed + 3, { dimension: 1024 })
    const rows = [...layoutRows(uniformLayout(1, users, Math.ceil(o.ingestChunks / users)), model, o.seed + 3)].slice(
      0,
      o.ingestChunks
    )
    const batches: BenchChunk[][] = []
    for (let i = 0; i < rows.length; i += 1000) batches.push(rows.slice(i, i + 1000))
    const mariadbPid = await serverPid(o.serverUrl)
    const bodies = { json: gatewayBodies(batches), base64: base64Bodies(batches) }

    const direct = async (round: number): Promise<IngestResult> => {
      const table = `BRAG_DIRECT_${round}`
      await createProviders(
        loadConfig({ MARIADB_URL: db.url, MARIADB_TABLE: table, AUTH_DISABLED: 'true' }),
        db.pool
      ).mariadb.init()
      const version0 = Date.now() * 1000
      const params = batches.map((b, i) => insertParams(b, version0 + i * 1000))
      const meter = new CpuMeter({ mariadb: mariadbPid })
      const r = await timedDirectInsert(db.pool, table, params, o.ingestClients)
      r.cpu = meter.stop()
      log(
        `I: round ${round + 1}, direct binary prepared insert, ${o.ingestClients} connections: ${r.chunksPerSecond.toFixed(0)} chunks/s`
      )
      return r
    }
    const viaGateway = async (form: 'json' | 'base64', round: number): Promise<IngestResult & { bodyMiB: number }> => {
      const table = `BRAG_${form.toUpperCase()}_${round}`
      const gateway = await startGateway({ MARIADB_URL: db.url, MARIADB_TABLE: table })
      try {
        const sent = bodies[form]
        const bodyMiB = sent.reduce((s, b) => s + b.length, 0) / sent.length / 1024 / 1024
        const meter = new CpuMeter({ gateway: gateway.pid, mariadb: mariadbPid })
        const r = await timedGatewayIngest(gateway.url, sent, 1000, o.ingestClients)
        r.cpu = meter.stop()
        const [{ n }] = await db.pool.query(`SELECT COUNT(*) AS n FROM ${table}`)
        if (Number(n) !== r.chunks)
          throw new Error(`POST /chunks (${form}) stored ${String(n)} rows, expected ${r.chunks}`)
        log(
          `I: round ${round + 1}, gateway POST /chunks, vectors as ${form} (${bodyMiB.toFixed(1)} MiB per 1000 chunks), ` +
            `${o.ingestClients} clients: ${r.chunksPerSecond.toFixed(0)} chunks/s`
        )
        return { ...r, bodyMiB }
      } finally {
        await gateway.stop()
      }
    }

    const runs = {
      direct: [] as IngestResult[],
      json: [] as Array<IngestResult & { bodyMiB: number }>,
      base64: [] as Array<IngestResult & { bodyMiB: number }>
    }
    const paths: IngestPath[] = ['direct', 'json', 'base64']
    const rounds = o.quick ? 1 : ROUNDS
    for (let round = 0; round < rounds; round++) {
      for (const path of [...paths.slice(round % 3), ...paths.slice(0, round % 3)]) {
        if (path === 'direct') runs.direct.push(await direct(round))
        else runs[path].push(await viaGateway(path, round))
      }
    }
    const median = <T extends IngestResult>(results: T[]): T =>
      [...results].sort((a, b) => a.chunksPerSecond - b.chunksPerSecond)[Math.floor(results.length / 2)]
    const [d, json, base64] = [median(runs.direct), median(runs.json), median(runs.base64)]
    const perRound = (form: 'json' | 'base64'): number[] =>
      runs[form].map((r, i) => r.chunksPerSecond / runs.direct[i].chunksPerSecond)
    return {
      chunks: rows.length,
      clients: o.ingestClients,
      direct: d,
      json,
      base64,
      jsonRatio: json.chunksPerSecond / d.chunksPerSecond,
      base64Ratio: base64.chunksPerSecond / d.chunksPerSecond,
      roundRatios: { json: perRound('json'), base64: perRound('base64') }
    }
  } finally {
    await db.drop()
  }
}
