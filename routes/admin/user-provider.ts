import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { ErrorReplies } from '../../src/schemas/common.ts'
import { SetProviderBody, UserParams, UserProviderReply } from '../../src/schemas/admin.ts'
import { assertSwitchable } from '../../src/routing/switch-guard.ts'
import { actorOf } from './actor.ts'

const userProvider: FastifyPluginAsyncTypebox = async fastify => {
  const effective = async (userId: number) => ({ user_id: userId, ...(await fastify.settings.resolve(userId)) })

  fastify.get(
    '/users/:user_id/provider',
    {
      schema: {
        tags: ['admin'],
        summary: "A user's effective provider and where it comes from",
        params: UserParams,
        response: { 200: UserProviderReply, ...ErrorReplies }
      }
    },
    async request => await effective(request.params.user_id)
  )

  fastify.put(
    '/users/:user_id/provider',
    {
      schema: {
        tags: ['admin'],
        summary: 'Pin one user to a provider (overrides the global setting)',
        params: UserParams,
        body: SetProviderBody,
        response: { 200: UserProviderReply, ...ErrorReplies }
      }
    },
    async request => {
      await assertSwitchable(fastify.router, request.body.provider)
      await fastify.settings.setUserProvider(request.params.user_id, request.body.provider, actorOf(request))
      return await effective(request.params.user_id)
    }
  )

  fastify.delete(
    '/users/:user_id/provider',
    {
      schema: {
        tags: ['admin'],
        summary: "Remove a user's override: the global setting applies again",
        params: UserParams,
        response: { 200: UserProviderReply, ...ErrorReplies }
      }
    },
    async request => {
      await fastify.settings.setUserProvider(request.params.user_id, null, actorOf(request))
      return await effective(request.params.user_id)
    }
  )
}

export default userProvider
