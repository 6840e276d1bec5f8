// The migration admin API: input checks, one migration at a time, the state
// machine (pause, resume, cancel, retry; invalid transitions are 409
// VG_INVALID_STATE), and a failing user that does not stop the others.
import t from 'tap'
import { buildTestGateway } from '../helpers/app.ts'
import { TRANSITIONS, MIGRATION_STATES, nextState } from '../../src/migration/state-machine.ts'
import {
  admin,
  dataset,
  getMigration,
  requestMigration,
  startMigration,
  storeAll,
  upsertOfUser,
  waitForMigration
} from '../helpers/migration.ts'

t.test('state machine table', async t => {
  t.equal(nextState('running', 'pause'), 'paused')
  t.equal(nextState('paused', 'resume'), 'running')
  t.equal(nextState('failed', 'retry'), 'running')
  t.equal(nextState('completed', 'retry'), null)
  t.equal(nextState('cancelled', 'resume'), null)
  for (const [action, rule] of Object.entries(TRANSITIONS)) {
    for (const state of MIGRATION_STATES) {
      t.equal(
        nextState(state, action as keyof typeof TRANSITIONS) !== null,
        rule.from.includes(state),
        `${action} from ${state}`
      )
    }
  }
})

t.test('input checks and conflicts', async t => {
  const gw = await buildTestGateway(t, { qdrant: true })
  const { app } = gw
  const post = async (payload: unknown) =>
    await app.inject({
      method: 'POST',
      url: '/admin/vector-storage/migrations',
      headers: admin,
      payload: payload as object
    })

  let res = await post({ from: 'mariadb', to: 'mariadb' })
  t.equal(res.statusCode, 400, 'from == to is a 400')
  t.equal(res.json().code, 'VG_BAD_REQUEST')
  res = await post({ from: 'mariadb', to: 'elastic' })
  t.equal(res.statusCode, 400, 'unknown provider is a 400')
  res = await post({ from: 'mariadb', to: 'qdrant', batch_size: 0 })
  t.equal(res.statusCode, 400, 'batch_size 0 is a 400')
  res = await post({ from: 'mariadb', to: 'qdrant', user_ids: [] })
  t.equal(res.statusCode, 400, 'empty user_ids is a 400')
  res = await app.inject({
    method: 'POST',
    url: '/admin/vector-storage/migrations',
    headers: gw.data,
    payload: { from: 'mariadb', to: 'qdrant' }
  })
  t.equal(res.statusCode, 403, 'the data key cannot start migrations')
  res = await app.inject({ url: '/admin/vector-storage/migrations/999', headers: admin })
  t.equal(res.statusCode, 404, 'unknown migration is a 404')
  t.equal(res.json().code, 'VG_NOT_FOUND')
  res = await app.inject({ method: 'POST', url: '/admin/vector-storage/migrations/999/pause', headers: admin })
  t.equal(res.statusCode, 404)

  await storeAll(app, gw.data, dataset({ users: [1, 2, 3], files: 2, perFile: 200 }))
  const id = await startMigration(app, { from: 'mariadb', to: 'qdrant', batch_size: 5 })
  const action = async (what: string) =>
    await app.inject({ method: 'POST', url: `/admin/vector-storage/migrations/${id}/${what}`, headers: admin })

  res = await post({ from: 'qdrant', to: 'mariadb' })
  t.equal(res.statusCode, 409, 'a second migration is refused while one runs')
  t.equal(res.json().code, 'VG_MIGRATION_CONFLICT')

  res = await action('resume')
  t.equal(res.statusCode, 409, 'resume of a running migration')
  t.equal(res.json().code, 'VG_INVALID_STATE')
  t.match(res.json().message, /running/)
  res = await action('retry')
  t.equal(res.statusCode, 409, 'retry of a running migration')
  t.equal(res.json().code, 'VG_INVALID_STATE')

  res = await action('pause')
  t.equal(res.statusCode, 200)
  t.equal(res.json().status, 'paused')
  res = await action('pause')
  t.equal(res.statusCode, 409, 'pause of a paused migration')
  t.equal(res.json().code, 'VG_INVALID_STATE')
  res = await post({ from: 'mariadb', to: 'qdrant' })
  t.equal(res.statusCode, 409, 'a paused migration still occupies the gateway')

  // paused: nothing moves
  await new Promise(resolve => setTimeout(resolve, 600))
  const before = (await getMigration(app, id)).migrated_chunks
  await new Promise(resolve => setTimeout(resolve, 600))
  t.equal((await getMigration(app, id)).migrated_chunks, before, 'no progress while paused')

  res = await action('resume')
  t.equal(res.json().status, 'running', 'resumed')
  await waitForMigration(app, id, 30000, m => m.migrated_chunks > before)
  res = await action('cancel')
  t.equal(res.json().status, 'cancelled', 'cancelled while running')
  for (const what of ['pause', 'resume', 'cancel', 'retry']) {
    res = await action(what)
    t.equal(res.statusCode, 409, `${what} of a cancelled migration`)
    t.equal(res.json().code, 'VG_INVALID_STATE')
  }
  const cancelled = await getMigration(app, id)
  await new Promise(resolve => setTimeout(resolve, 800))
  t.equal((await getMigration(app, id)).migrated_chunks, cancelled.migrated_chunks, 'no progress after cancel')

  const again = await startMigration(app, { from: 'mariadb', to: 'qdrant', batch_size: 500 })
  const done = await waitForMigration(app, again)
  t.equal(
    done.status,
    'completed',
    'a new migration after a cancel completes (what the cancelled one copied is skipped)'
  )
  t.equal(await app.providers.qdrant!.count(), 1200)
  for (const what of ['pause', 'resume', 'cancel', 'retry']) {
    res = await app.inject({ method: 'POST', url: `/admin/vector-storage/migrations/${again}/${what}`, headers: admin })
    t.equal(res.statusCode, 409, `${what} of a completed migration`)
  }
})

