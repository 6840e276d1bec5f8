import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { HealthReply, LiveReply } from '../src/schemas/health.ts'
import { providerStates } from '../src/routing/provider-states.ts'

const health: FastifyPluginAsyncTypebox = async fastify => {
  fastify.get(
    '/health',
    {
      config: { auth: 'public' },
      schema: {
        tags: ['health'],
        summary: 'Readiness: MariaDB and the active provider reachable, and not draining',
        response: { 200: HealthReply, 503: HealthReply }
      }
    },
    async (request, reply) => {
      const [settings, states] = await Promise.all([
        fastify.settings.snapshot().catch(() => null),
        providerStates(fastify.router)
      ])
      const provider = settings?.provider ?? fastify.settings.fallbackProvider()
      const ok = states.mariadb.status === 'connected' && states[provider].status === 'connected' && !fastify.draining
      // /health is public: the driver's text (hosts, ports, pool figures) goes to the log only.
      const errors = Object.fromEntries(
        Object.entries(states).flatMap(([n, s]) => {
          if (s.error === undefined) return []
          request.log.warn({ provider: n, detail: s.error }, 'health check: provider unreachable')
          return [[n, `Vector provider ${n} is unreachable; see the gateway log for request ${request.id}`]]
        })
      )
      return await reply.code(ok ? 200 : 503).send({
        status: fastify.draining ? 'draining' : ok ? 'ok' : 'error',
        provider,
        mariadb: states.mariadb.status,
        qdrant: states.qdrant.status,
        ...(Object.keys(errors).length > 0 ? { errors } : {})
      })
    }
  )

  fastify.get(
    '/health/live',
    {
      config: { auth: 'public' },
      schema: { tags: ['health'], summary: 'Liveness: the process runs', response: { 200: LiveReply } }
    },
    async () => ({ status: 'ok' as const })
  )
}

export default health
