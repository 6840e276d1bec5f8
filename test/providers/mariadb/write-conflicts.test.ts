// Issue 13 §2: write conflicts (1020 record changed, 1213 deadlock) are retried in
// one place (retryWriteConflicts, used by every transaction and by the provider's
// autocommit writes); what is still in conflict afterwards, or waited out
// innodb_lock_wait_timeout (1205), is a retryable 503 VG_PROVIDER_BUSY with
// Retry-After, not a 500. The many-clients case over HTTP is in
// test/scenarios/concurrent-writes.test.ts.
import t from 'tap'
import { buildTestGateway } from '../../helpers/app.ts'
import { chunk } from '../../helpers/chunks.ts'
import { createTestDatabase } from '../../helpers/mariadb.ts'
import { isWriteConflict, retryWriteConflicts } from '../../../src/store/transaction.ts'
import { fileChunks } from '../provider-contract.ts'
import { createPool, newProvider } from './setup.ts'

const D = 8

function serverError(errno: number): Error {
  return Object.assign(new Error(`errno ${errno}`), { errno })
}

t.test('retryWriteConflicts: 1020 and 1213 are retried, a bounded number of times', async t => {
  for (const errno of [1020, 1213]) {
    let calls = 0
    const retried: number[] = []
    const value = await retryWriteConflicts(
      async () => {
        if (++calls < 3) throw serverError(errno)
        return 'done'
      },
      { baseDelayMs: 1, onRetry: (_err, attempt) => retried.push(attempt) }
    )
    t.equal(value, 'done', `${errno}: the third attempt's answer`)
    t.same(retried, [1, 2], `${errno}: two retries reported`)

    calls = 0
    await t.rejects(
      retryWriteConflicts(
        async () => {
          calls++
          throw serverError(errno)
        },
        { attempts: 4, baseDelayMs: 1 }
      ),
      { message: `errno ${errno}` }
    )
    t.equal(calls, 4, `${errno}: gives up after 4 attempts and throws the conflict`)
  }
})

t.test('retryWriteConflicts: other errors and lock wait timeouts are not retried', async t => {
  for (const err of [serverError(1205), serverError(1062), new Error('no errno')]) {
    let calls = 0
    await t.rejects(
      retryWriteConflicts(
        async () => {
          calls++
          throw err
        },
        { baseDelayMs: 1 }
      ),
      err
    )
    t.equal(calls, 1, `${err.message}: one attempt`)
  }
  t.ok(isWriteConflict(serverError(1205)), '1205 still counts as a conflict (answered busy)')
  t.notOk(isWriteConflict(serverError(1062)))
})

t.test('a real 1213 from MariaDB is recognised as a write conflict', async t => {
  const db = await createTestDatabase(t)
  await db.pool.query('CREATE TABLE k (id INT PRIMARY KEY, v INT)')
  await db.pool.query('INSERT INTO k VALUES (1, 0), (2, 0)')
  const a = await db.pool.getConnection()
  const b = await db.pool.getConnection()
  t.teardown(async () => {
    await a.release()
    await b.release()
  })
  await a.beginTransaction()
  await b.beginTransaction()
  await a.query('UPDATE k SET v = 1 WHERE id = 1')
  await b.query('UPDATE k SET v = 2 WHERE id = 2')
  // opposite lock orders: MariaDB aborts one of the two with 1213
  const outcomes = await Promise.allSettled([
    a.query('UPDATE k SET v = 1 WHERE id = 2'),
    b.query('UPDATE k SET v = 2 WHERE id = 1')
  ])
  const failed = outcomes.filter(o => o.status === 'rejected') as PromiseRejectedResult[]
  t.equal(failed.length, 1, 'one victim')
  t.equal(failed[0].reason.errno, 1213)
  t.ok(isWriteConflict(failed[0].reason))
  await a.rollback()
  await b.rollback()
})

