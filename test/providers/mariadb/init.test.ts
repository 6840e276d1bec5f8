// MariaDbProvider.init: server and table checks, creation, versioned online
// upgrades, idempotence and concurrent starts; provider-down mapping.
import t from 'tap'
import { createTestDatabase, MARIADB_LEGACY_URL } from '../../helpers/mariadb.ts'
import { GROUP_INDEX, KEY_INDEX, tableColumns, tableIndexes } from '../../../src/providers/mariadb/mariadb-schema.ts'
import { appInsert, createAppTable, createPool, newProvider, type AppRow } from './setup.ts'
import { unitVector } from '../provider-contract.ts'

const showCreate = async (pool: { query: (sql: string) => Promise<any> }): Promise<string> =>
  String((await pool.query('SHOW CREATE TABLE BRAG'))[0]['Create Table']).replace(/AUTO_INCREMENT=\d+ /, '')

// The system's MariaDB 10.11, if this machine has one
async function legacyServer(): Promise<{ version?: string; problem?: string }> {
  const pool = createPool(MARIADB_LEGACY_URL, { connectionLimit: 1, acquireTimeout: 3000 })
  try {
    return { version: String((await pool.query('SELECT VERSION() AS v'))[0].v) }
  } catch (err) {
    return { problem: `the legacy MariaDB at ${MARIADB_LEGACY_URL} is not reachable: ${(err as Error).message}` }
  } finally {
    await pool.end()
  }
}
const legacy = await legacyServer()

t.test(
  'refuses MariaDB 10.11 (no VECTOR type), naming the version found',
  { skip: legacy.problem ?? false },
  async t => {
    const pool = createPool(MARIADB_LEGACY_URL, { connectionLimit: 1, acquireTimeout: 3000 })
    t.teardown(() => pool.end())
    const version = legacy.version!
    const provider = newProvider(pool, { table: 'vg_refusal_probe' })
    await t.rejects(provider.init(), { code: 'VG_INCOMPATIBLE_STORE' })
    const err = await provider.init().catch((e: Error) => e)
    t.match((err as Error).message, version, 'the message names the version found')
    t.match((err as Error).message, /MariaDB >= 11\.7/)
    t.match((err as Error).message, /VECTOR/)
    t.match((err as Error).message, /11\.8 LTS/)
    const [{ n }] = await pool.query(
      "SELECT COUNT(*) AS n FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'vg_refusal_probe'"
    )
    t.equal(Number(n), 0, 'nothing was created on the refused server')
  }
)

t.test('creates the table when missing, with the application columns and ours', async t => {
  const db = await createTestDatabase(t)
  const provider = newProvider(db.pool, { dimension: 16 })
  await provider.init()
  const columns = await tableColumns(db.pool, 'BRAG')
  t.same(
    columns.map(c => `${c.name} ${c.type}`),
    [
      'BID bigint(20)',
      'BUID bigint(20)',
      'BMID bigint(20)',
      'BGROUPKEY varchar(64)',
      'BTYPE int(11)',
      'BSTART int(11)',
      'BEND int(11)',
      'BTEXT longtext',
      'BEMBED vector(16)',
      'BCREATED bigint(20)',
      'BCHUNK int(11)',
      'BVERSION bigint(20)'
    ]
  )
  const indexes = await tableIndexes(db.pool, 'BRAG')
  const key = indexes.find(i => i.name === KEY_INDEX)
  t.same(key && { columns: key.columns, unique: key.unique }, { columns: ['BUID', 'BMID', 'BCHUNK'], unique: true })
  t.same(indexes.find(i => i.name === GROUP_INDEX)?.columns, ['BUID', 'BGROUPKEY'])
  for (const col of ['BUID', 'BMID', 'BGROUPKEY', 'BTYPE']) {
    t.ok(
      indexes.some(i => i.columns.length === 1 && i.columns[0] === col),
      `an index on ${col} as the application has`
    )
  }
  const steps = await db.pool.query(
    "SELECT version FROM vg_schema_migrations WHERE scope = 'brag:BRAG' ORDER BY version"
  )
  t.same(
    steps.map((s: { version: number }) => s.version),
    [1, 2, 3, 4],
    'every step recorded'
  )
  t.same(await provider.vectorIndexInfo(), { exists: false, usable: false }, 'no VECTOR index by default')
})

