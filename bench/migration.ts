// Section D: migration mariadb -> qdrant and back (Qdrant is the project's REST
// emulator, in a child process of its own so the ~400 MB of vectors it holds do
// not count as the gateway's, or the server at --qdrant-url). The source table is
// loaded directly; then, for reference, the raw speed of reading the same rows from
// the source alone (MariaDbProvider.scan in batches, no writes).
//
// Each direction is measured twice in the same run (issue 9 §5):
// - a direct copy: this bench process reads the rows with the same provider code
//   (same driver) and writes them with the same provider code (same client) and
//   batch size to a separate target (another collection / another database), one
//   batch after the other: no gateway, no locks, no checkpoints, no verification;
// - the engine: POST /admin/vector-storage/migrations on a gateway child process,
//   polled until it completes, with the gateway's RSS sampled every 100 ms.
// mariadb -> qdrant runs first; then BRAG is emptied and qdrant -> mariadb copies
// the migrated collection back.
import { loadConfig } from '../src/config.ts'
import { createProviders } from '../src/providers/create-providers.ts'
import type { ProviderName, VectorProvider } from '../src/providers/vector-provider.ts'
import { ClusterModel, layoutRows, totalRows, uniformLayout, type BenchChunk } from './data.ts'
import {
  CpuMeter,
  MiB,
  adminHeaders,
  serverPid,
  type CpuShare,
  createDatabase,
  httpJson,
  log,
  processMemory,
  sleep,
  startGateway,
  startQdrant,
  type Gateway,
  type QdrantHandle,
  type QdrantKind
} from './harness.ts'
import { directInsert, insertParams } from './ingest.ts'
import { initMariadb } from './mariadb-search.ts'
import type { BenchOptions } from './options.ts'

export interface Rate {
  chunks: number
  ms: number
  chunksPerSecond: number
}

export interface EngineRun {
  status: string
  error: string | null
  /** POST until the status said completed (includes the runner's start delay, planning and verification) */
  wallMs: number
  /** first user's start to completed_at (copy and verification, without the runner's start delay) */
  engineMs: number
  chunksPerSecondWall: number
  chunksPerSecondEngine: number
  /** copy rate between 10% and 90% of progress */
  chunksPerSecondSteady: number
  /** CPU seconds per process while the migration ran */
  cpu: CpuShare
  /** what the API reported last */
  reportedChunksPerSecond: number | null
  migratedChunks: number
  targetCount: number
  idleRss: number
  peakRss: number
  /** peak RSS per quarter of the progress */
  byQuarter: number[]
  /** peak of the second half minus the peak of the first half */
  growth: number
}

export interface DirectionResult {
  from: ProviderName
  to: ProviderName
  /** bench process: same provider code, same batch size, no gateway/locks/checkpoints */
  direct: Rate & { cpu: CpuShare }
  engine: EngineRun
  /** engine (first user start..completed) / direct copy */
  ratio: number
  /** engine steady (10%..90%) / direct copy */
  ratioSteady: number
}

function direction(
  from: ProviderName,
  to: ProviderName,
  direct: DirectionResult['direct'],
  engine: EngineRun
): DirectionResult {
  return {
    from,
    to,
    direct,
    engine,
    ratio: engine.chunksPerSecondEngine / direct.chunksPerSecond,
    ratioSteady: engine.chunksPerSecondSteady / direct.chunksPerSecond
  }
}

export interface MigrationResult {
  chunks: number
  users: number
  batch: number
  /** MIGRATION_USER_CONCURRENCY of the gateway */
  concurrency: number
  loadMs: number
  rawRead: Rate
  directions: DirectionResult[]
  /** kept for the summary rows: the mariadb -> qdrant engine run */
  migration: EngineRun
  memory: {
    idleRss: number
    peakRss: number
    hwm: number
    byQuarter: number[]
    growth: number
    /** absent for a server: its memory cannot be measured from here */
    emulatorPeakRss?: number
  }
  qdrant: QdrantKind
  qdrantUrl: string
}

