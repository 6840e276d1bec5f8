// mariadb -> qdrant -> mariadb over 3,000 chunks of 30 users: every chunk comes
// back identical (text, metadata, version, vector within float32 precision), and
// the admin view reports the totals, rate and ETA along the way.
import t from 'tap'
import type { ChunkRecord } from '../../src/providers/vector-provider.ts'
import { buildTestGateway } from '../helpers/app.ts'
import {
  admin,
  dataset,
  getMigration,
  keyStats,
  sameVector,
  scanUser,
  startMigration,
  storeAll,
  waitForMigration,
  withoutVector
} from '../helpers/migration.ts'

const USERS = Array.from({ length: 30 }, (_, i) => i + 1)

t.test('round trip mariadb -> qdrant -> mariadb keeps every chunk identical', async t => {
  const gw = await buildTestGateway(t, { qdrant: true, env: { MIGRATION_BATCH_SIZE: '37' } })
  const { app } = gw
  const mariadb = app.providers.mariadb
  const qdrant = app.providers.qdrant!
  await storeAll(app, gw.data, dataset({ users: USERS, files: 4, perFile: 25 }))
  t.equal(await mariadb.count(), 3000, '3,000 chunks seeded in MariaDB')

  const original = new Map<number, ChunkRecord[]>()
  for (const u of USERS) original.set(u, await scanUser(mariadb, u))

  const compare = async (label: string, p: typeof mariadb | typeof qdrant): Promise<void> => {
    let mismatches = 0
    for (const u of USERS) {
      const got = await scanUser(p, u)
      const want = original.get(u)!
      if (got.length !== want.length) {
        mismatches++
        t.fail(`${label}: user ${u} has ${got.length} chunks, expected ${want.length}`)
        continue
      }
      for (let i = 0; i < want.length; i++) {
        if (
          JSON.stringify(withoutVector(got[i])) !== JSON.stringify(withoutVector(want[i])) ||
          !sameVector(got[i].vector, want[i].vector)
        ) {
          if (mismatches++ < 3) t.same(got[i], want[i], `${label}: user ${u} chunk ${i}`)
        }
      }
    }
    t.equal(mismatches, 0, `${label}: all 3,000 chunks identical`)
  }

  const there = await startMigration(app, { from: 'mariadb', to: 'qdrant', delete_source: true })
  const running = await getMigration(app, there)
  t.equal(running.status, 'running')
  const done = await waitForMigration(app, there)
  t.equal(done.status, 'completed', `migration ${there} completed: ${done.error ?? ''}`)
  t.equal(done.total_users, 30)
  t.equal(done.completed_users, 30)
  t.equal(done.failed_users, 0)
  t.equal(done.pending_users, 0)
  t.equal(done.total_chunks, 3000)
  t.equal(done.migrated_chunks, 3000)
  t.ok(
    done.chunks_per_second !== null && done.chunks_per_second > 0,
    `rate reported: ${done.chunks_per_second} chunks/s`
  )
  t.equal(done.eta_seconds, 0)
  t.ok(
    done.users.every(
      u => u.status === 'completed' && u.source_count === 100 && u.target_count === 100 && u.source_deleted === 100
    ),
    'every user verified with exact counts and removed from the source'
  )
  t.equal(await mariadb.count(), 0, 'delete_source emptied MariaDB')
  t.same(await keyStats(qdrant, USERS), { count: 3000, distinct: 3000 }, 'qdrant: 3,000 points, no duplicates')
  await compare('qdrant', qdrant)

  const back = await startMigration(app, { from: 'qdrant', to: 'mariadb', delete_source: true, batch_size: 53 })
  const returned = await waitForMigration(app, back)
  t.equal(returned.status, 'completed', `migration ${back} completed: ${returned.error ?? ''}`)
  t.equal(returned.migrated_chunks, 3000)
  t.equal(await qdrant.count(), 0, 'delete_source emptied Qdrant')
  t.same(await keyStats(mariadb, USERS), { count: 3000, distinct: 3000 }, 'mariadb: 3,000 rows, no duplicates')
  await compare('mariadb after the round trip', mariadb)

  const list = (await app.inject({ url: '/admin/vector-storage/migrations', headers: admin })).json()
  t.same(
    list.migrations.map((m: { id: number }) => m.id),
    [back, there],
    'list, newest first'
  )
  const status = (await app.inject({ url: '/admin/vector-storage/status', headers: admin })).json()
  t.equal(status.migration.id, back, 'the admin status shows the last migration')

  const page = (
    await app.inject({ url: `/admin/vector-storage/migrations/${there}?page=2&per_page=7`, headers: admin })
  ).json()
  t.same(
    page.users.map((u: { user_id: number }) => u.user_id),
    [8, 9, 10, 11, 12, 13, 14],
    'page 2 of 7 users'
  )
  t.same(page.pagination, { page: 2, per_page: 7, total: 30, pages: 5 })
  const slice = (
    await app.inject({ url: `/admin/vector-storage/migrations/${there}?offset=28&limit=5`, headers: admin })
  ).json()
  t.same(
    slice.users.map((u: { user_id: number }) => u.user_id),
    [29, 30],
    'offset/limit'
  )
})
