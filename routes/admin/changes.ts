import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { ChangesQuery, ChangesReply } from '../../src/schemas/admin.ts'

const changes: FastifyPluginAsyncTypebox = async fastify => {
  fastify.get(
    '/changes',
    {
      schema: {
        tags: ['admin'],
        summary: 'Audit log of provider and read-mode changes, newest first',
        querystring: ChangesQuery,
        response: { 200: ChangesReply }
      }
    },
    async request => ({ changes: await fastify.settings.changes(request.query.limit ?? 100) })
  )
}

export default changes