export const MIGRATION_TARGET = 0.8
const FIRST_USER = 5001

/** Reads every user of `source` in batches and writes each batch to `target`, one after the other. */
async function directCopy(source: VectorProvider, target: VectorProvider, batch: number): Promise<Rate> {
  const started = performance.now()
  let copied = 0
  for (const userId of await source.users()) {
    let after = null
    for (;;) {
      const page = await source.scan(userId, after, batch)
      if (page.length > 0) await target.upsert(page, { insertOnly: true })
      copied += page.length
      if (page.length < batch) break
      const last = page[page.length - 1]
      after = { file_id: last.file_id, chunk_index: last.chunk_index }
    }
  }
  const ms = performance.now() - started
  return { chunks: copied, ms, chunksPerSecond: copied / (ms / 1000) }
}

/** One migration through the gateway's engine, polled until it ends, with the gateway's RSS by progress. */
async function engineMigration(
  gateway: Gateway,
  from: ProviderName,
  to: ProviderName,
  batch: number,
  pids: Record<string, number | undefined>
): Promise<EngineRun> {
  const idleRss = processMemory(gateway.pid)?.rss ?? Number.NaN
  gateway.memory.phase = `migration ${from}`
  log(`D: POST /admin/vector-storage/migrations ${from} -> ${to}, batch ${batch}`)
  const cpuMeter = new CpuMeter(pids)
  const started = performance.now()
  const created = await httpJson(
    gateway.url,
    'POST',
    '/admin/vector-storage/migrations',
    { from, to, batch_size: batch },
    adminHeaders
  )
  const progress: Array<{ t: number; migrated: number }> = []
  let view: any
  let lastLog = 0
  for (;;) {
    await sleep(200)
    view = await httpJson(
      gateway.url,
      'GET',
      `/admin/vector-storage/migrations/${Number(created.id)}?per_page=1000`,
      undefined,
      adminHeaders
    )
    const t = performance.now() - started
    progress.push({ t, migrated: Number(view.migrated_chunks) })
    if (t - lastLog > 10_000) {
      lastLog = t
      log(
        `   ${view.status}: ${String(view.migrated_chunks)}/${String(view.total_chunks)} chunks, ${String(view.chunks_per_second)} chunks/s, ` +
          `gateway RSS ${((processMemory(gateway.pid)?.rss ?? 0) / MiB).toFixed(0)} MiB`
      )
    }
    if (!['running', 'paused'].includes(String(view.status))) break
    if (t > 3_600_000) throw new Error('D: the migration did not finish within an hour')
  }
  const wallMs = performance.now() - started
  const cpu = cpuMeter.stop()
  const phase = gateway.memory.phase
  gateway.memory.phase = 'after'
  const status = await httpJson(gateway.url, 'GET', '/admin/vector-storage/status', undefined, adminHeaders)
  const targetCount = Number(status.providers?.[to]?.chunks ?? Number.NaN)
  const samples = gateway.memory.samples.filter(s => s.phase === phase)
  const peakRss = gateway.memory.peak(phase)

  // RSS per quarter of the progress (the sampler's 100 ms samples, placed by time)
  const total = Math.max(1, Number(view.total_chunks))
  const progressAt = (t: number): number => {
    let m = 0
    for (const p of progress) {
      if (p.t <= t) m = p.migrated
      else break
    }
    return m / total
  }
  const t0 = samples[0]?.t ?? 0
  const byQuarter = [0, 0, 0, 0]
  for (const s of samples) {
    const q = Math.min(3, Math.floor(progressAt(s.t - t0) * 4))
    byQuarter[q] = Math.max(byQuarter[q], s.rss)
  }
  const firstHalf = Math.max(byQuarter[0], byQuarter[1])
  const secondHalf = Math.max(byQuarter[2], byQuarter[3])

  const at = (fraction: number): { t: number; migrated: number } | undefined =>
    progress.find(p => p.migrated >= fraction * total)
  const p10 = at(0.1)
  const p90 = at(0.9)
  const steady =
    p10 !== undefined && p90 !== undefined && p90.t > p10.t
      ? (p90.migrated - p10.migrated) / ((p90.t - p10.t) / 1000)
      : Number.NaN
  const userStarts = ((view.users ?? []) as Array<{ started_at: string | null }>)
    .map(u => (u.started_at === null ? Number.NaN : Date.parse(u.started_at)))
    .filter(Number.isFinite)
  const firstStart = userStarts.length > 0 ? Math.min(...userStarts) : Date.parse(view.started_at)
  const engineMs = view.completed_at !== null ? Date.parse(view.completed_at) - firstStart : Number.NaN
  const migrated = Number(view.migrated_chunks)
  return {
    status: String(view.status),
    error: view.error ?? null,
    wallMs,
    engineMs,
    chunksPerSecondWall: migrated / (wallMs / 1000),
    chunksPerSecondEngine: migrated / (engineMs / 1000),
    chunksPerSecondSteady: steady,
    cpu,
    reportedChunksPerSecond: view.chunks_per_second ?? null,
    migratedChunks: migrated,
    targetCount,
    idleRss,
    peakRss,
    byQuarter,
    growth: secondHalf - firstHalf
  }
}

