// The `vector-gateway` CLI against a test database and the Qdrant emulator: a
// migration it runs shows in the admin API (and one the API started shows in
// `status`), `switch` changes the active provider, failures exit non-zero.
import t from 'tap'
import { buildTestGateway, storesEnv, TEST_DIMENSION, testQdrant } from './helpers/app.ts'
import { runChild, type ChildRun } from './helpers/child-process.ts'
import { createTestDatabase } from './helpers/mariadb.ts'
import { admin, dataset, storeAll, upsertOfUser, waitForMigration } from './helpers/migration.ts'

async function cli(env: Record<string, string>, ...args: string[]): Promise<ChildRun> {
  return await runChild(process.execPath, ['bin/vector-gateway.js', ...args], { env })
}

t.test('vector-gateway migrate / status / switch', async t => {
  const db = await createTestDatabase(t)
  const q = await testQdrant(t)
  const env = { ...storesEnv(db, q, 'vgcli'), SETTINGS_CACHE_MS: '0' }
  // seed through a gateway, then close it: the CLI does the work itself
  const seeder = await buildTestGateway(t, {
    db,
    qdrant: q.emulator ?? true,
    env: { QDRANT_COLLECTION: env.QDRANT_COLLECTION }
  })
  await storeAll(seeder.app, seeder.data, dataset({ users: [1, 2, 3, 4], files: 3, perFile: 25 }))
  await seeder.app.close()

  let run = await cli(env, 'migrate', '--from', 'mariadb', '--to', 'qdrant', '--batch-size', '20', '--json')
  t.equal(run.code, 0, `migrate exits 0 (no API_KEY needed)${run.code === 0 ? '' : `: ${run.stderr}`}`)
  const migrated = JSON.parse(run.stdout)
  t.equal(migrated.status, 'completed')
  t.equal(migrated.migrated_chunks, 300)
  t.equal(migrated.completed_users, 4)
  t.match(
    run.stderr,
    /migration \d+ mariadb -> qdrant: completed; users 4\/4 completed, 0 failed; chunks 300\/300/,
    'prints a summary'
  )
  t.match(
    run.stderr,
    /migration .*\|.*\| .*users .* chunks .* chunks\/s \| ETA/,
    'draws the progress bar (users, chunks, rate, ETA)'
  )

  const gw = await buildTestGateway(t, {
    db,
    qdrant: q.emulator ?? true,
    env: { QDRANT_COLLECTION: env.QDRANT_COLLECTION }
  })
  let res = await gw.app.inject({ url: `/admin/vector-storage/migrations/${migrated.id}`, headers: admin })
  t.equal(res.statusCode, 200)
  t.equal(res.json().status, 'completed', 'the CLI migration shows in the admin API')
  t.match(res.json().created_by, /^cli:/)
  t.equal(await gw.app.providers.qdrant!.count(), 300)

  run = await cli(env, 'status', '--json')
  t.equal(run.code, 0)
  const status = JSON.parse(run.stdout)
  t.equal(status.current_provider, 'mariadb')
  t.equal(status.providers.qdrant.chunks, 300)
  t.equal(status.migration.id, migrated.id, 'status shows the last migration')
  run = await cli(env, 'status')
  t.equal(run.code, 0)
  t.match(run.stdout, /active provider\s+mariadb/)
  t.match(run.stdout, /qdrant\s+connected, collection vgcli\S+, 300 chunks/)
  t.match(run.stdout, new RegExp(`migration\\s+migration ${migrated.id as number} mariadb -> qdrant: completed`))

  // started through the API, seen by the CLI
  res = await gw.app.inject({
    method: 'POST',
    url: '/admin/vector-storage/migrations',
    headers: admin,
    payload: { from: 'qdrant', to: 'mariadb', user_ids: [2] }
  })
  t.equal(res.statusCode, 202)
  await waitForMigration(gw.app, res.json().id)
  run = await cli(env, 'status', '--json')
  t.equal(
    JSON.parse(run.stdout).migration.id,
    res.json().id,
    'a migration started through the API shows in the CLI status'
  )

  run = await cli(env, 'switch', 'qdrant')
  t.equal(run.code, 0, run.stderr)
  t.match(run.stdout, /active provider: mariadb -> qdrant/)
  res = await gw.app.inject({ url: '/admin/vector-storage/status', headers: admin })
  t.equal(res.json().current_provider, 'qdrant', 'the gateway follows the switch')
  t.match(res.json().changed_by, /^cli:/)

  run = await cli(env, 'switch', 'elastic')
  t.equal(run.code, 2, 'an unknown provider is a usage error')
  run = await cli({ ...env, QDRANT_URL: '' }, 'switch', 'qdrant')
  t.equal(run.code, 1, 'switching to an unconfigured provider fails')
  t.match(run.stderr, /VG_PROVIDER_UNAVAILABLE/)
  run = await cli(env, 'migrate', '--from', 'mariadb', '--to', 'mariadb')
  t.equal(run.code, 1, 'from == to fails')
  t.match(run.stderr, /VG_BAD_REQUEST/)
  run = await cli(env, 'migrate', '--from', 'mariadb', '--to', 'qdrant', '--users', '1,x')
  t.equal(run.code, 2, 'bad --users is a usage error')
  run = await cli({ ...env, VECTOR_DIMENSION: 'abc' }, 'status')
  t.equal(run.code, 2, 'bad configuration')
  t.match(run.stderr, /VECTOR_DIMENSION/)

  // a failing migration exits non-zero and names the failed user
  if (q.emulator !== undefined) {
    await gw.app.migrationRunner.stop() // the CLI runs this one
    q.emulator.faults.fail(500, { message: 'injected failure', match: upsertOfUser(3) })
    await gw.app.providers.qdrant!.delete({ user_id: 3 })
    run = await cli(env, 'migrate', '--from', 'mariadb', '--to', 'qdrant', '--users', '3,4', '--no-progress')
    t.equal(run.code, 1, 'a failed migration exits 1')
    t.match(run.stderr, /user 3 failed: .*injected failure/)
    t.match(run.stderr, /: failed; users 1\/2 completed, 1 failed/)
    await q.emulator.faults.reset()
  }
})

t.test('vector-gateway index status / create / drop', async t => {
  const db = await createTestDatabase(t)
  const env = { MARIADB_URL: db.url, VECTOR_DIMENSION: String(TEST_DIMENSION) }
  let run = await cli(env, 'index')
  t.equal(run.code, 0, run.stderr)
  t.match(run.stdout, /vector index on BRAG: none/)
  run = await cli(env, 'index', 'create', '--m', '6', '--json')
  t.equal(run.code, 0, run.stderr)
  t.match(JSON.parse(run.stdout), { vector_index: { exists: true, usable: true, distance: 'cosine', m: 6 } })
  t.ok(JSON.parse(run.stdout).duration_ms >= 0, 'reports the build duration')
  run = await cli(env, 'index', 'status')
  t.match(run.stdout, /DISTANCE=cosine M=6/)
  run = await cli(env, 'index', 'drop')
  t.equal(run.code, 0)
  t.match(run.stdout, /none \(drop took \d+ ms\)/)
  run = await cli(env, 'index', 'rebuild')
  t.equal(run.code, 2, 'an unknown action is a usage error')
  run = await cli(env, 'index', 'create', '--m', '1')
  t.equal(run.code, 2, 'M out of range is a usage error')
})
