import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { ErrorReplies } from '../src/schemas/common.ts'
import {
  DeleteChunksQuery,
  DeleteChunksReply,
  ListChunksQuery,
  ListChunksReply,
  PatchChunksBody,
  PatchChunksReply,
  StoreChunksReply,
  storeChunksBody
} from '../src/schemas/chunk.ts'
import { BadRequestError } from '../src/errors.ts'
import { encodeBase64Vector, readVector } from '../src/routing/vector-input.ts'

const chunks: FastifyPluginAsyncTypebox = async fastify => {
  fastify.post(
    '/chunks',
    {
      schema: {
        tags: ['chunks'],
        summary: "Store chunks in each user's active provider (a chunk with the same key is replaced)",
        body: storeChunksBody(fastify.config.VECTOR_DIMENSION),
        response: { 200: StoreChunksReply, ...ErrorReplies }
      }
    },
    async request => {
      const dimension = fastify.config.VECTOR_DIMENSION
      const chunks = request.body.chunks.map((c, i) => ({
        ...c,
        vector: readVector(c.vector, dimension, `body.chunks[${i}].vector`)
      }))
      return await fastify.router.store(chunks, request.body.replace === true)
    }
  )

  fastify.get(
    '/chunks',
    {
      schema: {
        tags: ['chunks'],
        summary: "One file's chunks, merged across providers, ordered by chunk_index",
        querystring: ListChunksQuery,
        response: { 200: ListChunksReply, ...ErrorReplies }
      }
    },
    async request => {
      const {
        user_id: userId,
        file_id: fileId,
        include_vectors: withVectors,
        vector_encoding: encoding
      } = request.query
      const chunks = await fastify.router.list(userId, fileId, withVectors === true)
      if (encoding !== 'base64') return { chunks }
      return { chunks: chunks.map(c => (c.vector === undefined ? c : { ...c, vector: encodeBase64Vector(c.vector) })) }
    }
  )

  fastify.patch(
    '/chunks',
    {
      schema: {
        tags: ['chunks'],
        summary: "Change the group key of a file's chunks in every provider",
        body: PatchChunksBody,
        response: { 200: PatchChunksReply, ...ErrorReplies }
      }
    },
    async ({ body }) => await fastify.router.updateGroupKey(body.user_id, body.file_id, body.group_key)
  )

  fastify.delete(
    '/chunks',
    {
      schema: {
        tags: ['chunks'],
        summary: "Delete a user's chunks (all, one file, or one group) from every provider",
        querystring: DeleteChunksQuery,
        response: { 200: DeleteChunksReply, ...ErrorReplies }
      }
    },
    async request => {
      const { user_id: userId, file_id: fileId, group_key: groupKey } = request.query
      if (fileId !== undefined && groupKey !== undefined) {
        throw new BadRequestError('querystring: give file_id or group_key, not both')
      }
      return await fastify.router.delete({
        user_id: userId,
        ...(fileId !== undefined ? { file_ids: [fileId] } : {}),
        ...(groupKey !== undefined ? { group_key: groupKey } : {})
      })
    }
  )
}

export default chunks
