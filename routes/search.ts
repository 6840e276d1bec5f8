import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { ErrorReplies } from '../src/schemas/common.ts'
import { readVector } from '../src/routing/vector-input.ts'
import { SearchReply, StatsQuery, StatsReply, searchBody } from '../src/schemas/search.ts'

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
      const {
        user_id: userId,
        vector,
        group_key: groupKey,
        file_ids: fileIds,
        limit,
        min_score: minScore
      } = request.body
      const outcome = await fastify.router.search({
        user_id: userId,
        vector: readVector(vector, fastify.config.VECTOR_DIMENSION, 'body.vector').vector,
        limit: limit ?? 10,
        min_score: minScore ?? 0.3,
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
