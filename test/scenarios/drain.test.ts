// Graceful drain (issue 10 §2, issue 13 §3): a real gateway process under
// keep-alive load gets SIGTERM. Every request already sent on an open connection
// is answered 2xx, every acknowledged write is in MariaDB afterwards, the process
// exits 0, and the migration it was running is released at once, so a second
// replica (configured with a 60 s lease, so only a release explains a quick
// takeover) resumes it and completes it.
import t from 'tap'
import http from 'node:http'
import { performance } from 'node:perf_hooks'
import { ADMIN_KEY, DATA_KEY, KEYS_ENV, buildTestGateway, storesEnv, testQdrant } from '../helpers/app.ts'
import { axisVector } from '../helpers/chunks.ts'
import { startGatewayProcess, type GatewayProcess } from '../helpers/gateway-process.ts'
import { createTestDatabase } from '../helpers/mariadb.ts'
import { dataset } from '../helpers/migration.ts'
import type { QdrantEmulator } from '@vector-gateway/qdrant-emulator'

const MIGRATED_USERS = [1, 2, 3, 4, 5, 6]
const LOAD_USER = 100
const WRITERS = 4
const SEARCHERS = 2

interface Outcome {
  kind: 'write' | 'search'
  /** performance.now() when the request was fully handed to the socket */
  sentAt: number
  reusedSocket: boolean
  status?: number
  error?: string
  text?: string
  fileId?: number
  /** the answer's Connection header */
  connection?: string
}

/** One HTTP/1.1 request on a keep-alive agent; never rejects. */
async function send(
  agent: http.Agent,
  url: string,
  kind: Outcome['kind'],
  body: unknown,
  extra: Partial<Outcome>
): Promise<Outcome> {
  return await new Promise(resolve => {
    const outcome: Outcome = { kind, sentAt: Number.POSITIVE_INFINITY, reusedSocket: false, ...extra }
    const payload = JSON.stringify(body)
    const req = http.request(
      url,
      {
        method: 'POST',
        agent,
        headers: {
          'x-api-key': DATA_KEY,
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(payload)
        }
      },
      res => {
        outcome.status = res.statusCode
        outcome.connection = res.headers.connection
        res.resume()
        res.on('end', () => {
          resolve(outcome)
        })
        res.on('error', err => {
          outcome.error = (err as NodeJS.ErrnoException).code ?? err.message
          resolve(outcome)
        })
      }
    )
    req.on('finish', () => {
      outcome.sentAt = performance.now()
      outcome.reusedSocket = req.reusedSocket
    })
    req.on('error', err => {
      outcome.error = (err as NodeJS.ErrnoException).code ?? err.message
      resolve(outcome)
    })
    req.end(payload)
  })
}

/** A client that writes (or searches) one request after the other on one keep-alive connection until it is refused. */
async function client(
  gw: GatewayProcess,
  id: number,
  kind: Outcome['kind'],
  outcomes: Outcome[],
  stopped: () => boolean
): Promise<void> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 })
  try {
    for (let seq = 0; !stopped(); seq++) {
      const fileId = id * 100000 + seq
      const text = `drain client ${id} write ${seq}`
      const outcome =
        kind === 'write'
          ? await send(
              agent,
              `${gw.url}/chunks`,
              'write',
              {
                chunks: [
                  {
                    user_id: LOAD_USER,
                    file_id: fileId,
                    chunk_index: 0,
                    start_line: 0,
                    end_line: 1,
                    text,
                    vector: axisVector(seq, 0.3)
                  }
                ]
              },
              { text, fileId }
            )
          : await send(
              agent,
              `${gw.url}/search`,
              'search',
              { user_id: 1, vector: axisVector(seq, 0.2), limit: 5, min_score: 0 },
              {}
            )
      outcomes.push(outcome)
      if (outcome.error === 'ECONNREFUSED') return // the listener is closed: a load balancer would go elsewhere
    }
  } finally {
    agent.destroy()
  }
}

