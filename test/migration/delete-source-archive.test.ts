// delete_source removes a user's source rows only after that user's copy is
// verified; archiving the MariaDB table is refused unless it is safe (or forced).
import t from 'tap'
import type { ChunkRecord, UpsertOptions, VectorProvider } from '../../src/providers/vector-provider.ts'
import { MigrationEngine } from '../../src/migration/migration-engine.ts'
import { MigrationRunner } from '../../src/migration/migration-runner.ts'
import { MigrationService } from '../../src/migration/migration-service.ts'
import { MigrationStore } from '../../src/migration/migration-store.ts'
import { lockNamesFor } from '../../src/migration/user-locks.ts'
import { buildTestGateway } from '../helpers/app.ts'
import { chunk } from '../helpers/chunks.ts'
import { client } from '../helpers/gateway-client.ts'
import { admin, dataset, startMigration, storeAll, upsertOfUser, waitForMigration } from '../helpers/migration.ts'

t.test('delete_source deletes only verified users', async t => {
  const gw = await buildTestGateway(t, { qdrant: true })
  const { app } = gw
  await storeAll(app, gw.data, dataset({ users: [1, 2, 3, 4], files: 2, perFile: 10 }))
  // this replica's runner steps aside: the test runs one over a lossy target
  await app.migrationRunner.stop()

  const real = app.providers.qdrant!
  const LOSSY_USER = 2 // the target silently drops chunk 3 of each of this user's files: verification must catch it
  const FAILING_USER = 3 // every write of this user fails
  const lossy = new Proxy(real, {
    get(target, prop) {
      if (prop === 'upsert') {
        return async (chunks: ChunkRecord[], options?: UpsertOptions) =>
          await target.upsert(
            chunks.filter(c => !(c.user_id === LOSSY_USER && c.chunk_index === 3)),
            options
          )
      }
      const value = Reflect.get(target, prop, target)
      return typeof value === 'function' ? value.bind(target) : value
    }
  }) as VectorProvider
  gw.qdrant?.faults.fail(500, { match: upsertOfUser(FAILING_USER) })
  const pool = app.mariadb
  const locks = await lockNamesFor(pool)
  const store = new MigrationStore(pool, locks)
  const providers = new Map([
    ['mariadb', app.providers.mariadb as VectorProvider],
    ['qdrant', lossy]
  ] as const)
  const engine = new MigrationEngine({ pool, locks, store, providers: new Map(providers), retryDelayMs: 10 })
  const runner = new MigrationRunner({ store, engine, startDelayMs: 0, pollMs: 50 })
  t.teardown(async () => {
    await runner.stop()
  })
  const service = new MigrationService({ store, providers: new Map(providers), defaultBatchSize: 4 })
  const created = await service.create({ from: 'mariadb', to: 'qdrant', delete_source: true }, 'test')
  runner.start()
  const done = await waitForMigration(app, created.id)

  t.equal(done.status, 'failed')
  const byUser = new Map(done.users.map(u => [u.user_id, u]))
  t.match(
    byUser.get(LOSSY_USER)!.error,
    /verification failed: 2 of the 20 chunks in mariadb are missing in qdrant/,
    'the lossy user failed verification, with the count'
  )
  t.equal(byUser.get(LOSSY_USER)!.source_count, 20)
  t.equal(byUser.get(LOSSY_USER)!.target_count, 18)
  t.match(byUser.get(FAILING_USER)!.error, /copy after the start failed/, 'the failing user failed on copy')
  t.equal(await app.providers.mariadb.count({ user_id: LOSSY_USER }), 20, 'unverified user: source rows kept')
  t.equal(await app.providers.mariadb.count({ user_id: FAILING_USER }), 20, 'failed user: source rows kept')
  for (const u of [1, 4]) {
    t.equal(byUser.get(u)!.status, 'completed')
    t.equal(byUser.get(u)!.source_deleted, 20, `user ${u}: 20 source rows deleted after verification`)
    t.equal(await app.providers.mariadb.count({ user_id: u }), 0)
    t.equal(await real.count({ user_id: u }), 20)
  }
  // merged reads still see every chunk of every user
  for (const u of [1, 2, 3, 4])
    t.equal((await client(gw).stats(u)).json().total_chunks, 20, `user ${u}: 20 chunks in the merged view`)
})

