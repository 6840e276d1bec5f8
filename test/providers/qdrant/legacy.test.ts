// Points the application wrote itself (UUIDv5 id, payload without `_version`):
// the gateway reads, searches, scans, updates and deletes them, reporting
// version = created * 1e6 (older than any gateway write of the same key).
import t from 'tap'
import { uuidForPointId } from '../../../src/providers/qdrant/point-id.ts'
import { legacyVersion, nextVersion } from '../../../src/routing/write-clock.ts'
import { makeChunk, unitVector } from '../provider-contract.ts'
import { freshProvider, qdrantTarget, rawClient } from './setup.ts'

const D = 16
const target = await qdrantTarget()
t.teardown(() => target.close())

t.test('legacy points are first-class chunks', async t => {
  const { provider, collection, cleanup } = await freshProvider(target, D)
  t.teardown(cleanup)
  const client = rawClient(target)
  const created = 1_769_723_312
  const legacy = [0, 1, 2].map(i => ({
    id: uuidForPointId(`doc_152_77_${i}`),
    vector: unitVector(D, 100 + i),
    payload: {
      user_id: 152,
      file_id: 77,
      group_key: 'DEFAULT',
      file_type: 1,
      chunk_index: i,
      start_line: i * 5,
      end_line: i * 5 + 4,
      text: `legacy chunk ${i}`,
      created: created + i,
      _point_id: `doc_152_77_${i}`
    }
  }))
  await client.upsert(collection, { wait: true, points: legacy })

  const listed = await provider.list(152, 77, true)
  t.same(
    listed.map(c => [c.chunk_index, c.text, c.version]),
    [0, 1, 2].map(i => [i, `legacy chunk ${i}`, (created + i) * 1e6]),
    'list: version = created * 1e6'
  )
  t.equal(listed[0].version, legacyVersion(created))
  t.equal(listed[1].vector?.length, D, 'with vectors')

  const hits = await provider.search({ user_id: 152, vector: legacy[1].vector, limit: 3, min_score: 0.9 })
  t.same(
    hits.map(h => [h.chunk.chunk_index, h.chunk.version, h.chunk.file_type, h.chunk.start_line]),
    [[1, (created + 1) * 1e6, 1, 5]],
    'search finds them'
  )
  t.same(
    (await provider.keys({ user_id: 152 })).map(k => k.version).sort(),
    [0, 1, 2].map(i => (created + i) * 1e6),
    'keys'
  )
  t.same(
    (await provider.scan(152, null, 10)).map(c => [c.chunk_index, c.version]),
    [0, 1, 2].map(i => [i, (created + i) * 1e6]),
    'scan'
  )
  t.same(await provider.users(), [152])

  // a gateway write of the same key replaces the application's point (same id) and is newer
  const rewrite = makeChunk(
    D,
    { user_id: 152, file_id: 77, chunk_index: 1 },
    { text: 'rewritten', version: nextVersion() }
  )
  t.ok(rewrite.version > (created + 1) * 1e6, 'any gateway write is newer than a legacy point')
  await provider.upsert([rewrite])
  t.equal(await provider.count({ user_id: 152 }), 3, 'no duplicate: the ids agree')
  const [p] = await client.retrieve(collection, { ids: [uuidForPointId('doc_152_77_1')], with_payload: true })
  t.equal((p.payload as { text: string; _version: number })._version, rewrite.version, 'the point now carries _version')

  // insertOnly (a migration copy) leaves the legacy point alone
  const copy = makeChunk(D, { user_id: 152, file_id: 77, chunk_index: 0 }, { text: 'copy' })
  t.equal(await provider.upsert([copy], { insertOnly: true }), 0)
  t.equal((await provider.list(152, 77, false))[0].text, 'legacy chunk 0')

  t.equal(await provider.updateGroupKey(152, 77, 'moved'), 3, 'updateGroupKey reaches them')
  t.equal(await provider.deleteKeys(152, [{ file_id: 77, chunk_index: 2 }]), 1, 'deleteKeys reaches them')
  t.equal(await provider.delete({ user_id: 152, group_key: 'moved' }), 2, 'delete reaches them')
  t.equal(await provider.count(), 0)
})
