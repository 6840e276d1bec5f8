// The plan MariaDbProvider.search() would use for a query, with MariaDB's EXPLAIN
// of it: for the plan tests and the benchmarks (production never explains).
import type { MariaDbProvider, SearchPlan } from '../../src/providers/mariadb/mariadb-provider.ts'
import { checkVector } from '../../src/providers/mariadb/brag-rows.ts'
import { call } from '../../src/providers/mariadb/mariadb-errors.ts'
import type { SearchQuery } from '../../src/providers/vector-provider.ts'

export interface SearchExplanation {
  plan: SearchPlan
  /** the rows of EXPLAIN for the plan's SELECT */
  explain: Array<Record<string, unknown>>
}

export async function explainSearch(provider: MariaDbProvider, query: SearchQuery): Promise<SearchExplanation> {
  checkVector(query.vector, provider.dimension)
  if (query.file_ids !== undefined && query.file_ids.length === 0)
    throw new Error('an empty file_ids list selects nothing: search() answers [] without a query')
  return await call(async () => {
    const plan = await provider.searches.plan(query)
    const explain: Array<Record<string, unknown>> = await provider.searches.pool.query(
      `EXPLAIN ${plan.sql}`,
      plan.params
    )
    return { plan, explain: explain.map(r => ({ ...r })) }
  })
}
