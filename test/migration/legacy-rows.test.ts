// Rows the application wrote itself (plain INSERT with VEC_FromText, no chunk
// index, no version) migrate to Qdrant under the point ids the application
// computes: UUIDv5('doc_{user}_{file}_{i}') with i = the row's position within
// (user, file) ordered by BSTART, then BID (docs/architecture.md#brag-table).
import t from 'tap'
import { qdrantPointId, uuidForPointId } from '../../src/providers/qdrant/point-id.ts'
import { buildTestGateway } from '../helpers/app.ts'
import { createTestDatabase } from '../helpers/mariadb.ts'
import { appInsert, createAppTable, type AppRow } from '../providers/mariadb/setup.ts'
import { prng, startMigration, unit, waitForMigration } from '../helpers/migration.ts'

t.test('legacy BRAG rows migrate to the point ids the application computes', async t => {
  const db = await createTestDatabase(t)
  await createAppTable(db.pool, 8)
  const rnd = prng(3)
  const rows: AppRow[] = []
  for (const user of [5, 6, 7]) {
    for (const file of [40, 41, 42]) {
      const n = 3 + rnd(6)
      for (let k = 0; k < n; k++) {
        // BSTART out of insertion order, with ties (broken by BID)
        const start = rnd(4) * 10
        rows.push({
          user,
          file,
          group: 'DEFAULT',
          type: 1,
          start,
          end: start + 5,
          text: `legacy u${user} f${file} #${k}`,
          vector: unit([1, rnd(), rnd(), 0, 0, rnd(), 0, 0.5]),
          created: 1690000000 + k
        })
      }
    }
  }
  // shuffled insertion: BIDs do not follow BSTART
  for (let i = rows.length - 1; i > 0; i--) {
    const j = rnd(i + 1)
    ;[rows[i], rows[j]] = [rows[j], rows[i]]
  }
  const bids = await appInsert(db.pool, rows)

  // what the application computes: position within (user, file) by BSTART, then BID
  const expected = new Map<string, { text: string; index: number }>()
  const byFile = new Map<string, Array<{ bid: number; row: AppRow }>>()
  rows.forEach((row, i) => {
    const k = `${row.user}:${row.file}`
    byFile.set(k, [...(byFile.get(k) ?? []), { bid: bids[i], row }])
  })
  for (const list of byFile.values()) {
    list.sort((a, b) => a.row.start - b.row.start || a.bid - b.bid)
    list.forEach(({ row }, index) => {
      expected.set(uuidForPointId(`doc_${row.user}_${row.file}_${index}`), { text: row.text, index })
    })
  }

  const gw = await buildTestGateway(t, { db, qdrant: true })
  const qdrant = gw.app.providers.qdrant!
  const id = await startMigration(gw.app, { from: 'mariadb', to: 'qdrant', batch_size: 4 })
  const done = await waitForMigration(gw.app, id)
  t.equal(done.status, 'completed', `completed: ${done.error ?? ''}`)
  t.equal(done.total_chunks, rows.length)
  t.equal(await qdrant.count(), rows.length, 'every legacy row is a point')

  const points = await qdrant.qdrant.retrieve(qdrant.collection, {
    ids: [...expected.keys()],
    with_payload: true,
    with_vector: true
  })
  t.equal(points.length, rows.length, 'every expected point id exists')
  let wrong = 0
  for (const p of points) {
    const want = expected.get(String(p.id))!
    const payload = p.payload as { text: string; chunk_index: number; _point_id: string }
    if (payload.text !== want.text || payload.chunk_index !== want.index) {
      wrong++
      t.same({ text: payload.text, chunk_index: payload.chunk_index }, want, `point ${String(p.id)}`)
    }
  }
  t.equal(wrong, 0, 'each point carries the text of the row at that position')
  const sample = points[0].payload as { user_id: number; file_id: number; chunk_index: number; _point_id: string }
  t.equal(String(points[0].id), qdrantPointId(sample), 'the id is the UUIDv5 of doc_{user}_{file}_{chunk}')
  t.equal(sample._point_id, `doc_${sample.user_id}_${sample.file_id}_${sample.chunk_index}`)
  t.equal(
    uuidForPointId('mem_152_1769723312080348'),
    'dd188347-154f-55e4-9c69-699010e7828a',
    'the known answer (docs/architecture.md#qdrant-collection)'
  )

  // the application's own rows are untouched in MariaDB and a second run adds nothing
  t.equal(await gw.app.providers.mariadb.count(), rows.length)
  const again = await waitForMigration(gw.app, await startMigration(gw.app, { from: 'mariadb', to: 'qdrant' }))
  t.equal(again.status, 'completed')
  t.equal(await qdrant.count(), rows.length, 'idempotent over legacy rows')
})
