// Merged reads (docs/architecture.md#merged-reads): one entry per chunk key, the newest
// write wins, a tie goes to the active provider; search hits merge by the chunk they wrap.
import t from 'tap'
import { mergeByKey } from '../../src/routing/chunk-merge.ts'
import type { ProviderName, SearchHit } from '../../src/providers/vector-provider.ts'

const copy = (file_id: number, chunk_index: number, version: number) => ({ file_id, chunk_index, version })

function hit(file_id: number, chunk_index: number, version: number, score: number): SearchHit {
  return {
    chunk: {
      user_id: 1,
      file_id,
      chunk_index,
      version,
      group_key: 'DEFAULT',
      file_type: 0,
      start_line: 1,
      end_line: 1,
      text: `${file_id}/${chunk_index}@${version}`,
      created: 0
    },
    score
  }
}

const picked = <T>(merged: Array<{ provider: ProviderName; item: T }>) => merged.map(m => [m.provider, m.item])

t.test('the newest copy of a key wins, whichever provider holds it', async t => {
  const merged = mergeByKey(
    [
      { provider: 'mariadb', item: [copy(1, 0, 5), copy(1, 1, 9)] },
      { provider: 'qdrant', item: [copy(1, 0, 7), copy(1, 1, 8), copy(2, 0, 1)] }
    ],
    'mariadb'
  )
  t.same(picked(merged).sort(), [
    ['mariadb', copy(1, 1, 9)],
    ['qdrant', copy(1, 0, 7)],
    ['qdrant', copy(2, 0, 1)]
  ])
})

t.test('copies of the same version: the active provider wins, in either source order', async t => {
  for (const active of ['mariadb', 'qdrant'] as const) {
    for (const order of [
      ['mariadb', 'qdrant'],
      ['qdrant', 'mariadb']
    ] as const) {
      const merged = mergeByKey(
        order.map(provider => ({ provider, item: [copy(3, 4, 100)] })),
        active
      )
      t.same(picked(merged), [[active, copy(3, 4, 100)]], `active ${active}, ${order.join(' then ')}`)
    }
  }
})

t.test('search hits merge by the chunk they wrap, and come back as the same objects', async t => {
  const older = hit(1, 0, 5, 0.99)
  const newer = hit(1, 0, 6, 0.5)
  const only = hit(2, 3, 1, 0.7)
  const merged = mergeByKey(
    [
      { provider: 'mariadb', item: [older, only] },
      { provider: 'qdrant', item: [newer] }
    ],
    'mariadb',
    h => h.chunk
  )
  t.equal(merged.length, 2)
  const byFile = new Map(merged.map(m => [m.item.chunk.file_id, m]))
  // the newer write wins even though the stale copy scores higher
  t.equal(byFile.get(1)?.item, newer)
  t.equal(byFile.get(1)?.provider, 'qdrant')
  t.equal(byFile.get(2)?.item, only)
})