t.test('a row held past innodb_lock_wait_timeout: 503 VG_PROVIDER_BUSY, nothing written, then it works', async t => {
  const db = await createTestDatabase(t)
  // the provider's connections wait 1 s for a row lock instead of 50 s
  const pool = createPool(db.url, { sessionVariables: { innodb_lock_wait_timeout: 1 } })
  t.teardown(async () => {
    await pool.end()
  })
  const provider = newProvider(pool)
  await provider.init()
  await provider.upsert(fileChunks(D, 1, 1, 3, { text: 'before' }))

  const holder = await db.pool.getConnection()
  t.teardown(async () => {
    await holder.release()
  })
  await holder.beginTransaction()
  await holder.query('SELECT BID FROM BRAG WHERE BUID = 1 FOR UPDATE')

  const busy = {
    code: 'VG_PROVIDER_BUSY',
    statusCode: 503,
    headers: { 'retry-after': '1' },
    message: /mariadb is busy.*retried safely/
  }
  await t.rejects(provider.upsert(fileChunks(D, 1, 1, 3, { text: 'after' })), busy, 'write')
  await t.rejects(provider.updateGroupKey(1, 1, 'G'), busy, 'group change')
  await t.rejects(provider.delete({ user_id: 1, file_ids: [1] }), busy, 'delete')
  await t.rejects(provider.deleteKeys(1, [{ file_id: 1, chunk_index: 0 }]), busy, 'keyed delete')
  t.equal(provider.writeConflicts.refused, 4, 'counted')
  await holder.rollback()

  t.same(
    (await provider.list(1, 1, false)).map(c => `${c.text}/${c.group_key}`),
    ['before/DEFAULT', 'before/DEFAULT', 'before/DEFAULT'],
    'nothing changed'
  )
  t.equal(await provider.upsert(fileChunks(D, 1, 1, 3, { text: 'after' })), 3, 'the retried write succeeds')
  t.same(
    (await provider.list(1, 1, false)).map(c => c.text),
    ['after', 'after', 'after']
  )
})

t.test(
  'over HTTP: a busy MariaDB answers 503 VG_PROVIDER_BUSY with Retry-After for POST, PATCH and DELETE',
  async t => {
    const gw = await buildTestGateway(t, { env: { MARIADB_POOL_SIZE: '2' } })
    const res = await gw.app.inject({
      method: 'POST',
      url: '/chunks',
      headers: gw.data,
      payload: { chunks: [chunk(5, 50, 0)] }
    })
    t.equal(res.statusCode, 200)
    // every connection of the gateway's pool (2) waits 1 s for a row lock, not 50 s
    const conns = await Promise.all([gw.app.mariadb.getConnection(), gw.app.mariadb.getConnection()])
    for (const c of conns) {
      await c.query('SET SESSION innodb_lock_wait_timeout = 1')
      await c.release()
    }

    const holder = await gw.db.pool.getConnection()
    t.teardown(async () => {
      await holder.release()
    })
    await holder.beginTransaction()
    await holder.query('SELECT BID FROM BRAG WHERE BUID = 5 FOR UPDATE')
    const requests = [
      { method: 'POST' as const, url: '/chunks', payload: { chunks: [chunk(5, 50, 0, { text: 'new' })] } },
      { method: 'PATCH' as const, url: '/chunks', payload: { user_id: 5, file_id: 50, group_key: 'G' } },
      { method: 'DELETE' as const, url: '/chunks?user_id=5&file_id=50' }
    ]
    for (const r of requests) {
      const busy = await gw.app.inject({ ...r, headers: gw.data })
      t.equal(busy.statusCode, 503, `${r.method}: 503`)
      t.equal(busy.headers['retry-after'], '1', `${r.method}: Retry-After`)
      t.match(
        busy.json().message,
        /busy|[Rr]etry/,
        `${r.method}: says to retry (${busy.json().code}: ${busy.json().message})`
      )
    }
    await holder.rollback()
    const list = await gw.app.inject({ url: '/chunks?user_id=5&file_id=50', headers: gw.data })
    t.same(
      list.json().chunks.map((c: { text: string; group_key: string }) => `${c.text}/${c.group_key}`),
      ['user 5 file 50 chunk 0/DEFAULT'],
      'nothing changed'
    )
  }
)