t.test('provider not configured: 409 VG_PROVIDER_UNAVAILABLE', async t => {
  const gw = await buildTestGateway(t)
  const res = await requestMigration(gw.app, { from: 'mariadb', to: 'qdrant' })
  t.equal(res.statusCode, 409)
  t.equal(res.json().code, 'VG_PROVIDER_UNAVAILABLE')
})

t.test("one user's failing batches fail that user only; retry completes it", async t => {
  const gw = await buildTestGateway(t, { qdrant: true })
  const { app } = gw
  const emulator = gw.qdrant
  if (emulator === undefined) {
    t.comment('skipped: needs the Qdrant emulator (QDRANT_URL is set)')
    return
  }
  await storeAll(app, gw.data, dataset({ users: [1, 2, 3, 4, 5], files: 2, perFile: 30 }))
  const FAILING = 3
  emulator.faults.fail(500, { message: 'disk quota exceeded (injected)', match: upsertOfUser(FAILING) })
  const id = await startMigration(app, { from: 'mariadb', to: 'qdrant', batch_size: 25 })
  const failed = await waitForMigration(app, id)
  t.equal(failed.status, 'failed', 'the migration ends failed')
  t.match(failed.error, /1 user\(s\) failed/)
  t.equal(failed.completed_users, 4)
  t.equal(failed.failed_users, 1)
  const bad = failed.users.find(u => u.user_id === FAILING)!
  t.equal(bad.status, 'failed')
  t.match(bad.error, /disk quota exceeded/, 'the user row carries the error')
  for (const u of failed.users.filter(u => u.user_id !== FAILING))
    t.equal(u.status, 'completed', `user ${u.user_id} completed`)
  t.equal(await app.providers.qdrant!.count({ user_id: FAILING }), 0, 'nothing of the failing user reached qdrant')

  const onlyFailed = (
    await app.inject({ url: `/admin/vector-storage/migrations/${id}?user_status=failed`, headers: admin })
  ).json()
  t.same(
    onlyFailed.users.map((u: { user_id: number }) => u.user_id),
    [FAILING],
    '?user_status=failed'
  )

  await emulator.faults.reset()
  const res = await app.inject({ method: 'POST', url: `/admin/vector-storage/migrations/${id}/retry`, headers: admin })
  t.equal(res.statusCode, 200)
  t.equal(res.json().status, 'running')
  const retried = await waitForMigration(app, id)
  t.equal(retried.status, 'completed', 'retry completed the failed user')
  t.equal(retried.completed_users, 5)
  t.equal(retried.error, null)
  t.equal(await app.providers.qdrant!.count(), 300)
  const user = retried.users.find(u => u.user_id === FAILING)!
  t.equal(user.target_count, 60)
})
