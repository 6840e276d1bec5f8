import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { StatusReply } from '../../src/schemas/admin.ts'
import { storageStatus } from '../../src/routing/storage-status.ts'

const status: FastifyPluginAsyncTypebox = async fastify => {
  fastify.get(
    '/status',
    {
      schema: {
        tags: ['admin'],
        summary: "Active provider, read mode, each provider's state and size",
        response: { 200: StatusReply }
      }
    },
    async () => await storageStatus(fastify)
  )
}

export default status
