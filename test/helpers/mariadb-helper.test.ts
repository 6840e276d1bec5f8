import t from 'tap'
import { createTestDatabase, MARIADB_TEST_URL } from './mariadb.ts'

t.test('createTestDatabase gives a fresh database on MariaDB 11.8 with VECTOR', async t => {
  const db = await createTestDatabase(t)
  t.match(db.name, /^vgt_\d+_[0-9a-f]{8}$/)
  t.equal(new URL(db.url).pathname, `/${db.name}`)
  t.equal(new URL(db.url).host, new URL(MARIADB_TEST_URL).host)

  const [{ v }] = await db.pool.query('SELECT VERSION() AS v')
  t.ok(String(v).startsWith('11.8'), `server version ${v} is 11.8`)
  const [{ d }] = await db.pool.query('SELECT DATABASE() AS d')
  t.equal(d, db.name)

  await db.pool.query('CREATE TABLE x (id INT PRIMARY KEY, v VECTOR(4) NOT NULL)')
  const f32 = Buffer.alloc(16)
  ;[0.5, -1.25, 3, 4e-3].forEach((x, i) => f32.writeFloatLE(x, i * 4))
  const res = await db.pool.query("INSERT INTO x VALUES (1, VEC_FromText('[1,2,3,4]')), (2, ?)", [f32])
  t.equal(res.affectedRows, 2)

  const rows = await db.pool.query('SELECT id, v, VEC_ToText(v) AS txt FROM x ORDER BY id')
  t.equal(rows.length, 2)
  // copy before viewing as float32: the Buffer's byteOffset need not be a multiple of 4
  const floats = (b: Buffer) => Array.from(new Float32Array(Uint8Array.from(b).buffer))
  t.same(floats(rows[0].v), [1, 2, 3, 4])
  t.same(floats(rows[1].v), Array.from(new Float32Array([0.5, -1.25, 3, 4e-3])))
  t.equal(rows[0].txt, '[1,2,3,4]')

  const [{ n }] = await db.pool.query('SELECT COUNT(*) AS n FROM x')
  t.equal(n, 2, 'COUNT(*) comes back as a number (bigIntAsNumber)')
})

t.test('drop() removes the database and is idempotent', async t => {
  const db = await createTestDatabase()
  const probe = await createTestDatabase(t)
  await db.drop()
  await db.drop()
  const rows = await probe.pool.query('SHOW DATABASES LIKE ?', [db.name])
  t.equal(rows.length, 0)
})
