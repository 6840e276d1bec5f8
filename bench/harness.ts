// What every benchmark section shares: the MariaDB server and the per-run
// databases, gateway and Qdrant-emulator child processes (or a real Qdrant
// server), their memory, and a keep-alive HTTP client.
import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { readFileSync } from 'node:fs'
import http from 'node:http'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { QdrantClient } from '@qdrant/js-client-rest'
import mariadb, { type ConnectionConfig, type Pool } from 'mariadb'
import { createMariaDbPool } from '../src/store/mariadb-pool.ts'
import { ROOT, startChild, waitUntilAnswering, type Child } from '../test/helpers/child-process.ts'
import { freePort } from '../test/helpers/gateway-process.ts'

export { ROOT }
export const DATA_KEY = 'bench-data-key-0123456789'
export const ADMIN_KEY = 'bench-admin-key-0123456789'
export const DIMENSION = 1024

export function log(message: string): void {
  const t = new Date().toISOString().slice(11, 19)
  process.stderr.write(`[bench ${t}] ${message}\n`)
}

// ------------------------------------------------------------------ MariaDB

export function withDatabase(url: string, database: string): string {
  const u = new URL(url)
  u.pathname = '/' + encodeURIComponent(database)
  return u.toString()
}

export function serverConnection(url: string): ConnectionConfig {
  const u = new URL(url)
  return {
    host: u.hostname,
    port: u.port === '' ? 3306 : Number(u.port),
    user: decodeURIComponent(u.username) || 'root',
    password: decodeURIComponent(u.password),
    connectTimeout: 5000
  }
}

/** Checks the server answers; starts the project's local MariaDB 11.8 when it is the default URL and down. */
export async function ensureServer(url: string, mayStartLocal: boolean): Promise<string> {
  const probe = async (): Promise<string> => {
    const conn = await mariadb.createConnection(serverConnection(url))
    try {
      const [row] = await conn.query('SELECT VERSION() AS v')
      return String(row.v)
    } finally {
      await conn.end()
    }
  }
  try {
    return await probe()
  } catch (err) {
    if (!mayStartLocal) throw new Error(`cannot reach MariaDB at ${url}: ${(err as Error).message}`, { cause: err })
    log('local MariaDB 11.8 not answering: bash scripts/mariadb-local.sh start')
    await promisify(execFile)('bash', ['scripts/mariadb-local.sh', 'start'], { cwd: ROOT, timeout: 300_000 })
    return await probe()
  }
}

export async function serverVariables(url: string, names: string[]): Promise<Record<string, string>> {
  const conn = await mariadb.createConnection(serverConnection(url))
  try {
    const rows: Array<{ Variable_name: string; Value: string }> = await conn.query(
      `SHOW GLOBAL VARIABLES WHERE Variable_name IN (${names.map(() => '?').join(', ')})`,
      names
    )
    return Object.fromEntries(rows.map(r => [r.Variable_name, String(r.Value)]))
  } finally {
    await conn.end()
  }
}

export interface BenchDatabase {
  name: string
  url: string
  pool: Pool
  drop(): Promise<void>
}

/**
 * A fresh database on the server for one part of one run, with a pool made
 * exactly like the gateway's own (createMariaDbPool).
 */
export async function createDatabase(
  serverUrl: string,
  name: string,
  keep: boolean,
  poolSize = 4
): Promise<BenchDatabase> {
  const admin = serverConnection(serverUrl)
  const conn = await mariadb.createConnection(admin)
  try {
    await conn.query(`DROP DATABASE IF EXISTS \`${name}\``)
    await conn.query(`CREATE DATABASE \`${name}\``)
  } finally {
    await conn.end()
  }
  const url = withDatabase(serverUrl, name)
  const pool = createMariaDbPool({ MARIADB_URL: url, MARIADB_POOL_SIZE: poolSize })
  let dropped: Promise<void> | undefined
  return {
    name,
    url,
    pool,
    drop: async () => {
      dropped ??= (async () => {
        await pool.end().catch(() => {})
        if (keep) {
          log(`--keep: database ${name} kept`)
          return
        }
        const c = await mariadb.createConnection(admin)
        try {
          await c.query(`DROP DATABASE IF EXISTS \`${name}\``)
        } finally {
          await c.end()
        }
      })()
      await dropped
    }
  }
}

// ------------------------------------------------------------------ process memory

export interface ProcessMemory {
  /** current resident set, bytes */
  rss: number
  /** peak resident set since the process started (VmHWM), bytes */
  hwm: number
}

export function processMemory(pid: number): ProcessMemory | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8')
    const kb = (key: string): number =>
      Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? Number.NaN) * 1024
    return { rss: kb('VmRSS'), hwm: kb('VmHWM') }
  } catch {
    return undefined
  }
}

