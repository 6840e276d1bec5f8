// docs/architecture.md#tests: a migration killed at a random point (kill -9 of the gateway running
// it) and restarted ends with exact counts, no duplicates, nothing resurrected;
// running it a second time changes nothing.
import t from 'tap'
import { loadConfig } from '../../src/config.ts'
import { createMariaDbPool } from '../../src/store/mariadb-pool.ts'
import { createProviders } from '../../src/providers/create-providers.ts'
import { DATA_KEY, KEYS_ENV, storesEnv, testQdrant } from '../helpers/app.ts'
import { callGateway, startGatewayProcess, type GatewayProcess } from '../helpers/gateway-process.ts'
import { createTestDatabase } from '../helpers/mariadb.ts'
import { dataset, keyStats, prng } from '../helpers/migration.ts'

const USERS = Array.from({ length: 20 }, (_, i) => i + 1)
const TOTAL = USERS.length * 3 * 20

interface View {
  status: string
  migrated_chunks: number
  total_chunks: number
  completed_users: number
  failed_users: number
  error: string | null
  users: Array<{ user_id: number; status: string; source_count: number; target_count: number }>
}

t.test('kill -9 mid-migration, restart: resumes from checkpoints, exact counts, no duplicates, idempotent', async t => {
  const db = await createTestDatabase(t)
  const q = await testQdrant(t)
  const env = {
    ...KEYS_ENV,
    ...storesEnv(db, q, 'vgcrash'),
    SETTINGS_CACHE_MS: '100',
    MIGRATION_BATCH_SIZE: '10'
  }
  const call = callGateway
  const view = async (gw: GatewayProcess, id: number): Promise<View> =>
    (await call(gw, 'GET', `/admin/vector-storage/migrations/${id}?per_page=1000`)).json

  let gw = await startGatewayProcess(env, t)
  const chunks = dataset({ users: USERS, files: 3, perFile: 20, seed: 11 })
  for (let i = 0; i < chunks.length; i += 500) {
    const res = await call(gw, 'POST', '/chunks', { chunks: chunks.slice(i, i + 500) }, DATA_KEY)
    t.equal(res.status, 200, 'seeded a batch')
  }

  const started = await call(gw, 'POST', '/admin/vector-storage/migrations', { from: 'mariadb', to: 'qdrant' })
  t.equal(started.status, 202)
  t.equal(started.json.status, 'running')
  const id = started.json.id as number

  const killAt = 100 + prng(Date.now())(TOTAL - 400)
  let seen: View
  for (;;) {
    seen = await view(gw, id)
    if (seen.migrated_chunks >= killAt || seen.status !== 'running') break
    await new Promise(resolve => setTimeout(resolve, 20))
  }
  await gw.kill('SIGKILL')
  t.equal(
    seen.status,
    'running',
    `killed while running, after ${seen.migrated_chunks} of ${TOTAL} chunks (aimed at ${killAt})`
  )

  // the truth, read straight from the stores
  const config = loadConfig({ ...env, LOG_LEVEL: 'silent' })
  const pool = createMariaDbPool(config)
  t.teardown(async () => {
    await pool.end()
  })
  const providers = createProviders(config, pool)
  const [row] = await pool.query('SELECT status, lease_owner FROM vg_migrations WHERE id = ?', [id])
  t.equal(row.status, 'running', 'the migration is still running after the crash')
  t.ok(row.lease_owner !== null, 'and its lease names the dead process')
  const copiedBeforeCrash = await providers.qdrant!.count()
  t.ok(copiedBeforeCrash > 0 && copiedBeforeCrash < TOTAL, `${copiedBeforeCrash} chunks were in qdrant at the crash`)

  gw = await startGatewayProcess(env, t)
  // deletes while the migration waits for its lease to expire must stay deleted
  const deletedFiles: Array<[number, number]> = [
    [1, 1001],
    [7, 1002],
    [20, 1003]
  ]
  for (const [u, f] of deletedFiles) {
    const res = await call(gw, 'DELETE', `/chunks?user_id=${u}&file_id=${f}`, undefined, DATA_KEY)
    t.equal(res.status, 200, `deleted user ${u} file ${f} during the outage`)
  }
  const expected = TOTAL - deletedFiles.length * 20

  const deadline = Date.now() + 60000
  let done: View
  for (;;) {
    done = await view(gw, id)
    if (done.status !== 'running' || Date.now() > deadline) break
    await new Promise(resolve => setTimeout(resolve, 200))
  }
  t.equal(done.status, 'completed', `resumed and completed: ${done.error ?? ''}`)
  t.equal(done.completed_users, USERS.length)
  t.equal(done.failed_users, 0)
  t.ok(
    done.users.every(u => u.status === 'completed' && u.source_count === u.target_count),
    'every user verified with equal exact counts'
  )
  t.ok(
    done.migrated_chunks <= TOTAL,
    `resumed from the checkpoints, not from the start (${done.migrated_chunks} chunks copied in all)`
  )
  t.same(
    await keyStats(providers.qdrant!, USERS),
    { count: expected, distinct: expected },
    `qdrant: exactly ${expected} points, no duplicates`
  )
  t.same(
    await keyStats(providers.mariadb, USERS),
    { count: expected, distinct: expected },
    'mariadb keeps its rows (no delete_source)'
  )
  for (const [u, f] of deletedFiles) {
    t.equal(
      await providers.qdrant!.count({ user_id: u, file_ids: [f] }),
      0,
      `user ${u} file ${f} not resurrected in qdrant`
    )
  }

  const again = await call(gw, 'POST', '/admin/vector-storage/migrations', {
    from: 'mariadb',
    to: 'qdrant',
    batch_size: 7
  })
  t.equal(again.status, 202)
  let second: View
  for (;;) {
    second = await view(gw, again.json.id)
    if (second.status !== 'running' || Date.now() > deadline + 30000) break
    await new Promise(resolve => setTimeout(resolve, 200))
  }
  t.equal(second.status, 'completed', 'the same migration again completes')
  t.same(
    await keyStats(providers.qdrant!, USERS),
    { count: expected, distinct: expected },
    'idempotent: still no duplicates, same count'
  )
  await gw.kill('SIGTERM')
})
