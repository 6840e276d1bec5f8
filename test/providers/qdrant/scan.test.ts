// scan() in key order over Qdrant's UUID-ordered storage: every page size, files
// smaller and larger than a page, at most three requests a page.
import t from 'tap'
import { compareKeys, type ChunkKey, type ChunkRecord } from '../../../src/providers/vector-provider.ts'
import { fileChunks, prng } from '../provider-contract.ts'
import { freshProvider, qdrantTarget } from './setup.ts'

const D = 4
const target = await qdrantTarget()
t.teardown(() => target.close())
const { provider, cleanup } = await freshProvider(target, D)
t.teardown(cleanup)

const rand = prng(2024)
const chunks: ChunkRecord[] = []
const fileIds = new Set<number>()
while (fileIds.size < 30) fileIds.add(1 + Math.floor(rand() * 1e9))
for (const f of fileIds) chunks.push(...fileChunks(D, 77, f, 1 + Math.floor(rand() * 40)))
chunks.push(...fileChunks(D, 77, 5, 130)) // one file larger than most pages
chunks.push(...fileChunks(D, 78, 5, 10)) // another user: never seen
await provider.upsert(chunks)
const expected = chunks
  .filter(c => c.user_id === 77)
  .sort(compareKeys)
  .map(c => `${c.file_id}:${c.chunk_index}`)

for (const limit of [1, 3, 7, 50, 129, 1000]) {
  t.test(`pages of ${limit}`, async t => {
    const seen: string[] = []
    let after: ChunkKey | null = null
    let requests = 0
    let pages = 0
    const emulator = target.emulator
    if (emulator !== undefined)
      emulator.onExchange = () => {
        requests++
      }
    t.teardown(() => {
      if (emulator !== undefined) emulator.onExchange = undefined
    })
    for (;;) {
      const before = requests
      const page: ChunkRecord[] = await provider.scan(77, after, limit)
      if (emulator !== undefined && requests - before > 3) t.fail(`page ${pages} took ${requests - before} requests`)
      if (page.length === 0) break
      pages++
      seen.push(...page.map(c => `${c.file_id}:${c.chunk_index}`))
      if (seen.length < expected.length) t.equal(page.length, limit, 'full pages until the end')
      after = page[page.length - 1]
      if (pages > expected.length + 1) break
    }
    t.same(seen, expected, `all ${expected.length} chunks of the user once, in key order`)
  })
}