/** Samples a process's RSS every `everyMs` (100 ms by default), labelled by phase. */
export class RssSampler {
  private readonly timer: NodeJS.Timeout
  readonly samples: Array<{ t: number; rss: number; phase: string }> = []
  phase = 'start'
  private readonly started = performance.now()

  constructor(
    private readonly pid: number,
    everyMs = 100
  ) {
    this.timer = setInterval(() => this.sample(), everyMs)
    this.timer.unref()
    this.sample()
  }

  sample(): void {
    const m = processMemory(this.pid)
    if (m !== undefined && Number.isFinite(m.rss))
      this.samples.push({ t: performance.now() - this.started, rss: m.rss, phase: this.phase })
  }

  /** Peak sampled RSS, over all phases or the given ones. */
  peak(...phases: string[]): number {
    const s = phases.length === 0 ? this.samples : this.samples.filter(x => phases.includes(x.phase))
    return s.reduce((m, x) => Math.max(m, x.rss), 0)
  }

  /** RSS of the first sample of a phase. */
  first(phase: string): number {
    return this.samples.find(x => x.phase === phase)?.rss ?? Number.NaN
  }

  stop(): void {
    this.sample()
    clearInterval(this.timer)
  }
}

export const MiB = 1024 * 1024

// ------------------------------------------------------------------ gateway processes and Qdrant

export interface Gateway {
  url: string
  child: ChildProcess
  output: () => string
  pid: number
  memory: RssSampler
  /** Stops the gateway; returns its peak RSS (VmHWM) over its whole life. */
  stop(): Promise<number>
}

/** Node flags added to every gateway process (`--cpu-prof` puts the profiler's here). */
export const gatewayNodeFlags: string[] = []
/** pid -> ms from spawn until the gateway answered (CPU profiles skip the start-up) */
export const gatewayStartup = new Map<number, number>()

/**
 * The real service (`node --import tsx src/server.ts`, as `npm start` runs it) as a
 * child process on 127.0.0.1, configured by `env` only.
 */
export async function startGateway(env: Record<string, string>): Promise<Gateway> {
  const spawned = performance.now()
  const port = await freePort()
  const c = startChild(process.execPath, [...gatewayNodeFlags, '--import', 'tsx', 'src/server.ts'], {
    env: {
      HOST: '127.0.0.1',
      PORT: String(port),
      API_KEY: DATA_KEY,
      ADMIN_API_KEY: ADMIN_KEY,
      VECTOR_DIMENSION: String(DIMENSION),
      LOG_LEVEL: 'warn',
      ...env
    }
  })
  const url = `http://127.0.0.1:${port}`
  await waitUntilAnswering(c, `${url}/health/live`, 'gateway', 60_000)
  const pid = c.child.pid!
  gatewayStartup.set(pid, performance.now() - spawned)
  const memory = new RssSampler(pid)
  memory.phase = 'idle'
  return {
    url,
    child: c.child,
    output: c.output,
    pid,
    memory,
    stop: async () => {
      memory.stop()
      const hwm = processMemory(pid)?.hwm ?? Number.NaN
      await c.kill('SIGTERM')
      return hwm
    }
  }
}

export type QdrantKind = 'emulator' | 'server'

/** How logs and reports name the Qdrant a section ran against: "emulator" or "server at <url>". */
export function qdrantLabel(kind: QdrantKind, url: string): string {
  return kind === 'emulator' ? 'emulator' : `server at ${url}`
}

/** `vgbench_<runId>_<name>`: a collection of this run only, never one of a user's on a real server. */
function runCollection(runId: string, name: string): string {
  return `vgbench_${runId}_${name}`
}

export interface QdrantHandle {
  url: string
  /** the emulator's pid; undefined for a server, whose CPU and memory cannot be measured from here */
  pid: number | undefined
  kind: QdrantKind
  /** qdrantLabel() of this Qdrant */
  label: string
  /** QDRANT_URL, and QDRANT_API_KEY for a server when set: for a gateway's env or loadConfig() */
  env: Record<string, string>
  /** the official client, with the api key */
  client: QdrantClient
  /** runCollection(runId, name), remembered so that stop() deletes it from a server */
  collection(name: string): string
  /** Stops the emulator; on a server, deletes every collection named through collection(). */
  stop(): Promise<void>
}

/**
 * The Qdrant the Qdrant sections use: the server at `o.qdrantUrl` (--qdrant-url or QDRANT_URL),
 * checked to answer first, or else the project's REST emulator (packages/qdrant-emulator) in a
 * child process of its own so the vectors it holds in memory do not count as the gateway's.
 */
