// The benchmark's flags, resolved into one options object every section reads.
import { parseArgs } from 'node:util'

export interface BenchOptions {
  scale: number
  quick: boolean
  /** rows of the search table: one user of half of them, 30 users sharing the other half */
  searchRows: number
  largeUserRows: number
  smallUsers: number
  smallUserRows: number
  /** chunks sent through POST /chunks for the ingest comparison */
  ingestChunks: number
  ingestClients: number
  /** measured queries per cell and method (after `warmup`) */
  queries: number
  warmup: number
  /** M of the cosine vector index */
  indexM: number
  readModeUsers: number
  readModeChunksPerUser: number
  readModeQueries: number
  switches: number
  migrationChunks: number
  migrationUsers: number
  migrationBatch: number
  /** MIGRATION_USER_CONCURRENCY of the gateway (undefined: its default) */
  migrationConcurrency: number | undefined
  /** section F (tenant shares): rows per data shape, their dimension, queries, warm-up, learning time, per-method budget */
  shareRows: number
  shareDimension: number
  shareQueries: number
  shareWarmup: number
  shareLearnMs: number
  shareBudgetMs: number
  /** MARIADB_RECALL_SAMPLE_RATE of the sampling gateway in section F */
  recallSampleRate: number
  sections: Set<Section>
  keep: boolean
  serverUrl: string
  /** true when the server URL is the default local one (the bench may start it) */
  localServer: boolean
  /** Qdrant server for the Qdrant sections (--qdrant-url or QDRANT_URL); undefined: the bench starts the emulator */
  qdrantUrl?: string
  seed: number
  runId: string
  /** JSON results file */
  out: string
  /** write a V8 CPU profile of every gateway process into this folder (perturbs the timings) */
  cpuProf?: string
}

export type Section = 'search' | 'read-modes' | 'switch' | 'migration' | 'ingest' | 'shares' | 'load' | 'qdrant-search'
export const SECTIONS: Section[] = [
  'search',
  'read-modes',
  'switch',
  'migration',
  'ingest',
  'shares',
  'load',
  'qdrant-search'
]

export const USAGE = `npm run bench -- [flags]
  --scale S              data size factor (default 1: 60,000 search rows, 100,000 migration chunks; 0.25 for a quick look)
  --quick                smoke run: scale 0.1, fewer queries, 6,000 migration chunks (about 2 minutes)
  --chunks N             search table rows instead of 60,000 x scale (half one user, half thirty users)
  --ingest-chunks N      chunks sent through POST /chunks for the ingest comparisons (default 20,000 x scale)
  --ingest-clients N     concurrent POST /chunks clients (and direct insert connections), default 3
  --queries N            measured queries per cell and method (default 200; quick 40)
  --warmup N             unmeasured queries per cell first (default 20; quick 5)
  --index-m M            M of the cosine vector index (default 16)
  --switches N           provider switches timed for propagation (default 6)
  --migration-chunks N   chunks migrated mariadb -> qdrant (default 100,000 x scale; quick 6,000)
  --migration-users N    users they are spread over (default 200 x scale, at least 20)
  --migration-batch N    MIGRATION_BATCH_SIZE of the gateway and of the raw read (default 500)
  --migration-concurrency N  MIGRATION_USER_CONCURRENCY of the gateway (default: the gateway's)
  --share-rows N         section F: rows per data shape (default 200,000 x scale; quick 6,000)
  --share-dimension N    section F: vector dimension (default 1024; quick 256)
  --share-queries N      section F: measured queries per tenant and method (default 50; quick 10)
  --recall-sample-rate R section F: MARIADB_RECALL_SAMPLE_RATE of the default-settings gateway (default 0)
  --only LIST            sections to run: search,read-modes,switch,migration,ingest,shares,load,qdrant-search
                         (default all; ingest = POST /chunks with JSON arrays and with base64 vectors vs a direct
                         insert; load = gateway vs bare HTTP and a direct pool, 16/64 clients, about 1 minute;
                         qdrant-search = Qdrant search: gateway vs bare HTTP + the official client)
  --seed N               data seed (default 42)
  --keep                 keep the databases (default: dropped at the end)
  --mariadb-url URL      server to use (default MARIADB_URL or mariadb://root@127.0.0.1:3307/)
  --qdrant-url URL       Qdrant server for read-modes, switch, migration and qdrant-search (default QDRANT_URL;
                         neither: the bench starts the project's emulator), sent QDRANT_API_KEY when set; the run
                         creates collections vgbench_<run id>_* only and deletes them at the end
  --out FILE             JSON results (default bench/results/latest.json)
  --cpu-prof             profile every gateway process (V8 --cpu-prof) into bench/results/profiles/ and
                         summarise where its CPU time goes (slows the gateway: do not quote those timings)
  -h, --help`

const DEFAULT_SERVER = 'mariadb://root@127.0.0.1:3307/'

function int(value: string | undefined, name: string, min = 1): number | undefined {
  if (value === undefined) return undefined
  const n = Number(value)
  if (!Number.isInteger(n) || n < min) throw new Error(`--${name} must be an integer >= ${min}, not ${value}`)
  return n
}