t.test(
  'SIGTERM under keep-alive load: in-flight requests finish, no write lost, exit 0, the migration moves to the other replica at once',
  async t => {
    const db = await createTestDatabase(t)
    const q = await testQdrant(t)
    const env = {
      ...KEYS_ENV,
      ...storesEnv(db, q, 'vgdrain'),
      SETTINGS_CACHE_MS: '100',
      MIGRATION_BATCH_SIZE: '5',
      // a lease far longer than the test: only an explicit release lets the other replica in quickly
      MIGRATION_LEASE_MS: '60000',
      MIGRATION_POLL_MS: '100'
    }
    const a = await startGatewayProcess(env, t)
    const aPid = a.child.pid as number
    const admin = async (gw: GatewayProcess, method: string, path: string, body?: unknown): Promise<any> => {
      const res = await fetch(`${gw.url}${path}`, {
        method,
        headers: { 'x-api-key': ADMIN_KEY, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
        body: body === undefined ? undefined : JSON.stringify(body)
      })
      return await res.json()
    }
    const leaseOwner = async (id: number): Promise<string | null> =>
      (
        (await db.pool.query('SELECT lease_owner FROM vg_migrations WHERE id = ?', [id])) as Array<{
          lease_owner: string | null
        }>
      )[0].lease_owner
    const holds = (owner: string | null, pid: number): boolean => owner !== null && owner.includes(`:${pid}:`)

    const seed = dataset({ users: MIGRATED_USERS, files: 2, perFile: 40, seed: 5 })
    const seeded = await fetch(`${a.url}/chunks`, {
      method: 'POST',
      headers: { 'x-api-key': DATA_KEY, 'content-type': 'application/json' },
      body: JSON.stringify({ chunks: seed })
    })
    t.equal(seeded.status, 200, 'seeded the users to migrate')

    // slow Qdrant writes and searches: the migration takes many batches, searches are in flight at SIGTERM
    q.emulator?.faults.slow(150, { match: req => req.method === 'PUT' || /\/points\/query$/.test(req.path) })
    const started = await admin(a, 'POST', '/admin/vector-storage/migrations', {
      from: 'mariadb',
      to: 'qdrant',
      user_ids: MIGRATED_USERS
    })
    const id = started.id as number
    t.equal(started.status, 'running', 'migration started on replica A')
    for (let owner = await leaseOwner(id); !holds(owner, aPid); owner = await leaseOwner(id)) {
      if (owner !== null) throw new Error(`another runner took the migration: ${owner}`)
      await new Promise(resolve => setTimeout(resolve, 50))
    }
    t.pass('replica A holds the lease')
    // B starts once A runs the migration, so A is the one to hand it over
    const b = await startGatewayProcess(env, t)
    const bPid = b.child.pid as number

    const outcomes: Outcome[] = []
    let exited = false
    const clients = [
      ...Array.from({ length: WRITERS }, (_, i) => client(a, i + 1, 'write', outcomes, () => exited)),
      ...Array.from({ length: SEARCHERS }, (_, i) => client(a, WRITERS + i + 1, 'search', outcomes, () => exited))
    ]
    while (
      outcomes.filter(o => o.kind === 'search').length < 4 ||
      outcomes.filter(o => o.kind === 'write').length < 20
    ) {
      await new Promise(resolve => setTimeout(resolve, 20))
    }
    const before = await admin(b, 'GET', `/admin/vector-storage/migrations/${id}?per_page=1`)
    t.equal(
      before.status,
      'running',
      `the migration is running at SIGTERM (${before.migrated_chunks as number} of ${before.total_chunks as number} chunks)`
    )

    const sigtermAt = performance.now()
    a.child.kill('SIGTERM')
    await new Promise<void>(resolve =>
      a.child.exitCode !== null || a.child.signalCode !== null ? resolve() : a.child.once('exit', () => resolve())
    )
    exited = true
    const ownerAtExit = await leaseOwner(id)
    await Promise.all(clients)

    t.equal(a.child.signalCode, null, 'not killed by a signal')
    t.equal(a.child.exitCode, 0, `exit code 0 (output: ${a.output().slice(-2000)})`)
    t.notOk(
      holds(ownerAtExit, aPid),
      `A released its lease on the way out (lease owner at its exit: ${String(ownerAtExit)})`
    )

    const sentBefore = outcomes.filter(o => o.sentAt < sigtermAt)
    const failedBefore = sentBefore.filter(o => o.error !== undefined || o.status === undefined || o.status >= 300)
    const inFlight = sentBefore.filter(o => o.kind === 'search').length
    t.ok(inFlight > 0, `${sentBefore.length} requests sent before SIGTERM (${inFlight} searches)`)
    t.same(
      failedBefore.map(o => `${o.kind}: ${o.status ?? o.error ?? '?'}`),
      [],
      '0 failed requests among those sent before SIGTERM'
    )
    const after = outcomes.filter(o => o.sentAt >= sigtermAt || o.sentAt === Number.POSITIVE_INFINITY)
    const httpErrorsAfter = after.filter(o => o.status !== undefined && o.status >= 300)
    t.same(
      httpErrorsAfter.map(o => `${o.kind}: ${o.status as number}`),
      [],
      'requests that reached A after SIGTERM were served too (refused connections are expected)'
    )

    const acknowledged = outcomes.filter(o => o.kind === 'write' && o.status === 200)
    t.ok(acknowledged.length >= 20, `${acknowledged.length} acknowledged writes`)
    const rows = (await db.pool.query('SELECT BMID AS file_id, BTEXT AS text FROM BRAG WHERE BUID = ?', [
      LOAD_USER
    ])) as Array<{ file_id: number; text: string }>
    const stored = new Map(rows.map(r => [Number(r.file_id), r.text]))
    const lost = acknowledged.filter(o => stored.get(o.fileId as number) !== o.text)
    t.same(
      lost.map(o => o.text),
      [],
      '0 lost writes: every acknowledged write is in MariaDB'
    )

    // B polls every 100 ms; the lease is 60 s: a takeover before its expiry can only follow A's release
    let owner = await leaseOwner(id)
    while (!holds(owner, bPid)) {
      const view = await admin(b, 'GET', `/admin/vector-storage/migrations/${id}?per_page=1`)
      if (view.status !== 'running' || performance.now() - sigtermAt > 30000) break
      await new Promise(resolve => setTimeout(resolve, 50))
      owner = await leaseOwner(id)
    }
    t.ok(
      holds(owner, bPid),
      `replica B took the lease well before A's 60 s lease would have expired (owner: ${String(owner)})`
    )
    const resumedFrom = (await admin(b, 'GET', `/admin/vector-storage/migrations/${id}?per_page=1`))
      .migrated_chunks as number
    let done: any
    for (;;) {
      done = await admin(b, 'GET', `/admin/vector-storage/migrations/${id}?per_page=1000`)
      if (done.status !== 'running') break
      await new Promise(resolve => setTimeout(resolve, 100))
    }
    t.equal(done.status, 'completed', `B completed the migration (${(done.error as string) ?? ''})`)
    t.ok(
      done.migrated_chunks > resumedFrom,
      `B moved it on (${resumedFrom} -> ${done.migrated_chunks as number} chunks)`
    )
    t.equal(done.completed_users, MIGRATED_USERS.length)
    t.equal(done.total_chunks, seed.length, 'every seeded chunk was planned')
    await b.kill('SIGTERM')
    t.equal(b.child.exitCode, 0, 'B, idle, exits 0 on SIGTERM too')
  }
)

t.test(
  'readiness turns 503 "draining" as the drain begins; liveness stays up; answers say Connection: close',
  async t => {
    const gw = await buildTestGateway(t)
    t.equal((await gw.app.inject({ url: '/health' })).statusCode, 200, 'ready before')
    gw.app.beginDrain()
    const health = await gw.app.inject({ url: '/health' })
    t.equal(health.statusCode, 503)
    t.equal(health.json().status, 'draining')
    t.equal(health.headers.connection, 'close')
    t.equal((await gw.app.inject({ url: '/health/live' })).statusCode, 200, 'liveness is not readiness')
    const search = await gw.app.inject({
      method: 'POST',
      url: '/search',
      headers: gw.data,
      payload: { user_id: 1, vector: axisVector(0), limit: 1 }
    })
    t.equal(search.statusCode, 200, 'requests are still served')
    t.equal(search.headers.connection, 'close', 'and tell the client to reconnect elsewhere')
  }
)

/**
 * A gateway process without auth on a fresh database and the Qdrant emulator (whose faults can
 * hold a search), and a keep-alive agent for it; undefined where Qdrant is not the emulator.
 */
async function heldSearchGateway(
  t: { teardown(fn: () => unknown): void },
  collectionPrefix: string,
  env: Record<string, string>
): Promise<{ gw: GatewayProcess; emulator: QdrantEmulator; agent: http.Agent } | undefined> {
  const db = await createTestDatabase(t)
  const q = await testQdrant(t)
  if (q.emulator === undefined) return undefined
  const gw = await startGatewayProcess({ AUTH_DISABLED: 'true', ...storesEnv(db, q, collectionPrefix), ...env }, t)
  const agent = new http.Agent({ keepAlive: true })
  t.teardown(() => {
    agent.destroy()
  })
  return { gw, emulator: q.emulator, agent }
}

t.test(
  'SIGTERM with a request longer than SHUTDOWN_TIMEOUT_MS: its connection is cut, cleanup still runs, exit 1',
  async t => {
    const held = await heldSearchGateway(t, 'vgcut', {
      QDRANT_TIMEOUT_MS: '60000',
      SHUTDOWN_TIMEOUT_MS: '200',
      LOG_LEVEL: 'info'
    })
    if (held === undefined) return t.pass('needs the emulator to hold a search')
    const { gw, emulator, agent } = held
    emulator.faults.slow(30000, { match: req => /\/points\/query$/.test(req.path) })
    const search = send(agent, `${gw.url}/search`, 'search', { user_id: 1, vector: axisVector(0), limit: 1 }, {})
    // the search is in flight once Qdrant has its query
    while (!emulator.requests.some(r => r.path.endsWith('/points/query')))
      await new Promise(resolve => setTimeout(resolve, 20))
    await gw.kill('SIGTERM')
    const outcome = await search
    emulator.faults.slow(0)
    t.equal(gw.child.exitCode, 1, 'exit 1: the drain was not clean')
    t.ok(outcome.error !== undefined, `the held request was cut (${outcome.error ?? String(outcome.status)})`)
    t.match(gw.output(), /cutting their connections/, 'the log says why')
  }
)

t.test(
  'SIGTERM while a keep-alive client waits for its answer and then stays idle: answered, connection closed, exit 0 (not the 10 s timer)',
  async t => {
    const held = await heldSearchGateway(t, 'vgidle', { SHUTDOWN_TIMEOUT_MS: '30000' })
    if (held === undefined) return t.pass('needs the emulator to hold a search')
    const { gw, emulator, agent } = held
    t.equal(
      (await send(agent, `${gw.url}/search`, 'search', { user_id: 1, vector: axisVector(0), limit: 1 }, {})).status,
      200,
      'a first answer keeps the connection open'
    )
    emulator.faults.slow(1500, { match: req => /\/points\/query$/.test(req.path) })
    const before = emulator.requests.length
    const search = send(agent, `${gw.url}/search`, 'search', { user_id: 1, vector: axisVector(1), limit: 1 }, {})
    while (!emulator.requests.slice(before).some(r => r.path.endsWith('/points/query')))
      await new Promise(resolve => setTimeout(resolve, 20))
    await gw.kill('SIGTERM') // the client sends nothing more: only the server can end its connection
    const outcome = await search
    t.equal(outcome.status, 200, 'the request in flight at SIGTERM is answered')
    t.equal(outcome.connection, 'close', 'with Connection: close, so the idle connection does not hold the process')
    t.equal(gw.child.exitCode, 0, `exit 0 (${gw.output().slice(-1000)})`)
  }
)
