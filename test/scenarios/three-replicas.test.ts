// Three gateway processes on one MariaDB database (issue 10 §4): a switch made
// through one is seen by all; a migration is run by exactly one replica at any
// time (the lease owner in vg_migrations, sampled throughout); kill -9 of the lease
// holder hands the migration to one of the other two, which finishes it with
// exact counts. Bounded: dimension 8, 3000 chunks, the default 10 s lease.
import t from 'tap'
import mariadb from 'mariadb'
import { loadConfig } from '../../src/config.ts'
import { createMariaDbPool } from '../../src/store/mariadb-pool.ts'
import { createProviders } from '../../src/providers/create-providers.ts'
import { DATA_KEY, KEYS_ENV, storesEnv, testQdrant } from '../helpers/app.ts'
import { callGateway, startGatewayProcess, type GatewayProcess } from '../helpers/gateway-process.ts'
import { createTestDatabase } from '../helpers/mariadb.ts'
import { dataset, keyStats } from '../helpers/migration.ts'

const USERS = Array.from({ length: 30 }, (_, i) => i + 1)
const TOTAL = USERS.length * 5 * 20
const CACHE_MS = 300
const sleep = async (ms: number): Promise<void> => {
  await new Promise(resolve => setTimeout(resolve, ms))
}

interface Sample {
  owner: string | null
  active: boolean
  status: string
}

