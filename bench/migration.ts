// Section D: migration mariadb -> qdrant (the in-process REST emulator, in a child
// process of its own so the ~400 MB of vectors it holds do not count as the
// gateway's; there is no real Qdrant here). The source table is loaded directly;
// then, for reference, the raw speed of reading the same rows from the source
// alone (MariaDbProvider.scan in batches, no writes), then the migration through
// the gateway's engine (POST /admin/vector-storage/migrations on a gateway child
// process), polled until it completes, with the gateway's RSS sampled every 100 ms.
import { createProviders } from '../src/providers/create-providers.ts'
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
  startEmulator,
  startGateway,
  type EmulatorProcess,
  type Gateway
} from './harness.ts'
import { directInsert, insertParams } from './ingest.ts'
import { gatewayConfig } from './mariadb-search.ts'
import type { BenchOptions } from './options.ts'

export interface MigrationResult {
  chunks: number
  users: number
  batch: number
  loadMs: number
  rawRead: { chunks: number; ms: number; chunksPerSecond: number }
  migration: {
    status: string
    error: string | null
    /** POST until the status said completed (includes the runner's start delay, planning and verification) */
    wallMs: number
    /** started_at to completed_at of the migration row */
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
  }
  /** engine (steady) / raw read */
  ratio: number
  memory: {
    idleRss: number
    peakRss: number
    hwm: number
    /** peak RSS per quarter of the progress */
    byQuarter: number[]
    /** peak of the second half minus the peak of the first half */
    growth: number
    emulatorPeakRss: number
  }
  qdrant: 'emulator'
}

const FIRST_USER = 5001

export async function runMigrationSection(o: BenchOptions): Promise<MigrationResult> {
  const users = o.migrationUsers
  const perUser = Math.max(1, Math.round(o.migrationChunks / users))
  const layout = uniformLayout(FIRST_USER, users, perUser)
  const chunks = totalRows(layout)
  const model = new ClusterModel(o.seed + 200, { dimension: 1024 })
  const db = await createDatabase(o.serverUrl, `vgbench_${o.runId}_migration`, o.keep, 4)
  let emulator: EmulatorProcess | undefined
  let gateway: Gateway | undefined
  try {
    const config = gatewayConfig(db.url)
    const provider = createProviders(config, db.pool).mariadb
    await provider.init()

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

    emulator = await startEmulator()
    gateway = await startGateway({
      MARIADB_URL: db.url,
      QDRANT_URL: emulator.url,
      QDRANT_COLLECTION: 'bench_migration',
      MIGRATION_BATCH_SIZE: String(o.migrationBatch),
      QDRANT_TIMEOUT_MS: '60000'
    })
    await sleep(500)
    const idleRss = gateway.memory.peak()
    gateway.memory.phase = 'migration'
    log(`D: POST /admin/vector-storage/migrations mariadb -> qdrant (emulator), batch ${o.migrationBatch}`)
    const cpuMeter = new CpuMeter({
      gateway: gateway.pid,
      emulator: emulator.pid,
      mariadb: await serverPid(o.serverUrl)
    })
    started = performance.now()
    const created = await httpJson(
      gateway.url,
      'POST',
      '/admin/vector-storage/migrations',
      { from: 'mariadb', to: 'qdrant', batch_size: o.migrationBatch },
      adminHeaders
    )
    const progress: Array<{ t: number; migrated: number; rss: number }> = []
    let view: any
    let lastLog = 0
    for (;;) {
      await sleep(200)
      view = await httpJson(
        gateway.url,
        'GET',
        `/admin/vector-storage/migrations/${Number(created.id)}?limit=1`,
        undefined,
        adminHeaders
      )
      const t = performance.now() - started
      progress.push({ t, migrated: Number(view.migrated_chunks), rss: processMemory(gateway.pid)?.rss ?? Number.NaN })
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
    gateway.memory.phase = 'after'
    const status = await httpJson(gateway.url, 'GET', '/admin/vector-storage/status', undefined, adminHeaders)
    const targetCount = Number(status.providers?.qdrant?.chunks ?? Number.NaN)
    const emulatorPeakRss = processMemory(emulator.pid)?.hwm ?? Number.NaN
    const samples = gateway.memory.samples.filter(s => s.phase === 'migration')
    const peakRss = gateway.memory.peak('migration')
    const hwm = await gateway.stop()
    gateway = undefined

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
    const engineMs =
      view.started_at !== null && view.completed_at !== null
        ? Date.parse(view.completed_at) - Date.parse(view.started_at)
        : Number.NaN
    const migrated = Number(view.migrated_chunks)
    return {
      chunks,
      users,
      batch: o.migrationBatch,
      loadMs,
      rawRead,
      migration: {
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
        targetCount
      },
      ratio: steady / rawRead.chunksPerSecond,
      memory: { idleRss, peakRss, hwm, byQuarter, growth: secondHalf - firstHalf, emulatorPeakRss },
      qdrant: 'emulator'
    }
  } finally {
    await gateway?.stop().catch(() => {})
    await emulator?.stop().catch(() => {})
    await db.drop()
  }
}
