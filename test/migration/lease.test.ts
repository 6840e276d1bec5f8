// The lease: with several replicas one runner works on a migration; a runner
// whose lease was taken stops before its next batch and writes no more
// checkpoints; the migration completes exactly once.
import t from 'tap'
import { buildTestGateway } from '../helpers/app.ts'
import { dataset, getMigration, keyStats, startMigration, storeAll, waitForMigration } from '../helpers/migration.ts'

const USERS = [1, 2, 3, 4, 5, 6]

t.test('two replicas: one runner, exact result', async t => {
  const a = await buildTestGateway(t, { qdrant: true })
  const b = await buildTestGateway(t, {
    db: a.db,
    qdrant: a.qdrant ?? true,
    env: { QDRANT_COLLECTION: a.config.QDRANT_COLLECTION }
  })
  await storeAll(a.app, a.data, dataset({ users: USERS, files: 2, perFile: 40 }))
  a.qdrant?.faults.slow(5, { match: req => req.method === 'PUT' })
  const id = await startMigration(b.app, { from: 'mariadb', to: 'qdrant', batch_size: 10 })
  const owners = new Set<string>()
  const done = await waitForMigration(a.app, id, 60000, m => {
    const runner = (m as unknown as { runner: string | null }).runner
    if (runner !== null) owners.add(runner)
    return m.status !== 'running'
  })
  t.equal(done.status, 'completed')
  t.equal(owners.size, 1, `one runner held the lease throughout (${[...owners].join(', ')})`)
  t.ok([a.app.migrationRunner.owner, b.app.migrationRunner.owner].includes([...owners][0]), 'one of the two replicas')
  t.same(await keyStats(a.app.providers.qdrant!, USERS), { count: 480, distinct: 480 })
})

t.test('a runner that loses its lease stops; the migration resumes when the lease is free', async t => {
  const gw = await buildTestGateway(t, { qdrant: true })
  const { app } = gw
  await storeAll(app, gw.data, dataset({ users: USERS, files: 2, perFile: 40 }))
  gw.qdrant?.faults.slow(20, { match: req => req.method === 'PUT' })
  const id = await startMigration(app, { from: 'mariadb', to: 'qdrant', batch_size: 5 })
  await waitForMigration(app, id, 30000, m => m.migrated_chunks >= 30)

  // another process takes the lease (as if ours had stalled past its expiry)
  await app.mariadb.query(
    "UPDATE vg_migrations SET lease_owner = 'thief', lease_expires_at = NOW(6) + INTERVAL 1 HOUR WHERE id = ?",
    [id]
  )
  const deadline = Date.now() + 10000
  while (app.migrationRunner.running !== null && Date.now() < deadline)
    await new Promise(resolve => setTimeout(resolve, 50))
  t.equal(app.migrationRunner.running, null, 'the runner noticed at its next renewal and stopped')
  const frozen = await getMigration(app, id)
  await new Promise(resolve => setTimeout(resolve, 1200))
  t.equal(
    (await getMigration(app, id)).migrated_chunks,
    frozen.migrated_chunks,
    'no checkpoint written without the lease'
  )
  t.equal(frozen.status, 'running')

  // the thief goes away: its lease is released (or expires), our runner claims the migration again
  await app.mariadb.query('UPDATE vg_migrations SET lease_owner = NULL, lease_expires_at = NULL WHERE id = ?', [id])
  const done = await waitForMigration(app, id, 60000)
  t.equal(done.status, 'completed')
  t.equal(done.migrated_chunks, 480, 'every chunk counted once')
  t.same(await keyStats(app.providers.qdrant!, USERS), { count: 480, distinct: 480 })
})