export async function startQdrant(o: { runId: string; qdrantUrl?: string }): Promise<QdrantHandle> {
  let emulator: Child | undefined
  let url: string
  // the key is the server's: the bench's own emulator runs without one, as before
  let apiKey: string | undefined
  if (o.qdrantUrl === undefined) {
    const port = await freePort()
    const cli = fileURLToPath(import.meta.resolve('@vector-gateway/qdrant-emulator/cli'))
    emulator = startChild(process.execPath, ['--import', 'tsx', cli, '--port', String(port)], { env: {} })
    url = `http://127.0.0.1:${port}`
    await waitUntilAnswering(emulator, `${url}/healthz`, 'Qdrant emulator', 30_000)
  } else {
    url = o.qdrantUrl.replace(/\/+$/, '')
    apiKey = process.env.QDRANT_API_KEY
  }
  // the key goes in as a header, as the gateway's provider sends it: `apiKey` warns on plain http
  const client = new QdrantClient({
    url,
    timeout: 60_000,
    checkCompatibility: false,
    headers: apiKey === undefined ? {} : { 'api-key': apiKey }
  })
  if (emulator === undefined) {
    // GET /collections rather than /healthz: it checks the api key too
    try {
      await client.getCollections()
    } catch (err) {
      throw new Error(
        `the Qdrant server at ${url} does not answer GET /collections ` +
          `${apiKey === undefined ? '(QDRANT_API_KEY not set)' : 'with QDRANT_API_KEY'}: ${errorText(err)}`,
        { cause: err }
      )
    }
  }
  const kind: QdrantKind = emulator === undefined ? 'server' : 'emulator'
  const collections = new Set<string>()
  return {
    url,
    pid: emulator?.child.pid,
    kind,
    label: qdrantLabel(kind, url),
    env: { QDRANT_URL: url, ...(apiKey === undefined ? {} : { QDRANT_API_KEY: apiKey }) },
    client,
    collection: name => {
      const full = runCollection(o.runId, name)
      collections.add(full)
      return full
    },
    stop: async () => {
      // the emulator's collections end with its process
      if (emulator !== undefined) return await emulator.kill('SIGTERM')
      for (const name of collections) {
        try {
          if ((await client.collectionExists(name)).exists) await client.deleteCollection(name)
        } catch (err) {
          // logged, not thrown: a failing section's own error is the one to report
          log(`could not delete collection ${name} from the Qdrant server at ${url}: ${errorText(err)}`)
        }
      }
      collections.clear()
    }
  }
}

/** An error's message with its cause's (fetch hides ECONNREFUSED and the like in the cause). */
function errorText(err: unknown): string {
  const e = err as Error & { cause?: { message?: string; code?: string } }
  const cause = e.cause?.code ?? e.cause?.message
  return cause === undefined ? e.message : `${e.message} (${cause})`
}

export interface QdrantStack {
  db: BenchDatabase
  qdrant: QdrantHandle
  /** A gateway on the stack's database and the Qdrant's `collection`, with `env` on top. */
  startGateway(collection: string, env?: Record<string, string>): Promise<Gateway>
}

/**
 * Runs a section on a fresh database `vgbench_<runId>_<name>` and startQdrant(o); then, also
 * when it fails, stops the gateways it started (first: a gateway recreates a missing collection),
 * stops the Qdrant (deleting the run's collections from a server) and drops the database.
 */
export async function withQdrantStack<T>(
  o: { serverUrl: string; runId: string; keep: boolean; qdrantUrl?: string },
  name: string,
  poolSize: number,
  section: (stack: QdrantStack) => Promise<T>
): Promise<T> {
  const db = await createDatabase(o.serverUrl, `vgbench_${o.runId}_${name}`, o.keep, poolSize)
  let qdrant: QdrantHandle | undefined
  const gateways: Gateway[] = []
  try {
    const started = await startQdrant(o)
    qdrant = started
    return await section({
      db,
      qdrant,
      startGateway: async (collection, env = {}) => {
        const gateway = await startGateway({
          MARIADB_URL: db.url,
          ...started.env,
          QDRANT_COLLECTION: collection,
          ...env
        })
        gateways.push(gateway)
        return gateway
      }
    })
  } finally {
    for (const g of gateways) await g.stop().catch(() => {})
    await qdrant?.stop().catch(() => {})
    await db.drop()
  }
}

export async function sleep(ms: number): Promise<void> {
  await new Promise(resolve => setTimeout(resolve, ms))
}

// ------------------------------------------------------------------ HTTP

const agent = new http.Agent({ keepAlive: true, maxSockets: 64 })

export interface HttpAnswer {
  status: number
  body: string
}

/** One request over a keep-alive connection; the body is sent as given (pre-serialised). */
export async function httpRequest(
  base: string,
  method: string,
  path: string,
  body?: string | Buffer,
  headers: Record<string, string> = {}
): Promise<HttpAnswer> {
  const u = new URL(path, base)
  return await new Promise<HttpAnswer>((resolve, reject) => {
    const req = http.request(
      {
        agent,
        host: u.hostname,
        port: u.port,
        method,
        path: u.pathname + u.search,
        headers: {
          ...(body !== undefined
            ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }
            : {}),
          ...headers
        }
      },
      res => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }))
        res.on('error', reject)
      }
    )
    req.on('error', reject)
    if (body !== undefined) req.write(body)
    req.end()
  })
}