export async function runMigrationSection(o: BenchOptions): Promise<MigrationResult> {
  const users = o.migrationUsers
  const perUser = Math.max(1, Math.round(o.migrationChunks / users))
  const layout = uniformLayout(FIRST_USER, users, perUser)
  const chunks = totalRows(layout)
  const concurrency = o.migrationConcurrency ?? loadConfig({ AUTH_DISABLED: 'true' }).MIGRATION_USER_CONCURRENCY
  const model = new ClusterModel(o.seed + 200, { dimension: 1024 })
  const db = await createDatabase(o.serverUrl, `vgbench_${o.runId}_migration`, o.keep, 4)
  const directDb = await createDatabase(o.serverUrl, `vgbench_${o.runId}_migration_direct`, o.keep, 4)
  let qdrant: QdrantHandle | undefined
  let gateway: Gateway | undefined
  try {
    const { provider } = await initMariadb(db)
    const { provider: directMariadb } = await initMariadb(directDb)

    log(`D: loading ${chunks} chunks (${users} users x ${perUser}, interleaved) directly into MariaDB`)
    let started = performance.now()
    const rows = layoutRows(layout, model, o.seed)
    const version0 = Date.now() * 1000
    await directInsert(
      db.pool,
      'BRAG',
      Math.ceil(chunks / 1000),
      i => {
        const batch: BenchChunk[] = []
        for (let r = rows.next(); !r.done; r = rows.next()) {
          batch.push(r.value)
          if (batch.length === 1000) break
        }
        return insertParams(batch, version0 + i * 1000)
      },
      { concurrency: 2 }
    )
    const loadMs = performance.now() - started

    log(`D: raw read of the source: MariaDbProvider.scan, ${o.migrationBatch} per batch, every user, no writes`)
    started = performance.now()
    let read = 0
    for (const userId of await provider.users()) {
      let after = null
      for (;;) {
        const page = await provider.scan(userId, after, o.migrationBatch)
        read += page.length
        if (page.length < o.migrationBatch) break
        const last = page[page.length - 1]
        after = { file_id: last.file_id, chunk_index: last.chunk_index }
      }
    }
    const readMs = performance.now() - started
    if (read !== chunks) throw new Error(`D: raw read gave ${read} chunks, expected ${chunks}`)
    const rawRead = { chunks: read, ms: readMs, chunksPerSecond: read / (readMs / 1000) }
    log(`D: raw read ${rawRead.chunksPerSecond.toFixed(0)} chunks/s`)

    const q = await startQdrant(o)
    qdrant = q
    const collection = q.collection('migration')
    const directCollection = q.collection('direct_copy')
    const qdrantProvider = (name: string): VectorProvider => {
      const made = createProviders(
        loadConfig({
          MARIADB_URL: db.url,
          AUTH_DISABLED: 'true',
          ...q.env,
          QDRANT_COLLECTION: name,
          QDRANT_TIMEOUT_MS: '60000'
        }),
        db.pool
      ).qdrant
      if (made === undefined) throw new Error('D: no qdrant provider')
      return made
    }
    const mariadbPid = await serverPid(o.serverUrl)

    const directions: DirectionResult[] = []
    const measureDirect = async (
      label: string,
      source: VectorProvider,
      target: VectorProvider
    ): Promise<Rate & { cpu: CpuShare }> => {
      log(`D: direct copy ${label}: provider.scan -> provider.upsert(insertOnly), ${o.migrationBatch} per batch`)
      const meter = new CpuMeter({ emulator: q.pid, mariadb: mariadbPid })
      const rate = await directCopy(source, target, o.migrationBatch)
      const cpu = meter.stop()
      if (rate.chunks !== chunks) throw new Error(`D: direct copy ${label} copied ${rate.chunks}, expected ${chunks}`)
      log(`D: direct copy ${label}: ${rate.chunksPerSecond.toFixed(0)} chunks/s`)
      return { ...rate, cpu }
    }

    // mariadb -> qdrant: direct copy into a collection of its own, dropped afterwards
    const directTarget = qdrantProvider(directCollection)
    await directTarget.init()
    const directToQdrant = await measureDirect('mariadb -> qdrant', provider, directTarget)
    await q.client.deleteCollection(directCollection)

    gateway = await startGateway({
      MARIADB_URL: db.url,
      ...q.env,
      QDRANT_COLLECTION: collection,
      MIGRATION_BATCH_SIZE: String(o.migrationBatch),
      MIGRATION_USER_CONCURRENCY: String(concurrency),
      QDRANT_TIMEOUT_MS: '60000'
    })
    await sleep(500)
    const idleRss = gateway.memory.peak()
    const pids = { gateway: gateway.pid, emulator: q.pid, mariadb: mariadbPid }
    const forward = await engineMigration(gateway, 'mariadb', 'qdrant', o.migrationBatch, pids)
    directions.push(direction('mariadb', 'qdrant', directToQdrant, forward))

    // qdrant -> mariadb: direct copy from the migrated collection into another database
    const directFromQdrant = await measureDirect('qdrant -> mariadb', qdrantProvider(collection), directMariadb)
    await directDb.drop()
    log('D: emptying BRAG for the way back')
    await db.pool.query('TRUNCATE TABLE BRAG')
    const back = await engineMigration(gateway, 'qdrant', 'mariadb', o.migrationBatch, pids)
    directions.push(direction('qdrant', 'mariadb', directFromQdrant, back))

    const emulatorPeakRss = q.pid === undefined ? undefined : (processMemory(q.pid)?.hwm ?? Number.NaN)
    const hwm = await gateway.stop()
    gateway = undefined
    return {
      chunks,
      users,
      batch: o.migrationBatch,
      concurrency,
      loadMs,
      rawRead,
      directions,
      migration: forward,
      memory: {
        idleRss,
        peakRss: Math.max(forward.peakRss, back.peakRss),
        hwm,
        byQuarter: forward.byQuarter,
        growth: forward.growth,
        ...(emulatorPeakRss === undefined ? {} : { emulatorPeakRss })
      },
      qdrant: q.kind,
      qdrantUrl: q.url
    }
  } finally {
    // the gateway first: it would recreate a deleted collection
    await gateway?.stop().catch(() => {})
    await qdrant?.stop().catch(() => {})
    await db.drop()
    await directDb.drop().catch(() => {})
  }
}