t.test('archive: refused unless safe, then renames and recreates the table; force', async t => {
  const gw = await buildTestGateway(t, { qdrant: true })
  const { app } = gw
  const c = client(gw)
  const archive = async (payload?: object) =>
    await app.inject({ method: 'POST', url: '/admin/vector-storage/archive', headers: admin, payload: payload ?? {} })
  const tables = async (): Promise<string[]> =>
    (
      (await app.mariadb.query(
        "SELECT TABLE_NAME AS n FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME LIKE 'BRAG%' ORDER BY TABLE_NAME"
      )) as Array<{ n: string }>
    ).map(r => r.n)
  await storeAll(app, gw.data, dataset({ users: [1, 2, 3], files: 2, perFile: 5 }))

  let res = await archive()
  t.equal(res.statusCode, 409, 'refused: mariadb active, nothing migrated')
  t.equal(res.json().code, 'VG_ARCHIVE_REFUSED')
  t.match(res.json().message, /active provider is mariadb/)
  t.match(res.json().message, /no mariadb -> qdrant migration has completed/)
  res = await app.inject({ method: 'POST', url: '/admin/vector-storage/archive', headers: gw.data, payload: {} })
  t.equal(res.statusCode, 403, 'the data key cannot archive')

  // a migration that covers only user 1
  t.equal(
    (await waitForMigration(app, await startMigration(app, { from: 'mariadb', to: 'qdrant', user_ids: [1] }))).status,
    'completed'
  )
  t.equal((await c.switchTo('qdrant')).statusCode, 200)
  res = await archive()
  t.equal(res.statusCode, 409, 'refused: users 2 and 3 not migrated')
  t.match(res.json().message, /did not verify 2 user\(s\) holding data in MariaDB \(2, 3\)/)

  t.equal(
    (await waitForMigration(app, await startMigration(app, { from: 'mariadb', to: 'qdrant' }))).status,
    'completed'
  )
  await c.pin(2, 'mariadb')
  res = await archive()
  t.equal(res.statusCode, 409, 'refused: a user is pinned to mariadb')
  t.match(res.json().message, /pinned to mariadb \(2\)/)
  await c.pin(2, null)

  // a chunk that reached MariaDB after the migration (written around the gateway)
  await app.providers.mariadb.upsert([
    { ...chunk(3, 1001, 99), group_key: 'DEFAULT', file_type: 0, created: 1700000000, version: Date.now() * 1000 }
  ])
  res = await archive()
  t.equal(res.statusCode, 409, 'refused: MariaDB holds a chunk Qdrant lacks')
  t.match(res.json().message, /user 3: 1/)
  await app.providers.mariadb.deleteKeys(3, [{ file_id: 1001, chunk_index: 99 }])

  const paused = await startMigration(app, { from: 'mariadb', to: 'qdrant' })
  await app.inject({ method: 'POST', url: `/admin/vector-storage/migrations/${paused}/pause`, headers: admin })
  res = await archive({ force: true })
  t.equal(res.statusCode, 409, 'even force waits for a paused migration')
  t.match(res.json().message, new RegExp(`migration ${paused} is paused`))
  await app.inject({ method: 'POST', url: `/admin/vector-storage/migrations/${paused}/cancel`, headers: admin })

  const day = new Date().toISOString().slice(0, 10).replace(/-/g, '')
  res = await archive()
  t.equal(res.statusCode, 200, `allowed: ${res.body}`)
  t.equal(res.json().archived_table, `BRAG_archived_${day}`)
  t.equal(res.json().archived_chunks, 30)
  t.same(await tables(), ['BRAG', `BRAG_archived_${day}`])
  const [{ n }] = (await app.mariadb.query(`SELECT COUNT(*) AS n FROM BRAG_archived_${day}`)) as Array<{ n: number }>
  t.equal(Number(n), 30, 'the archived table keeps the rows')
  t.equal(await app.providers.mariadb.count(), 0, 'BRAG is empty')
  for (const u of [1, 2, 3])
    t.equal((await c.stats(u)).json().total_chunks, 10, `user ${u} still has 10 chunks (in qdrant)`)
  // the new table works
  await c.pin(7, 'mariadb')
  t.equal((await c.store([chunk(7, 1, 0)])).statusCode, 200, 'writes to the recreated table')
  t.equal(await app.providers.mariadb.count(), 1)

  res = await archive()
  t.equal(res.statusCode, 409, 'refused: user 7 was never migrated')
  res = await archive({ force: true })
  t.equal(res.statusCode, 200, 'force skips the coverage checks')
  t.equal(res.json().archived_table, `BRAG_archived_${day}_2`, 'the next free suffix')
  t.equal(res.json().forced, true)
  await c.pin(7, null)
  t.equal(
    (await archive()).json().archived_table,
    `BRAG_archived_${day}_3`,
    'an empty table after a migration: allowed again, _3'
  )
  t.same(await tables(), ['BRAG', `BRAG_archived_${day}`, `BRAG_archived_${day}_2`, `BRAG_archived_${day}_3`])
})