export const dataHeaders = { 'x-api-key': DATA_KEY }
export const adminHeaders = { 'x-api-key': ADMIN_KEY }

/** A JSON request that must succeed (2xx); returns the parsed answer. */
export async function httpJson<T = any>(
  base: string,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = dataHeaders
): Promise<T> {
  const answer = await httpRequest(
    base,
    method,
    path,
    body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    headers
  )
  if (answer.status < 200 || answer.status >= 300)
    throw new Error(`${method} ${path}: ${answer.status} ${answer.body.slice(0, 500)}`)
  return answer.body === '' ? (undefined as T) : (JSON.parse(answer.body) as T)
}

export interface BareHttp {
  url: string
  pid: number
  stop(): Promise<void>
}

/**
 * bench/bare-http.ts in a child process: the "bare HTTP" baseline of issue 9, a minimal Fastify
 * process that parses the request body and answers POST /search with `responseBytes` bytes.
 */
export async function startBareHttp(responseBytes: number): Promise<BareHttp> {
  const port = await freePort()
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'bench/bare-http.ts', String(port), String(responseBytes)],
    {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '' },
      stdio: ['ignore', 'pipe', 'inherit']
    }
  )
  const exited = new Promise<void>(resolve => child.once('exit', () => resolve()))
  await new Promise<void>((resolve, reject) => {
    child.stdout?.on('data', (d: Buffer) => {
      if (d.toString().includes('listening')) resolve()
    })
    child.on('exit', code => {
      reject(new Error(`bare HTTP exited ${code}`))
    })
  })
  return {
    url: `http://127.0.0.1:${port}`,
    pid: child.pid!,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill()
      await exited
    }
  }
}

export function closeHttp(): void {
  agent.destroy()
}

/** Runs `worker` on `concurrency` workers pulling indexes 0..n-1. */
export async function pool<T>(n: number, concurrency: number, worker: (i: number) => Promise<T>): Promise<T[]> {
  const out = new Array<T>(n)
  let next = 0
  await Promise.all(
    Array.from({ length: Math.min(concurrency, n) }, async () => {
      for (;;) {
        const i = next++
        if (i >= n) return
        out[i] = await worker(i)
      }
    })
  )
  return out
}

// ------------------------------------------------------------------ CPU time

/** CPU seconds (user + system, all threads) a process has used so far, from /proc/PID/stat. */
export function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return (Number(fields[11]) + Number(fields[12])) / 100 // utime, stime in clock ticks (USER_HZ = 100)
  } catch {
    return Number.NaN
  }
}

/** The MariaDB server's pid when it runs on this machine (its pid file is readable), else undefined. */
export async function serverPid(url: string): Promise<number | undefined> {
  try {
    const conn = await mariadb.createConnection(serverConnection(url))
    try {
      const [row] = await conn.query('SELECT @@pid_file AS f')
      const pid = Number(readFileSync(String(row.f), 'utf8').trim())
      return Number.isInteger(pid) && pid > 0 && processMemory(pid) !== undefined ? pid : undefined
    } finally {
      await conn.end()
    }
  } catch {
    return undefined
  }
}

export type CpuShare = Record<string, number>

/** CPU seconds each named process used between start() and stop(). */
export class CpuMeter {
  private readonly before = new Map<string, number>()
  private readonly ownBefore = process.cpuUsage()
  constructor(private readonly pids: Record<string, number | undefined>) {
    for (const [name, pid] of Object.entries(pids)) if (pid !== undefined) this.before.set(name, cpuSeconds(pid))
  }

  stop(): CpuShare {
    const out: CpuShare = {}
    for (const [name, pid] of Object.entries(this.pids)) {
      if (pid !== undefined) out[name] = cpuSeconds(pid) - (this.before.get(name) ?? Number.NaN)
    }
    const own = process.cpuUsage(this.ownBefore)
    out.bench = (own.user + own.system) / 1e6
    return out
  }
}

export interface SearchPlanCounts {
  exact: number
  index: number
}

/** The gateway's MariaDB plan counters (vg_mariadb_search_plans_total) from its /metrics. */
export async function searchPlanCounts(gw: Gateway): Promise<SearchPlanCounts> {
  const body = (await httpRequest(gw.url, 'GET', '/metrics', undefined, {})).body
  const count = (plan: string): number =>
    Number(new RegExp(`^vg_mariadb_search_plans_total\\{plan="${plan}"\\} (\\S+)$`, 'm').exec(body)?.[1] ?? 0)
  return { exact: count('exact'), index: count('index') }
}