t.test('init twice changes nothing', async t => {
  const db = await createTestDatabase(t)
  await newProvider(db.pool).init()
  const before = await showCreate(db.pool)
  const provider = newProvider(db.pool)
  await provider.init()
  await provider.init()
  t.equal(await showCreate(db.pool), before, 'same table definition')
  const [{ n }] = await db.pool.query("SELECT COUNT(*) AS n FROM vg_schema_migrations WHERE scope = 'brag:BRAG'")
  t.equal(n, 4, 'each step recorded once')
})

t.test('concurrent starts apply each step once', async t => {
  const db = await createTestDatabase(t)
  const pools = Array.from({ length: 5 }, () => createPool(db.url, { connectionLimit: 2 }))
  t.teardown(() => Promise.all(pools.map(p => p.end())))
  await Promise.all(pools.map(p => newProvider(p).init()))
  const steps = await db.pool.query(
    "SELECT version FROM vg_schema_migrations WHERE scope = 'brag:BRAG' ORDER BY version"
  )
  t.same(
    steps.map((s: { version: number }) => s.version),
    [1, 2, 3, 4]
  )
  const indexes = await tableIndexes(db.pool, 'BRAG')
  t.equal(indexes.filter(i => i.name === KEY_INDEX).length, 1)
  t.equal(indexes.length, 7, 'PRIMARY, four application indexes and our two')
})

t.test('upgrades an application table in place, keeping its rows and its vector index', async t => {
  const db = await createTestDatabase(t)
  await createAppTable(db.pool, 8)
  const rows: AppRow[] = Array.from({ length: 40 }, (_, i) => ({
    user: 1 + (i % 3),
    file: 10 + (i % 4),
    group: 'DEFAULT',
    type: 0,
    start: i,
    end: i + 1,
    text: `row ${i}`,
    vector: unitVector(8, i + 1),
    created: 1_700_000_000 + i
  }))
  await appInsert(db.pool, rows)
  // the application may have built an index with the server's default metric (euclidean)
  await db.pool.query('ALTER TABLE BRAG ADD VECTOR INDEX app_vec (BEMBED)')
  const provider = newProvider(db.pool)
  await provider.init()
  const names = (await tableColumns(db.pool, 'BRAG')).map(c => c.name)
  t.ok(names.includes('BCHUNK') && names.includes('BVERSION'), 'columns added')
  t.ok(
    (await tableIndexes(db.pool, 'BRAG')).some(i => i.name === KEY_INDEX && i.unique),
    'unique key added despite the VECTOR index'
  )
  const [{ n, nulls }] = await db.pool.query(
    'SELECT COUNT(*) AS n, SUM(BCHUNK IS NULL AND BVERSION IS NULL) AS nulls FROM BRAG'
  )
  t.equal(n, 40, 'rows kept')
  t.equal(Number(nulls), 40, 'the application rows keep NULL chunk index and version')
  const info = await provider.vectorIndexInfo()
  t.same(
    info,
    { exists: true, name: 'app_vec', distance: 'euclidean', m: 6, usable: false },
    'the index is kept and reported unusable'
  )
  t.equal(await provider.count({ user_id: 1 }), 14)
})

t.test('refuses an existing table with another vector dimension', async t => {
  const db = await createTestDatabase(t)
  await createAppTable(db.pool, 4)
  const provider = newProvider(db.pool, { dimension: 8 })
  await t.rejects(provider.init(), {
    code: 'VG_INCOMPATIBLE_STORE',
    message: /BRAG stores vectors of dimension 4 .*VECTOR_DIMENSION is 8/
  })
  t.notOk(
    (await tableColumns(db.pool, 'BRAG')).some(c => c.name === 'BCHUNK'),
    'the refused table is left untouched'
  )
})

