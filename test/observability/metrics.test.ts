// /metrics sees every path's provider calls, not only the router's: a migration
// run by the app's own runner reads its source with scan and writes its target
// with upsert through the same metrics-wrapped providers (src/gateway.ts).
import t from 'tap'
import { buildTestGateway } from '../helpers/app.ts'
import { admin, dataset, startMigration, storeAll, waitForMigration } from '../helpers/migration.ts'

/** The count of timed calls of one provider operation in a Prometheus text exposition. */
function callCount(exposition: string, provider: string, operation: string): number {
  let total = 0
  for (const line of exposition.split('\n')) {
    if (!line.startsWith('vg_provider_operation_duration_seconds_count{')) continue
    if (line.includes(`provider="${provider}"`) && line.includes(`operation="${operation}"`))
      total += Number(line.slice(line.lastIndexOf(' ') + 1))
  }
  return total
}

t.test('a migration through the app shows its scan and upsert calls in GET /metrics', async t => {
  const gw = await buildTestGateway(t, { qdrant: true })
  const { app } = gw
  await storeAll(app, gw.data, dataset({ users: [1, 2], files: 2, perFile: 15 }))
  const scrape = async (): Promise<string> => {
    const res = await app.inject({ url: '/metrics' })
    t.equal(res.statusCode, 200)
    return res.body
  }

  const before = await scrape()
  t.ok(callCount(before, 'mariadb', 'upsert') > 0, 'the writes through the router are counted')
  t.equal(callCount(before, 'mariadb', 'scan'), 0, 'no scan of mariadb before the migration')
  t.equal(callCount(before, 'qdrant', 'upsert'), 0, 'no write to qdrant before the migration')

  const id = await startMigration(app, { from: 'mariadb', to: 'qdrant', batch_size: 10 })
  const done = await waitForMigration(app, id)
  t.equal(done.status, 'completed', 'the migration completed')
  t.equal(done.migrated_chunks, 60)

  const after = await scrape()
  // 2 users x 30 chunks in batches of 10: at least 3 scans and 3 upserts per user
  t.ok(
    callCount(after, 'mariadb', 'scan') >= 6,
    `the migration's scans of mariadb are counted (${callCount(after, 'mariadb', 'scan')})`
  )
  t.ok(
    callCount(after, 'qdrant', 'upsert') >= 6,
    `its upserts to qdrant are counted (${callCount(after, 'qdrant', 'upsert')})`
  )
  t.ok(callCount(after, 'qdrant', 'count') > 0, 'and its verification counts in qdrant')
  const res = await app.inject({ url: '/admin/vector-storage/status', headers: admin })
  t.equal(res.statusCode, 200)
  t.ok(
    callCount(await scrape(), 'mariadb', 'vectorIndexInfo') > 0,
    'the status route reads the index through the same wrapped provider'
  )
})
