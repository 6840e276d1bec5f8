// Insert rates of the three write methods at the production dimension (1024).
// A measurement, not a check: run it with VG_BENCH=1 (it takes about a minute).
//   VG_BENCH=1 npx tap test/providers/mariadb/insert-rates.test.ts
import t from 'tap'
import { createTestDatabase } from '../../helpers/mariadb.ts'
import type { WriteMethod } from '../../../src/providers/mariadb/mariadb-provider.ts'
import type { ChunkRecord } from '../../../src/providers/vector-provider.ts'
import { nextVersion } from '../../../src/routing/write-clock.ts'
import { prng } from '../provider-contract.ts'
import { newProvider } from './setup.ts'

const D = 1024
const ROWS = Number(process.env.VG_BENCH_ROWS ?? 10_000)
const REQUEST = 1000 // chunks per upsert, as POST /chunks sends them at most
const ROUNDS = Number(process.env.VG_BENCH_ROUNDS ?? 3)

t.test(
  'insert rates: prepared execute vs batch vs query',
  { skip: process.env.VG_BENCH ? false : 'set VG_BENCH=1 to measure insert rates' },
  async t => {
    const r = prng(1)
    const chunks: ChunkRecord[] = Array.from({ length: ROWS }, (_, i) => ({
      user_id: 1 + (i % 10),
      file_id: 1 + Math.floor(i / 100),
      chunk_index: i % 100,
      group_key: 'DEFAULT',
      file_type: 0,
      start_line: i,
      end_line: i + 20,
      text: `chunk ${i} `.repeat(60),
      vector: Array.from({ length: D }, () => r() * 2 - 1),
      created: 1_760_000_000,
      version: nextVersion()
    }))
    const results: Record<string, number[]> = {}
    for (let round = 0; round < ROUNDS; round++) {
      for (const method of ['execute', 'batch', 'query'] as WriteMethod[]) {
        const db = await createTestDatabase()
        try {
          const provider = newProvider(db.pool, { dimension: D, writeMethod: method })
          await provider.init()
          const started = performance.now()
          for (let i = 0; i < chunks.length; i += REQUEST) await provider.upsert(chunks.slice(i, i + REQUEST))
          const seconds = (performance.now() - started) / 1000
          t.equal(await provider.count(), ROWS)
          ;(results[method] ??= []).push(ROWS / seconds)
        } finally {
          await db.drop()
        }
      }
    }
    const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
    for (const [method, rates] of Object.entries(results)) {
      t.comment(
        `${method.padEnd(8)} median ${Math.round(median(rates))} rows/s (runs: ${rates.map(Math.round).join(', ')})`
      )
    }
    t.comment(
      `ratios: execute/query ${(median(results.execute) / median(results.query)).toFixed(2)}, ` +
        `execute/batch ${(median(results.execute) / median(results.batch)).toFixed(2)}`
    )
  }
)