export function parseOptions(argv: string[]): BenchOptions | 'help' {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      scale: { type: 'string' },
      quick: { type: 'boolean', default: false },
      chunks: { type: 'string' },
      'ingest-chunks': { type: 'string' },
      'ingest-clients': { type: 'string' },
      queries: { type: 'string' },
      warmup: { type: 'string' },
      'index-m': { type: 'string' },
      switches: { type: 'string' },
      'migration-chunks': { type: 'string' },
      'migration-users': { type: 'string' },
      'migration-batch': { type: 'string' },
      'migration-concurrency': { type: 'string' },
      'share-rows': { type: 'string' },
      'share-dimension': { type: 'string' },
      'share-queries': { type: 'string' },
      'recall-sample-rate': { type: 'string' },
      only: { type: 'string' },
      seed: { type: 'string' },
      keep: { type: 'boolean', default: false },
      'mariadb-url': { type: 'string' },
      'qdrant-url': { type: 'string' },
      out: { type: 'string' },
      'cpu-prof': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false }
    }
  })
  if (values.help === true) return 'help'
  const quick = values.quick === true
  const scale = values.scale !== undefined ? Number(values.scale) : quick ? 0.1 : 1
  if (!(scale > 0 && scale <= 10)) throw new Error(`--scale must be a number in (0, 10], not ${values.scale}`)

  const smallUsers = 30
  const searchRows = int(values.chunks, 'chunks', 120) ?? Math.round(60_000 * scale)
  const largeUserRows = Math.round(searchRows / 2)
  const smallUserRows = Math.max(1, Math.round((searchRows - largeUserRows) / smallUsers))
  const ingestDefault = Math.max(3000, Math.round((20_000 * scale) / 1000) * 1000)
  const migrationChunks =
    int(values['migration-chunks'], 'migration-chunks', 100) ??
    (quick && values.scale === undefined ? 6_000 : Math.round(100_000 * scale))

  const recallSampleRate = values['recall-sample-rate'] !== undefined ? Number(values['recall-sample-rate']) : 0
  if (!(recallSampleRate >= 0 && recallSampleRate <= 1))
    throw new Error(`--recall-sample-rate must be within 0..1, not ${values['recall-sample-rate']}`)
  const shareRows =
    int(values['share-rows'], 'share-rows', 2000) ??
    (quick && values.scale === undefined ? 6_000 : Math.round(200_000 * scale))

  let sections = new Set<Section>(SECTIONS)
  if (values.only !== undefined) {
    const list = values.only
      .split(',')
      .map(s => s.trim())
      .filter(s => s !== '')
    for (const s of list)
      if (!SECTIONS.includes(s as Section)) throw new Error(`--only: unknown section ${s} (${SECTIONS.join(', ')})`)
    sections = new Set(list as Section[])
  }

  const url = values['mariadb-url'] ?? process.env.MARIADB_URL
  const qdrantUrl = values['qdrant-url'] ?? (process.env.QDRANT_URL === '' ? undefined : process.env.QDRANT_URL)
  if (qdrantUrl !== undefined && !/^https?:\/\/[^/]/.test(qdrantUrl))
    throw new Error(`--qdrant-url (or QDRANT_URL) must be an http:// or https:// URL, not ${qdrantUrl}`)
  const runId = `${new Date().toISOString().slice(0, 10).replace(/-/g, '')}_${process.pid}_${Math.random().toString(36).slice(2, 6)}`
  return {
    scale,
    quick,
    searchRows: largeUserRows + smallUsers * smallUserRows,
    largeUserRows,
    smallUsers,
    smallUserRows,
    ingestChunks: int(values['ingest-chunks'], 'ingest-chunks', 1000) ?? ingestDefault,
    ingestClients: int(values['ingest-clients'], 'ingest-clients') ?? 3,
    queries: int(values.queries, 'queries') ?? (quick ? 40 : 200),
    warmup: int(values.warmup, 'warmup', 0) ?? (quick ? 5 : 20),
    indexM: int(values['index-m'], 'index-m', 3) ?? 16,
    readModeUsers: quick ? 4 : 10,
    readModeChunksPerUser: Math.max(200, Math.round(1000 * Math.min(1, scale * 2))),
    readModeQueries: int(values.queries, 'queries') ?? (quick ? 40 : 200),
    switches: int(values.switches, 'switches') ?? (quick ? 3 : 6),
    migrationChunks,
    migrationUsers:
      int(values['migration-users'], 'migration-users') ?? Math.max(20, Math.round(200 * (migrationChunks / 100_000))),
    migrationBatch: int(values['migration-batch'], 'migration-batch') ?? 500,
    migrationConcurrency: int(values['migration-concurrency'], 'migration-concurrency'),
    shareRows,
    shareDimension: int(values['share-dimension'], 'share-dimension', 2) ?? (quick ? 256 : 1024),
    shareQueries: int(values['share-queries'], 'share-queries') ?? (quick ? 10 : 50),
    shareWarmup: quick ? 2 : 5,
    shareLearnMs: quick ? 1000 : 3000,
    shareBudgetMs: quick ? 3000 : 20_000,
    recallSampleRate,
    sections,
    keep: values.keep === true,
    serverUrl: url ?? DEFAULT_SERVER,
    localServer: url === undefined,
    ...(qdrantUrl !== undefined ? { qdrantUrl } : {}),
    seed: int(values.seed, 'seed', 0) ?? 42,
    runId,
    out: values.out ?? 'bench/results/latest.json',
    ...(values['cpu-prof'] === true ? { cpuProf: 'bench/results/profiles' } : {})
  }
}
