import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { ErrorReplies } from '../../src/schemas/common.ts'
import { SetProviderBody, SetProviderReply, SetReadModeBody, StatusReply } from '../../src/schemas/admin.ts'
import { storageStatus } from '../../src/routing/storage-status.ts'
import { assertSwitchable } from '../../src/routing/switch-guard.ts'
import { actorOf } from './actor.ts'

const provider: FastifyPluginAsyncTypebox = async fastify => {
  fastify.put(
    '/provider',
    {
      schema: {
        tags: ['admin'],
        summary:
          'Switch the active provider for every user without an override (reaches every replica within SETTINGS_CACHE_MS)',
        body: SetProviderBody,
        response: { 200: SetProviderReply, ...ErrorReplies }
      }
    },
    async request => {
      const target = request.body.provider
      await assertSwitchable(fastify.router, target)
      const { previous, changedAt } = await fastify.settings.setProvider(target, actorOf(request))
      return { current_provider: target, previous_provider: previous, changed_at: changedAt.toISOString() }
    }
  )

  fastify.put(
    '/read-mode',
    {
      schema: {
        tags: ['admin'],
        summary: 'merged: searches read every provider; active: only the active one',
        body: SetReadModeBody,
        response: { 200: StatusReply, ...ErrorReplies }
      }
    },
    async request => {
      await fastify.settings.setReadMode(request.body.read_mode, actorOf(request))
      return await storageStatus(fastify)
    }
  )
}

export default provider