t.test('three replicas: shared switches, one runner at a time, takeover after kill -9 with exact counts', async t => {
  const db = await createTestDatabase(t)
  const q = await testQdrant(t)
  const env = {
    ...KEYS_ENV,
    ...storesEnv(db, q, 'vg3r'),
    SETTINGS_CACHE_MS: String(CACHE_MS),
    MIGRATION_BATCH_SIZE: '20'
  }
  const t0 = Date.now()
  const phase = (what: string): void => {
    t.comment(`${what} at ${Date.now() - t0} ms`)
  }
  const replicas: GatewayProcess[] = []
  // one after the other: each start has its own time budget on a loaded machine
  for (let i = 0; i < 3; i++) replicas.push(await startGatewayProcess(env, t))
  const call = callGateway
  const active = async (gw: GatewayProcess): Promise<string> =>
    (await call(gw, 'GET', '/capabilities')).json.active_provider
  /** polls every replica until all report `provider` (bounded: a test must end) */
  const allSee = async (provider: string): Promise<string[]> => {
    const deadline = Date.now() + CACHE_MS * 20
    let seen: string[]
    do {
      seen = await Promise.all(
        replicas.filter(r => r.child.exitCode === null && r.child.signalCode === null).map(active)
      )
      if (seen.every(p => p === provider)) break
      await sleep(20)
    } while (Date.now() < deadline)
    return seen
  }

  phase('replicas up')
  // ---- switches through one replica reach the others
  t.equal((await call(replicas[0], 'PUT', '/admin/vector-storage/provider', { provider: 'qdrant' })).status, 200)
  t.same(await allSee('qdrant'), ['qdrant', 'qdrant', 'qdrant'], 'a switch through replica 1 is seen by all three')
  t.equal((await call(replicas[1], 'PUT', '/admin/vector-storage/provider', { provider: 'mariadb' })).status, 200)
  t.same(
    await allSee('mariadb'),
    ['mariadb', 'mariadb', 'mariadb'],
    'a switch back through replica 2 is seen by all three'
  )

  // ---- seed through all three replicas (writes go to MariaDB, the active provider)
  const chunks = dataset({ users: USERS, files: 5, perFile: 20, seed: 3 })
  for (let i = 0, r = 0; i < chunks.length; i += 500, r++) {
    t.equal(
      (await call(replicas[r % 3], 'POST', '/chunks', { chunks: chunks.slice(i, i + 500) }, DATA_KEY)).status,
      200
    )
  }

  phase('seeded')
  // ---- migration: lease owner sampled straight from MariaDB while it runs
  q.emulator?.faults.slow(15, { match: req => req.method === 'PUT' }) // ~150 upserts: long enough to kill mid-run
  const conn = await mariadb.createConnection(db.url)
  t.teardown(async () => {
    await conn.end()
  })
  const started = await call(replicas[2], 'POST', '/admin/vector-storage/migrations', { from: 'mariadb', to: 'qdrant' })
  t.equal(started.status, 202)
  const id = started.json.id as number
  const samples: Sample[] = []
  const sample = async (): Promise<Sample & { migrated: number }> => {
    const [row] = (await conn.query(
      'SELECT lease_owner, (lease_owner IS NOT NULL AND lease_expires_at > NOW(6)) AS active, status FROM vg_migrations WHERE id = ?',
      [id]
    )) as Array<Record<string, unknown>>
    const [sum] = (await conn.query(
      'SELECT COALESCE(SUM(migrated_chunks), 0) AS n FROM vg_migration_users WHERE migration_id = ?',
      [id]
    )) as Array<Record<string, unknown>>
    const s = {
      owner: (row.lease_owner ?? null) as string | null,
      active: Number(row.active) === 1,
      status: String(row.status),
      migrated: Number(sum.n)
    }
    samples.push(s)
    return s
  }
  const pidOf = (owner: string): number => Number(owner.split(':').at(-2))
  const byPid = new Map(replicas.map(r => [r.child.pid ?? -1, r]))

  // wait for a runner to be a quarter of the way, then kill -9 it
  let s = await sample()
  const deadline = Date.now() + 60000
  while ((s.owner === null || s.migrated < TOTAL / 4) && s.status === 'running' && Date.now() < deadline) {
    await sleep(20)
    s = await sample()
  }
  t.equal(s.status, 'running', `still running at ${s.migrated} of ${TOTAL} chunks`)
  const first = s.owner ?? ''
  const victim = byPid.get(pidOf(first))
  t.ok(victim !== undefined, `the lease owner ${first} is one of the three replicas`)
  await victim?.kill('SIGKILL')
  const killedAt = samples.length
  phase('killed the runner')

  // the others take over once the dead runner's lease has expired
  while (s.status === 'running' && Date.now() < deadline + 60000) {
    await sleep(50)
    s = await sample()
  }
  t.equal(s.status, 'completed', 'completed after the takeover')
  phase(
    `completed (takeover after ${samples.slice(killedAt).findIndex(x => x.owner !== null && x.owner !== first)} samples)`
  )

  // ---- one runner at any time: the owner sequence is (null), first, (null / expired), second
  const owners = samples.map(x => x.owner).filter((o): o is string => o !== null)
  const changes = owners.filter((o, i) => i === 0 || o !== owners[i - 1])
  t.equal(changes.length, 2, `the lease changed hands exactly once: ${changes.join(' -> ')}`)
  t.equal(changes[0], first)
  const second = changes[1] ?? ''
  t.not(pidOf(second), pidOf(first), 'to another process')
  t.ok(byPid.has(pidOf(second)) && byPid.get(pidOf(second)) !== victim, 'one of the two surviving replicas')
  const afterKill = samples.slice(killedAt)
  const firstAfter = afterKill.findIndex(x => x.owner === second)
  t.ok(
    firstAfter > 0 && afterKill.slice(0, firstAfter).every(x => x.owner === first || x.owner === null),
    "nobody claimed while the dead runner's lease was held"
  )
  t.ok(
    afterKill.slice(firstAfter).every(x => x.owner === second || x.owner === null),
    'the new runner kept it to the end (no ping-pong)'
  )
  t.ok(
    samples.every(x => x.owner === null || x.owner === first || x.owner === second),
    'no third owner ever'
  )

  // ---- every surviving replica reports the same finished migration; exact counts in the stores
  for (const r of replicas.filter(x => x !== victim)) {
    const v = (await call(r, 'GET', `/admin/vector-storage/migrations/${id}?per_page=1000`)).json
    t.match(
      v,
      {
        status: 'completed',
        total_users: USERS.length,
        completed_users: USERS.length,
        failed_users: 0,
        total_chunks: TOTAL
      },
      `replica ${r.child.pid} sees it completed`
    )
    t.ok(
      (v.users as Array<{ source_count: number; target_count: number }>).every(
        u => u.source_count === u.target_count && u.source_count === 100
      ),
      'each user verified: 100 = 100'
    )
  }
  const config = loadConfig({ ...env, LOG_LEVEL: 'silent' })
  const pool = createMariaDbPool(config)
  t.teardown(async () => {
    await pool.end()
  })
  const providers = createProviders(config, pool)
  t.same(
    await keyStats(providers.qdrant!, USERS),
    { count: TOTAL, distinct: TOTAL },
    `qdrant: exactly ${TOTAL} points, no duplicates`
  )
  t.same(await keyStats(providers.mariadb, USERS), { count: TOTAL, distinct: TOTAL }, 'mariadb keeps its rows')
})
