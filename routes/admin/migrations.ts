import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { ErrorReplies } from '../../src/schemas/common.ts'
import {
  CreateMigrationBody,
  MigrationDetail,
  MigrationDetailQuery,
  MigrationList,
  MigrationListQuery,
  MigrationParams,
  MigrationSummary
} from '../../src/schemas/migration.ts'
import type { AdminAction } from '../../src/migration/state-machine.ts'
import { actorOf } from './actor.ts'

const ACTIONS: Array<{ action: AdminAction; summary: string }> = [
  { action: 'pause', summary: 'Pause a running migration after its batch in flight (running -> paused)' },
  { action: 'resume', summary: 'Resume a paused migration from its checkpoints (paused -> running)' },
  {
    action: 'cancel',
    summary: 'Stop a running or paused migration for good; copied chunks stay in the target (-> cancelled)'
  },
  {
    action: 'retry',
    summary: 'Run the failed users of a failed migration again, from the start of each (failed -> running)'
  }
]

const migrations: FastifyPluginAsyncTypebox = async fastify => {
  fastify.post(
    '/migrations',
    {
      schema: {
        tags: ['admin'],
        summary:
          'Start a background migration (copies the stored vectors user by user; resumable, verified, safe under live traffic)',
        body: CreateMigrationBody,
        response: { 202: MigrationSummary, ...ErrorReplies }
      }
    },
    async (request, reply) => {
      const view = await fastify.migrations.create(request.body, actorOf(request))
      return await reply.code(202).send(view)
    }
  )

  fastify.get(
    '/migrations',
    {
      schema: {
        tags: ['admin'],
        summary: 'Migrations, newest first, with totals, rate and ETA',
        querystring: MigrationListQuery,
        response: { 200: MigrationList, ...ErrorReplies }
      }
    },
    async request => await fastify.migrations.list(request.query.limit ?? 50, request.query.offset ?? 0)
  )

  fastify.get(
    '/migrations/:id',
    {
      schema: {
        tags: ['admin'],
        summary:
          'One migration: totals, rate, ETA and one page of per-user rows (?page&per_page or ?limit&offset, ?user_status)',
        params: MigrationParams,
        querystring: MigrationDetailQuery,
        response: { 200: MigrationDetail, ...ErrorReplies }
      }
    },
    async request => {
      const q = request.query
      return await fastify.migrations.detail(request.params.id, {
        page: q.page,
        per_page: q.per_page,
        limit: q.limit,
        offset: q.offset,
        status: q.user_status
      })
    }
  )

  for (const { action, summary } of ACTIONS) {
    fastify.post(
      `/migrations/:id/${action}`,
      {
        schema: {
          tags: ['admin'],
          summary,
          params: MigrationParams,
          response: { 200: MigrationSummary, ...ErrorReplies }
        }
      },
      async request => await fastify.migrations.control(request.params.id, action)
    )
  }
}

export default migrations