t.test('refuses a table that is not a BRAG table', async t => {
  const db = await createTestDatabase(t)
  await db.pool.query('CREATE TABLE BRAG (id INT PRIMARY KEY, note TEXT)')
  await t.rejects(newProvider(db.pool).init(), { code: 'VG_INCOMPATIBLE_STORE', message: /not a BRAG table.*BUID/ })
  await db.pool.query('DROP TABLE BRAG')
  await db.pool
    .query(`CREATE TABLE BRAG (BID BIGINT AUTO_INCREMENT PRIMARY KEY, BUID BIGINT, BMID BIGINT, BGROUPKEY VARCHAR(64),
    BTYPE INT, BSTART INT, BEND INT, BTEXT LONGTEXT, BEMBED BLOB, BCREATED BIGINT)`)
  await t.rejects(newProvider(db.pool).init(), { code: 'VG_INCOMPATIBLE_STORE', message: /BEMBED of type blob/ })
})

t.test('repairs a table recreated behind its back (steps recorded, columns gone)', async t => {
  const db = await createTestDatabase(t)
  await newProvider(db.pool).init()
  await db.pool.query('DROP TABLE BRAG')
  await createAppTable(db.pool, 8)
  await newProvider(db.pool).init()
  const names = (await tableColumns(db.pool, 'BRAG')).map(c => c.name)
  t.ok(names.includes('BCHUNK') && names.includes('BVERSION'), 'the idempotent steps ran again')
  t.ok((await tableIndexes(db.pool, 'BRAG')).some(i => i.name === KEY_INDEX))
  await db.pool.query('RENAME TABLE BRAG TO BRAG_archived')
  await newProvider(db.pool).init()
  t.ok(
    (await tableColumns(db.pool, 'BRAG')).some(c => c.name === 'BCHUNK'),
    'a table renamed away is recreated whole'
  )
})

t.test('an unreachable server is provider-down (503 naming mariadb), a SQL problem is not', async t => {
  const pool = createPool('mariadb://root@127.0.0.1:1/none', {
    connectionLimit: 1,
    acquireTimeout: 800,
    connectTimeout: 500
  })
  t.teardown(() => pool.end())
  const provider = newProvider(pool, { healthTimeoutMs: 1500 })
  const err = (await provider.init().catch((e: Error) => e)) as Error & { code?: string; statusCode?: number }
  t.equal(err.code, 'VG_PROVIDER_DOWN')
  t.equal(err.statusCode, 503)
  t.match(err.message, /Vector provider mariadb is unavailable/)
  await t.rejects(provider.search({ user_id: 1, vector: unitVector(8, 1), limit: 5, min_score: 0 }), {
    code: 'VG_PROVIDER_DOWN'
  })
  await t.rejects(
    provider.upsert([
      {
        user_id: 1,
        file_id: 1,
        chunk_index: 0,
        group_key: 'g',
        file_type: 0,
        start_line: 0,
        end_line: 0,
        text: 'x',
        vector: unitVector(8, 2),
        created: 1,
        version: 1
      }
    ]),
    { code: 'VG_PROVIDER_DOWN' }
  )
  await t.rejects(provider.delete({ user_id: 1 }), { code: 'VG_PROVIDER_DOWN' })
  const health = await provider.health()
  t.equal(health.status, 'disconnected')
  t.type(health.error, 'string')

  const db = await createTestDatabase(t)
  const ok = newProvider(db.pool)
  await ok.init()
  t.match(await ok.health(), { status: 'connected', version: /^11\./ })
  await db.pool.query('DROP TABLE BRAG')
  const sqlErr = (await ok.count({ user_id: 1 }).catch((e: Error) => e)) as Error & { code?: string; errno?: number }
  t.equal(sqlErr.errno, 1146, 'a missing table surfaces as the SQL error it is')
  t.not(sqlErr.code, 'VG_PROVIDER_DOWN')
})
