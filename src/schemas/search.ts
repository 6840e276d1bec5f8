import { Type, type Static } from 'typebox'
import { DEFAULT_MIN_SCORE, DEFAULT_SEARCH_LIMIT, MAX_SEARCH_LIMIT } from '../limits.ts'
import { FileId, GroupKey, ProviderName, UserId } from './common.ts'
import { ProviderCounts, StoredChunkFields, vectorSchema } from './chunk.ts'

export function searchBody(dimension: number) {
  return Type.Object(
    {
      user_id: UserId,
      vector: vectorSchema(dimension),
      group_key: Type.Optional(GroupKey),
      file_ids: Type.Optional(Type.Array(FileId, { minItems: 1, maxItems: 1000, uniqueItems: true })),
      limit: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_SEARCH_LIMIT, default: DEFAULT_SEARCH_LIMIT })),
      min_score: Type.Optional(Type.Number({ minimum: 0, maximum: 1, default: DEFAULT_MIN_SCORE }))
    },
    { additionalProperties: false }
  )
}
export type SearchBody = Static<ReturnType<typeof searchBody>>

const SearchResult = Type.Object({
  ...StoredChunkFields,
  score: Type.Number({ description: 'cosine similarity' })
})

export const SearchReply = Type.Object({
  results: Type.Array(SearchResult),
  providers_queried: Type.Array(ProviderName),
  providers_unavailable: Type.Array(ProviderName, {
    description: 'Non-active providers that could not be reached; their chunks are missing from this answer'
  }),
  took_ms: Type.Number()
})

export const StatsQuery = Type.Object({ user_id: UserId }, { additionalProperties: false })
export const StatsReply = Type.Object({
  total_chunks: Type.Integer(),
  total_files: Type.Integer(),
  total_groups: Type.Integer(),
  chunks_by_group: Type.Record(Type.String(), Type.Integer()),
  providers: ProviderCounts
})
export type StatsReply = Static<typeof StatsReply>
