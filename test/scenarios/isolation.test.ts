// Property: whatever chunks users store, in whichever provider, no search, list
// or stats for user A ever shows user B's chunk.
import fc from 'fast-check'
import t from 'tap'
import { buildTestGateway, TEST_DIMENSION } from '../helpers/app.ts'
import { client } from '../helpers/gateway-client.ts'

const USERS = [11, 12, 13]

t.test('tenant isolation across providers', async t => {
  const gw = await buildTestGateway(t, { qdrant: true })
  const c = client(gw)
  const vector = fc
    .array(fc.float({ min: -1, max: 1, noNaN: true }), { minLength: TEST_DIMENSION, maxLength: TEST_DIMENSION })
    .filter(v => v.some(x => Math.abs(x) > 1e-3))
  const stored = fc.record({
    user: fc.constantFrom(...USERS),
    file: fc.integer({ min: 1, max: 3 }),
    index: fc.integer({ min: 0, max: 4 }),
    provider: fc.constantFrom('mariadb', 'qdrant'),
    vector
  })

  await fc.assert(
    fc.asyncProperty(fc.array(stored, { minLength: 1, maxLength: 25 }), vector, async (items, query) => {
      for (const u of USERS) await c.remove(`user_id=${u}`)
      const owned = new Map(USERS.map(u => [u, new Set<string>()]))
      for (const item of items) {
        await c.pin(item.user, item.provider)
        const res = await c.store([
          {
            user_id: item.user,
            file_id: item.file,
            chunk_index: item.index,
            start_line: 0,
            end_line: 1,
            text: `secret of ${item.user}`,
            vector: item.vector
          }
        ])
        if (res.statusCode !== 200) throw new Error(`store failed: ${res.body}`)
        owned.get(item.user)?.add(`doc_${item.user}_${item.file}_${item.index}`)
      }
      for (const u of USERS) {
        const mine = owned.get(u) as Set<string>
        const results = (await c.search({ user_id: u, vector: query, min_score: 0, limit: 100 })).json()
          .results as Array<{ point_id: string; user_id: number; text: string }>
        if (results.some(r => r.user_id !== u || !mine.has(r.point_id) || r.text !== `secret of ${u}`)) return false
        for (let file = 1; file <= 3; file++) {
          const listed = (await c.list(u, file)).json().chunks as Array<{ point_id: string; user_id: number }>
          if (listed.some(x => x.user_id !== u || !mine.has(x.point_id))) return false
        }
        if ((await c.stats(u)).json().total_chunks !== mine.size) return false
      }
      return true
    }),
    { numRuns: 12, seed: 20261125 }
  )
  t.pass("no run showed another user's chunk")
})
