import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { ErrorReplies } from '../../src/schemas/common.ts'
import { archiveTable } from '../../src/migration/archive.ts'
import { ArchiveBody, ArchiveReply } from '../../src/schemas/migration.ts'

const archive: FastifyPluginAsyncTypebox = async fastify => {
  fastify.post(
    '/archive',
    {
      schema: {
        tags: ['admin'],
        summary:
          'Rename the MariaDB table to <table>_archived_YYYYMMDD and recreate it empty; 409 unless qdrant is active and a completed migration verified every MariaDB user',
        body: ArchiveBody,
        response: { 200: ArchiveReply, ...ErrorReplies }
      },
      // `curl -X POST .../archive` without a body means {}
      preValidation: async request => {
        request.body ??= {}
      }
    },
    async request => {
      const force = request.body?.force ?? false
      const result = await archiveTable(
        {
          pool: fastify.mariadb,
          table: fastify.config.MARIADB_TABLE,
          store: fastify.migrations.store,
          settings: fastify.settings,
          providers: fastify.providers.all,
          pendingRemovals: fastify.pendingRemovals
        },
        force
      )
      request.log.warn({ ...result }, 'MariaDB table archived')
      return result
    }
  )
}

export default archive
