// The composition root (src/gateway.ts) without HTTP: one graph whose every path
// uses the wrapped providers, the router built with the migration guard, close()
// ending the pool last; MARIADB_URL handed to the driver as its connection string,
// the pool's own options included, the password never in an error.
import t from 'tap'
import pino from 'pino'
import { loadConfig } from '../src/config.ts'
import { createGateway } from '../src/gateway.ts'
import { MigrationGuard } from '../src/migration/migration-guard.ts'
import { createMetrics } from '../src/observability/metrics.ts'
import { createMariaDbPool, poolUrl } from '../src/store/mariadb-pool.ts'
import { TEST_DIMENSION } from './helpers/app.ts'
import { createTestDatabase } from './helpers/mariadb.ts'

const silent = pino({ level: 'silent' })

function configFor(url: string) {
  return loadConfig({ AUTH_DISABLED: 'true', MARIADB_URL: url, VECTOR_DIMENSION: String(TEST_DIMENSION) })
}

t.test('createGateway: one graph, wrapped providers on every path, close() ends it', async t => {
  const db = await createTestDatabase(t)
  const metrics = createMetrics()
  const gateway = await createGateway(configFor(db.url), { logger: silent, metrics })
  let closed = false
  t.teardown(async () => {
    if (!closed) await gateway.close()
  })
  t.ok(gateway.router.guard instanceof MigrationGuard, 'the router is built with the migration guard')
  t.equal(gateway.providers.all.get('mariadb'), gateway.providers.mariadb, 'one wrapped provider per name')

  t.equal(await gateway.providers.mariadb.count(), 0)
  const status = await gateway.migrations.summary()
  t.equal(status, null, 'no migration yet')
  const timed = (await metrics.registry.getSingleMetricAsString('vg_provider_operation_duration_seconds')).split('\n')
  t.ok(
    timed.some(l => l.startsWith('vg_provider_operation_duration_seconds_count{') && l.includes('operation="count"')),
    'a call through gateway.providers is timed'
  )

  gateway.start()
  await gateway.close()
  closed = true
  await t.rejects(gateway.pool.query('SELECT 1'), 'the pool is closed')
  await gateway.close() // a second close is a no-op
})

t.test('an unreachable MariaDB fails the start, named without its password', async t => {
  const err = await createGateway(configFor('mariadb://vg:s3cr%40t-pw@127.0.0.1:1/nowhere'), {
    logger: silent
  }).then(
    () => null,
    (e: unknown) => e as Error
  )
  t.match(err?.message, /^Cannot reach MariaDB at mariadb:\/\/vg:\*\*\*@127\.0\.0\.1:1\/nowhere/)
  t.notMatch(err?.message, /s3cr/, 'the password is not in the message')
})

t.test('MARIADB_URL goes to the driver with the pool options added to its query', async t => {
  const url = new URL(
    poolUrl({
      MARIADB_URL:
        'mariadb://app:p%40ss%3Aw%2Frd%25@db.internal:3307/vg?connectionLimit=99&connectAttributes=%7B%22a%22%3A%20%22b%20c%22%7D',
      MARIADB_POOL_SIZE: 7
    })
  )
  t.equal(url.host, 'db.internal:3307')
  t.equal(url.pathname, '/vg')
  t.equal(decodeURIComponent(url.password), 'p@ss:w/rd%', 'the percent-encoded password is passed on untouched')
  t.equal(url.searchParams.get('connectionLimit'), '7', 'MARIADB_POOL_SIZE wins over the URL')
  t.match(
    url.search,
    /connectAttributes=%7B%22a%22%3A%20%22b%20c%22%7D/,
    "the caller's own driver options keep their encoding"
  )
  for (const [name, value] of [
    ['acquireTimeout', '3000'],
    ['connectTimeout', '2000'],
    ['bigIntAsNumber', 'true'],
    ['insertIdAsNumber', 'true'],
    ['decimalAsNumber', 'true'],
    ['checkDuplicate', 'false']
  ])
    t.equal(url.searchParams.get(name), value, name)

  t.throws(
    () => poolUrl({ MARIADB_URL: 'mariadb://app:hunter2@db.internal:3307', MARIADB_POOL_SIZE: 7 }),
    /MARIADB_URL names no database.*mariadb:\/\/app:\*\*\*@db\.internal:3307/
  )
})

t.test('the driver applies the options from the URL', async t => {
  const db = await createTestDatabase(t)
  const url = new URL(db.url)
  url.search = 'sessionVariables=%7B%22wait_timeout%22%3A%201234%7D'
  const pool = createMariaDbPool({ MARIADB_URL: url.toString(), MARIADB_POOL_SIZE: 2 })
  t.teardown(async () => {
    await pool.end()
  })
  const [row] = (await pool.query(
    'SELECT @@session.wait_timeout AS w, CAST(9007199254740991 AS UNSIGNED) AS big, DATABASE() AS d'
  )) as Array<{
    w: unknown
    big: unknown
    d: string
  }>
  t.equal(row.w, 1234, "the URL's own session variable reached the server")
  t.equal(row.big, 9007199254740991, 'bigIntAsNumber from the pool options')
  t.equal(row.d, url.pathname.slice(1), 'the database from the path')
})
