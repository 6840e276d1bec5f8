import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { ErrorReplies } from '../src/schemas/common.ts'
import { readVector } from '../src/routing/vector-input.ts'
import { SearchReply, StatsQuery, StatsReply, searchBody, type SearchBody } from '../src/schemas/search.ts'

const search: FastifyPluginAsyncTypebox = async fastify => {
  fastify.post(
    '/search',
    {
      schema: {
        tags: ['search'],
        summary: 'Nearest chunks of one user by cosine similarity, merged across providers',
        body: searchBody(fastify.config.VECTOR_DIMENSION),
        response: { 200: SearchReply, ...ErrorReplies }
      }
    },
    async request => {
      const started = performance.now()
      // limit and min_score are always set here: validation (ajv useDefaults) filled in the schema's defaults
      const body = request.body as SearchBody & Required<Pick<SearchBody, 'limit' | 'min_score'>>
      const { user_id: userId, vector, group_key: groupKey, file_ids: fileIds, limit, min_score: minScore } = body
      const outcome = await fastify.router.search({
        user_id: userId,
        vector: readVector(vector, fastify.config.VECTOR_DIMENSION, 'body.vector'),
        limit,
        min_score: minScore,
        ...(groupKey !== undefined ? { group_key: groupKey } : {}),
        ...(fileIds !== undefined ? { file_ids: fileIds } : {})
      })
      return { ...outcome, took_ms: Math.round((performance.now() - started) * 100) / 100 }
    }
  )

  fastify.get(
    '/stats',
    {
      schema: {
        tags: ['search'],
        summary: "A user's chunk, file and group counts (a key held by two providers counts once)",
        querystring: StatsQuery,
        response: { 200: StatsReply, ...ErrorReplies }
      }
    },
    async request => await fastify.router.stats(request.query.user_id)
  )
}

export default search
