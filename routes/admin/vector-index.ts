import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { ErrorReplies } from '../../src/schemas/common.ts'
import { CreateVectorIndexBody, VectorIndexReply, VectorIndexState } from '../../src/schemas/admin.ts'

// The cosine VECTOR INDEX on the MariaDB table. Building it locks writes to the
// table for its duration (minutes for large tables): build after a bulk load.
const vectorIndex: FastifyPluginAsyncTypebox = async fastify => {
  fastify.get(
    '/mariadb/vector-index',
    {
      schema: {
        tags: ['admin'],
        summary: 'The MariaDB VECTOR index: exists, metric, M, usable',
        response: { 200: VectorIndexState, ...ErrorReplies }
      }
    },
    async () => await fastify.providers.mariadb.vectorIndexInfo()
  )

  fastify.post(
    '/mariadb/vector-index',
    {
      schema: {
        tags: ['admin'],
        summary: 'Create the cosine VECTOR INDEX (replacing one with another metric); answers when it is built',
        body: CreateVectorIndexBody,
        response: { 200: VectorIndexReply, ...ErrorReplies }
      }
    },
    async request => {
      const { duration_ms: durationMs } = await fastify.providers.mariadb.createVectorIndex({ m: request.body.m ?? 16 })
      return { duration_ms: durationMs, vector_index: await fastify.providers.mariadb.vectorIndexInfo() }
    }
  )

  fastify.delete(
    '/mariadb/vector-index',
    {
      schema: {
        tags: ['admin'],
        summary: 'Drop the VECTOR index (searches use the exact plan)',
        response: { 200: VectorIndexReply, ...ErrorReplies }
      }
    },
    async () => {
      const { duration_ms: durationMs } = await fastify.providers.mariadb.dropVectorIndex()
      return { duration_ms: durationMs, vector_index: await fastify.providers.mariadb.vectorIndexInfo() }
    }
  )
}

export default vectorIndex
